"""Note templates shipped as scribe.templates (see README.md in this folder)."""
