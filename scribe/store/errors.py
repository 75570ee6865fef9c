"""Errors of the draft store, signing and exports (codes E020-E029; see scribe/errors.py).

Each is one readable line; the CLI prints it and exits with `exit_status`.
"""

from __future__ import annotations

from ..errors import ScribeError


class StoreError(ScribeError):
    """The database cannot be opened, migrated or written."""

    code = "E020"
    exit_status = 2


class NotFoundError(ScribeError):
    """No note (or user) with that ID."""

    code = "E021"
    exit_status = 2


class LockedError(ScribeError):
    """A signed note was to be edited: changes after signing are addenda."""

    code = "E022"
    exit_status = 2


class SigningError(ScribeError):
    """A note cannot be signed: wrong passphrase, unresolved error findings, no co-signer ..."""

    code = "E023"
    exit_status = 2


class UserError(ScribeError):
    """A user cannot be added: bad name, credentials or passphrase, or already exists."""

    code = "E024"
    exit_status = 2


class ExportError(ScribeError):
    """An export cannot be written (unknown format, invalid FHIR, PDF engine missing)."""

    code = "E025"
    exit_status = 2
