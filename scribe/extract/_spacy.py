"""Import spaCy without paying for torch.

spaCy imports thinc, and thinc imports torch when it is installed (it is: Whisper needs
it) only to offer GPU and PyTorch layers. Scribe's pipeline is rule-based and never uses
them, and importing torch costs about 2 s of the extractor's start-up on this machine.
When torch is not loaded yet, it is hidden for the length of spaCy's import; Whisper
imports torch itself later, as usual. When torch is already loaded nothing changes.
"""

from __future__ import annotations

import sys


def import_spacy():
    if "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail fast
    try:
        import spacy
    finally:
        del sys.modules["torch"]
    return spacy


spacy = import_spacy()
