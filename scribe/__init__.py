"""Scribe: an offline scribe for physical and occupational therapists.

Dictation (text, and later audio) -> facts -> a checked 97112 daily note.
"""

__version__ = "0.1.0"
