"""`scribe verify`: recompute the audit chain and every content hash, and report each
record that was changed outside Scribe (edited, inserted or deleted in the database).

Checked: the chain itself; each version, acknowledgement, signature, addendum and
recording against its own hash and against the audit entry that recorded it; each
note's listing columns against its hashed versions; each user against the entry that
added it. A chain rewritten from scratch by someone with write access to the database
is only caught against a copy of the chain head, which `verify` prints for that purpose.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..schema import Note
from . import audit
from .db import Store
from .drafts import version_hash
from .models import AcknowledgementRow, AddendumRow, AudioRow, AuditRow, NoteRow, SignatureRow, User, VersionRow
from .records import NoteStatus, VerifyProblem, VerifyReport
from .signing import AUTHOR, COSIGNER, ack_payload, addendum_hash, signature_hash
from .users import user_detail


def verify(store: Store, note_id: int | None = None) -> VerifyReport:
    """Check the whole chain, and every note (or only `note_id`)."""
    with store.transaction() as s:
        entries, chain_problems = audit.verify_chain(s)
        problems = [VerifyProblem(note_id=e.note_id if e else None, message=m) for e, m in chain_problems]
        by_note: dict[int | None, list[AuditRow]] = defaultdict(list)
        for e in entries:
            by_note[e.note_id].append(e)
        note_ids = [note_id] if note_id is not None else sorted(
            set(s.scalars(select(NoteRow.id))) | {n for n in by_note if n is not None})
        for nid in note_ids:
            problems += [VerifyProblem(note_id=nid, message=m) for m in _check_note(s, nid, by_note.get(nid, []))]
        if note_id is None:
            problems += [VerifyProblem(note_id=None, message=m) for m in _check_users(s, by_note.get(None, []))]
        elif any(p.note_id not in (None, note_id) for p in problems):
            problems = [p for p in problems if p.note_id in (None, note_id)]
        head = entries[-1].hash if entries else audit.GENESIS
        return VerifyReport(ok=not problems, notes=len(note_ids), entries=len(entries), head=head,
                            problems=problems)


def _check_note(s: Session, nid: int, entries: list[AuditRow]) -> list[str]:
    out: list[str] = []
    row = s.get(NoteRow, nid)
    if row is None:
        return [f"note {nid} is in the audit log but not in the database (deleted)"]
    logged = defaultdict(list)
    for e in entries:
        logged[e.action].append(audit.detail(e))

    versions = {v.number: v for v in s.scalars(select(VersionRow).where(VersionRow.note_id == nid))}
    version_entries = {d.get("version"): d for action in ("created", "edited") for d in logged[action]}
    for number in sorted(set(versions) | set(version_entries)):
        v, d = versions.get(number), version_entries.get(number)
        if v is None:
            out.append(f"note {nid}: version {number} was deleted")
            continue
        actual = version_hash(v.note_id, v.number, v.created_at, v.author, v.summary, v.diff, v.note_json)
        if actual != v.content_hash or d is None or d.get("content_hash") != actual:
            out.append(f"note {nid}: version {number} was changed outside Scribe")
    head = versions.get(row.head_version)
    if head is None or row.head_version != max(versions, default=0):
        out.append(f"note {nid}: its newest version number was changed")
    elif _listing_mismatch(row, head):
        out.append(f"note {nid}: its patient or date of service was changed outside Scribe")

    acks = list(s.scalars(select(AcknowledgementRow).where(AcknowledgementRow.note_id == nid)))
    logged_acks = {d.get("ack_id"): d for d in logged["acknowledged"]}
    for a in acks:
        d = logged_acks.pop(a.id, None)
        mine = {"ack_id": a.id, "version": a.version, "rule": a.rule, "reason": a.reason, "by": a.by, "at": a.at}
        if d != mine:
            out.append(f"note {nid}: acknowledgement of '{a.rule}' was changed outside Scribe")
    if logged_acks:
        out.append(f"note {nid}: an acknowledgement was deleted")

    sigs = list(s.scalars(select(SignatureRow).where(SignatureRow.note_id == nid).order_by(SignatureRow.id)))
    logged_sigs = {d.get("signature_id"): d for action in ("signed", "cosigned") for d in logged[action]}
    author = next((g for g in sigs if g.role == AUTHOR), None)
    for g in sigs:
        v = versions.get(g.version)
        expected = signature_hash(
            g, version_hash=v.content_hash if v else "",
            acknowledgements=ack_payload(acks) if g.role == AUTHOR else [],
            author_hash=author.content_hash if g.role == COSIGNER and author else None)
        d = logged_sigs.pop(g.id, None)
        if expected != g.content_hash or d is None or d.get("content_hash") != expected:
            out.append(f"note {nid}: the signature by {g.username} no longer matches the signed content")
    if logged_sigs:
        out.append(f"note {nid}: a signature was deleted")
    want = NoteStatus.draft
    if author is not None:
        cosigned = any(g.role == COSIGNER for g in sigs)
        signer = s.get(User, author.username)
        want = NoteStatus.signed if cosigned or (signer is not None and not signer.needs_cosign) \
            else NoteStatus.awaiting_cosign
    if row.status != want.value:
        out.append(f"note {nid}: its status '{row.status}' was changed outside Scribe (expected '{want.value}')")

    adds = list(s.scalars(select(AddendumRow).where(AddendumRow.note_id == nid)))
    logged_adds = {d.get("number"): d for d in logged["addendum"]}
    for a in adds:
        expected = addendum_hash(a, note_signature=author.content_hash if author else "")
        d = logged_adds.pop(a.number, None)
        if expected != a.content_hash or d is None or d.get("content_hash") != expected:
            out.append(f"note {nid}: addendum {a.number} was changed outside Scribe")
    for number in logged_adds:
        out.append(f"note {nid}: addendum {number} was deleted")

    created = logged["created"][0] if logged["created"] else {}
    rec = s.get(AudioRow, nid)
    if rec is not None:
        actual = audit.sha256_hex(rec.data)
        if actual != rec.sha256 or created.get("audio_sha256") != actual:
            out.append(f"note {nid}: the recording was changed outside Scribe")
    elif created.get("audio_sha256"):
        out.append(f"note {nid}: the recording was deleted")
    return out


def _listing_mismatch(row: NoteRow, head: VersionRow) -> bool:
    try:
        meta = Note.model_validate_json(head.note_json).meta
    except ValueError:
        return True  # the version check reports it
    when = meta.date_of_service.isoformat() if meta.date_of_service else None
    return row.patient != meta.patient or row.date_of_service != when


def _check_users(s: Session, entries: list[AuditRow]) -> list[str]:
    logged = {d.get("username"): d for d in (audit.detail(e) for e in entries if e.action == "user_added")}
    out = []
    for user in s.scalars(select(User)):
        if logged.pop(user.username, None) != user_detail(user):
            out.append(f"user {user.username}: changed outside Scribe (name, credentials or passphrase)")
    out += [f"user {name}: deleted" for name in logged]
    return out
