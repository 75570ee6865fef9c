"""Drafts, edits, signatures and the audit trail (SQLite by default, any SQLAlchemy URL).

    from scribe.store import open_store, save_draft
    note_id = save_draft(note)                      # a new draft; returns its ID as text
    store = open_store()                            # $SCRIBE_DB_URL or <data dir>/scribe.db
    edit_draft(store, 3, text=..., meta=...)        # a new version
    sign_note(store, 3, username="jdoe", passphrase=..., acknowledge=[("rule", "reason")])
    add_addendum(store, 3, "text", username="jdoe", passphrase=...)
    verify(store)                                   # VerifyReport: chain and content hashes

Names load on first use, so `scribe --help` and the other commands do not pay for
SQLAlchemy and Alembic.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "db": ("Store", "data_dir", "database_url", "open_store"),
    "drafts": ("acknowledge", "create_draft", "edit_draft", "edit_text", "get_audio", "get_record", "list_drafts",
               "log_export", "parse_edit_text", "prior_visit", "save_draft"),
    "errors": ("ExportError", "LockedError", "NotFoundError", "SigningError", "StoreError", "UserError"),
    "records": ("DraftSummary", "NoteRecord", "NoteStatus", "UserInfo", "VerifyReport"),
    "signing": ("add_addendum", "sign_note"),
    "users": ("add_user", "list_users"),
    "verify": ("verify",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)  # noqa: PLE0605 - built from the table above


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
