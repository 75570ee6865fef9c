"""The audit log: append-only, each entry chained to the previous entry's hash.

An entry's hash is SHA-256 over the canonical JSON of (id, at, actor, action, note_id,
detail, prev_hash); the first entry's prev_hash is GENESIS. Changing, inserting or
deleting an entry anywhere breaks every link after it, which `verify_chain` reports.
Content hashes of versions, signatures and addenda use the same canonical JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import now
from .models import AuditRow

GENESIS = "0" * 64
ACTIONS = ("created", "edited", "acknowledged", "signed", "cosigned", "addendum", "exported", "viewed",
           "user_added")


def canonical(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def entry_hash(entry_id: int, at: str, actor: str, action: str, note_id: int | None, detail: str,
               prev_hash: str) -> str:
    return sha256_hex(canonical({"id": entry_id, "at": at, "actor": actor, "action": action,
                                 "note_id": note_id, "detail": detail, "prev_hash": prev_hash}))


def head(session: Session) -> AuditRow | None:
    return session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).first()


def append(session: Session, action: str, *, actor: str, note_id: int | None = None,
           detail: dict[str, Any] | None = None) -> AuditRow:
    """Add one entry at the end of the chain (inside the caller's transaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    last = head(session)
    prev_hash = last.hash if last else GENESIS
    entry_id = (last.id if last else 0) + 1
    at = now()
    text = canonical(detail or {}).decode("utf-8")
    row = AuditRow(id=entry_id, at=at, actor=actor, action=action, note_id=note_id, detail=text,
                   prev_hash=prev_hash, hash=entry_hash(entry_id, at, actor, action, note_id, text, prev_hash))
    session.add(row)
    session.flush()
    return row


def verify_chain(session: Session) -> tuple[list[AuditRow], list[tuple[AuditRow | None, str]]]:
    """All entries in order, and the problems found: (entry or None, one-line message)."""
    rows = list(session.scalars(select(AuditRow).order_by(AuditRow.id)))
    problems: list[tuple[AuditRow | None, str]] = []
    prev = GENESIS
    expected_id = 1
    for row in rows:
        if row.id != expected_id:
            problems.append((row, f"audit entries {expected_id}-{row.id - 1} are missing"))
        if row.prev_hash != prev:
            problems.append((row, f"audit entry {row.id} does not link to the entry before it"))
        if entry_hash(row.id, row.at, row.actor, row.action, row.note_id, row.detail, row.prev_hash) != row.hash:
            problems.append((row, f"audit entry {row.id} ({row.action}) was changed"))
        prev = row.hash
        expected_id = row.id + 1
    return rows, problems


def detail(row: AuditRow) -> dict[str, Any]:
    """An entry's detail as a dict ({} when it is not valid JSON: verify reports that)."""
    try:
        value = json.loads(row.detail)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
