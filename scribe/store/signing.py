"""Signing, co-signing and addenda.

Signing fills in the therapist's name and credentials, checks the note again as a
signed note, and refuses while an error finding is neither fixed nor acknowledged with
a reason. The signature's content hash covers the signed version's hash, the
acknowledgements and the signer; after it the note is locked and changes are addenda,
each signed and dated. A note signed by an assistant (PTA, COTA) waits for a
supervising therapist's co-signature.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..checks import check
from ..errors import UsageError
from ..schema import Method, Note, Severity
from . import audit
from .db import Store, now
from .drafts import NOT_ACKNOWLEDGEABLE, _head, _note_row, add_version, describe_change, record_acknowledgement
from .errors import LockedError, SigningError
from .models import AcknowledgementRow, AddendumRow, SignatureRow, User, VersionRow
from .records import AddendumInfo, NoteStatus, SignatureInfo
from .users import authenticate, info, may_cosign, parse_credentials

AUTHOR = "author"
COSIGNER = "cosigner"


# --- content hashes (shared with verify) -----------------------------------------------------


def signature_hash(sig: SignatureRow, *, version_hash: str, acknowledgements: list[dict],
                   author_hash: str | None) -> str:
    return audit.sha256_hex(audit.canonical({
        "note_id": sig.note_id, "version": sig.version, "version_hash": version_hash, "role": sig.role,
        "username": sig.username, "name": sig.name, "credentials": sig.credentials, "signed_at": sig.signed_at,
        "acknowledgements": acknowledgements, "author_signature": author_hash,
    }))


def addendum_hash(add: AddendumRow, *, note_signature: str) -> str:
    return audit.sha256_hex(audit.canonical({
        "note_id": add.note_id, "number": add.number, "text": add.text, "username": add.username,
        "name": add.name, "credentials": add.credentials, "signed_at": add.signed_at,
        "note_signature": note_signature,
    }))


def ack_payload(rows: Iterable[AcknowledgementRow]) -> list[dict]:
    return [{"id": a.id, "version": a.version, "rule": a.rule, "reason": a.reason, "by": a.by, "at": a.at}
            for a in sorted(rows, key=lambda a: a.id)]


# --- signing -----------------------------------------------------------------------------


def sign_note(store: Store, note_id: int, *, username: str, passphrase: str,
              acknowledge: Iterable[tuple[str, str]] = ()) -> SignatureInfo:
    """Sign (or co-sign) note `note_id` as `username`; `acknowledge` is (rule, reason) pairs."""
    with store.transaction() as s:
        row = _note_row(s, note_id, for_update=True)
        user = authenticate(s, username, passphrase)
        if row.status == NoteStatus.signed.value:
            raise LockedError(f"note {note_id} is already signed and locked; changes are addenda: "
                              f"scribe addendum {note_id} --text-file FILE --by USER")
        if row.status == NoteStatus.awaiting_cosign.value:
            if list(acknowledge):
                raise UsageError(f"note {note_id} is signed; a co-signature cannot acknowledge findings")
            return _cosign(s, row, user)
        current = Note.model_validate_json(_head(s, row).note_json)
        creds = parse_credentials(user.credentials)
        meta = current.meta.model_copy(update={"therapist": user.name, "credentials": ", ".join(creds)})
        findings = check(current.facts, meta=meta, method=Method(row.method), signed=True)
        signed = current.model_copy(update={"meta": meta, "findings": findings})
        if signed != current:
            summary, diff = describe_change(current, signed)
            add_version(s, row, signed, author=username, diff=diff,
                        summary=f"prepared for signing by {username}: {summary.removeprefix('edited ')}")
        for rule, reason in acknowledge:
            record_acknowledgement(s, row, signed, rule, reason, by=username)
        _refuse_unresolved(s, row, signed)
        acks = list(s.scalars(select(AcknowledgementRow).where(AcknowledgementRow.note_id == row.id)))
        version = _head(s, row)
        sig = SignatureRow(note_id=row.id, version=version.number, role=AUTHOR, username=user.username,
                           name=user.name, credentials=user.credentials, signed_at=now(), content_hash="")
        sig.content_hash = signature_hash(sig, version_hash=version.content_hash, acknowledgements=ack_payload(acks),
                                          author_hash=None)
        s.add(sig)
        row.status = (NoteStatus.awaiting_cosign if user.needs_cosign else NoteStatus.signed).value
        s.flush()
        audit.append(s, "signed", actor=username, note_id=row.id,
                     detail={"signature_id": sig.id, "role": AUTHOR, "version": sig.version,
                             "content_hash": sig.content_hash})
        return _signature_info(sig)


def _refuse_unresolved(s: Session, row, note: Note) -> None:
    errors = [f for f in note.findings if f.severity is Severity.error]
    if any(f.rule in NOT_ACKNOWLEDGEABLE for f in errors):
        raise SigningError(f"note {row.id} has no date of service; set it first (scribe edit {row.id}), "
                           "then sign")
    acked = set(s.scalars(select(AcknowledgementRow.rule).where(AcknowledgementRow.note_id == row.id)))
    open_rules = list(dict.fromkeys(f.rule for f in errors if f.rule not in acked))
    if open_rules:
        raise SigningError(f"note {row.id} has unresolved error findings: {', '.join(open_rules)}. "
                           f"Fix them (scribe edit {row.id}) or acknowledge each with a reason: "
                           f"--acknowledge {open_rules[0]}=REASON")


def _cosign(s: Session, row, user: User) -> SignatureInfo:
    author = s.scalars(select(SignatureRow).where(SignatureRow.note_id == row.id, SignatureRow.role == AUTHOR)
                       .order_by(SignatureRow.id)).first()
    signer = s.get(User, author.username)
    if signer is None or not may_cosign(info(signer), info(user)):
        raise SigningError(f"note {row.id} was signed by {author.name}, {author.credentials.replace(',', ', ')} "
                           f"and awaits a co-signature by a supervising therapist; {user.username} cannot co-sign it")
    version = s.scalars(select(VersionRow).where(VersionRow.note_id == row.id,
                                                 VersionRow.number == author.version)).one()
    sig = SignatureRow(note_id=row.id, version=author.version, role=COSIGNER, username=user.username,
                       name=user.name, credentials=user.credentials, signed_at=now(), content_hash="")
    sig.content_hash = signature_hash(sig, version_hash=version.content_hash, acknowledgements=[],
                                      author_hash=author.content_hash)
    s.add(sig)
    row.status = NoteStatus.signed.value
    s.flush()
    audit.append(s, "cosigned", actor=user.username, note_id=row.id,
                 detail={"signature_id": sig.id, "role": COSIGNER, "version": sig.version,
                         "content_hash": sig.content_hash})
    return _signature_info(sig)


# --- addenda -----------------------------------------------------------------------------


def add_addendum(store: Store, note_id: int, text: str, *, username: str, passphrase: str) -> AddendumInfo:
    """A signed, dated addendum under a signed note."""
    text = (text or "").strip()
    with store.transaction() as s:
        row = _note_row(s, note_id, for_update=True)
        if row.status == NoteStatus.draft.value:
            raise UsageError(f"note {note_id} is a draft: edit it instead (scribe edit {note_id}); "
                             "addenda are for signed notes")
        if not text:
            raise UsageError("the addendum is empty")
        user = authenticate(s, username, passphrase)
        author = s.scalars(select(SignatureRow).where(SignatureRow.note_id == row.id, SignatureRow.role == AUTHOR)
                           .order_by(SignatureRow.id)).first()
        number = (s.scalar(select(func.max(AddendumRow.number)).where(AddendumRow.note_id == row.id)) or 0) + 1
        add = AddendumRow(note_id=row.id, number=number, text=text, username=user.username, name=user.name,
                          credentials=user.credentials, signed_at=now(), content_hash="")
        add.content_hash = addendum_hash(add, note_signature=author.content_hash)
        s.add(add)
        s.flush()
        audit.append(s, "addendum", actor=user.username, note_id=row.id,
                     detail={"number": number, "content_hash": add.content_hash})
        return AddendumInfo(number=add.number, text=add.text, username=add.username, name=add.name,
                            credentials=parse_credentials(add.credentials), signed_at=add.signed_at,
                            content_hash=add.content_hash)


def _signature_info(sig: SignatureRow) -> SignatureInfo:
    return SignatureInfo(role=sig.role, username=sig.username, name=sig.name,
                         credentials=parse_credentials(sig.credentials), signed_at=sig.signed_at,
                         version=sig.version, content_hash=sig.content_hash)
