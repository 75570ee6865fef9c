"""The models/ folder, shipped as the package `scribe.weights`: manifest.json (the model
registry with the expected tensor hashes) and README.md. Converted weights written here
are never packaged or committed (see .gitignore)."""
