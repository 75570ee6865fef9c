"""Errors with a code and one readable line (after spaCy's Errors registry).

Stages raise these; only the CLI (and the review app) turns them into a message and an
exit status. `str(err)` is always a single line that names the file and the problem.
"""

from __future__ import annotations


class ScribeError(Exception):
    """Base class: `code` is stable (documented in the README), `message` is one line."""

    code = "E000"
    exit_status = 1

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        self.message = " ".join(str(message).split())
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message} [{self.code}]"


class UsageError(ScribeError):
    """A bad argument on the command line."""

    code = "E001"
    exit_status = 2


class InputError(ScribeError):
    """An input file that cannot be used: missing, empty, binary, not text or audio."""

    code = "E002"
    exit_status = 2


class RuleFileError(ScribeError):
    """A rule or vocabulary data file is malformed (names the file and line)."""

    code = "E003"
    exit_status = 2


class TemplateError(ScribeError):
    """A note template is missing, does not parse, or uses a field that does not exist."""

    code = "E004"
    exit_status = 2


class BillingError(ScribeError):
    """Minutes that cannot be billed (negative, not a number, unknown method)."""

    code = "E005"
    exit_status = 2


class AudioError(ScribeError):
    """An audio file that cannot be used: missing, empty, not audio, damaged or truncated,
    shorter than a second or longer than the limit (scribe/audio.py)."""

    code = "E006"
    exit_status = 2


class ModelError(ScribeError):
    """A Whisper model that is unknown, not installed, damaged (hash mismatch) or cannot
    be converted (scribe/models.py, scribe/convert.py)."""

    code = "E007"
    exit_status = 2


class NoSpeechError(ScribeError):
    """An audio file with no speech in it: silence, noise, or only text Whisper invented
    (scribe/transcribe.py)."""

    code = "E008"
    exit_status = 2
