"""`python -m scribe` runs the same CLI as the `scribe` console script."""

import sys

from .cli import main

sys.exit(main())
