"""The store's tables (SQLAlchemy 2 declarative). Changes here need a migration in
migrations/versions/ (tests/test_store.py checks that the two agree).

Rows of versions, acknowledgements, signatures, addenda and audit are never updated
or deleted (database triggers refuse it); a note row holds only its listing columns
(patient, date, status, head version), which `scribe verify` checks against the
hashed rows.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

HASH_LENGTH = 64  # hex characters of a SHA-256 digest
TIME_LENGTH = 32  # an ISO 8601 UTC timestamp, e.g. 2025-03-14T15:09:26.535897Z


class Base(DeclarativeBase):
    pass


class User(Base):
    """A therapist who signs: name, credentials and a salted scrypt hash of the passphrase."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str] = mapped_column(String(200), doc="comma-separated, e.g. 'PT,DPT'")
    passphrase_hash: Mapped[str] = mapped_column(String(300))
    needs_cosign: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[str] = mapped_column(String(TIME_LENGTH))


class NoteRow(Base):
    """One note: its listing columns and the number of its newest version."""

    __tablename__ = "notes"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[str] = mapped_column(String(TIME_LENGTH))
    created_by: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), index=True)
    patient: Mapped[str | None] = mapped_column(String(200), index=True)
    date_of_service: Mapped[str | None] = mapped_column(String(10), index=True)
    head_version: Mapped[int] = mapped_column(Integer)


class VersionRow(Base):
    """Every saved state of a draft: the whole Note (transcript, facts, evidence, findings)."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("note_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(TIME_LENGTH))
    author: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, doc="what changed, one line")
    diff: Mapped[str] = mapped_column(Text, doc="unified diff of the dictation and details")
    note_json: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AudioRow(Base):
    """The recording a note was dictated from, kept for playback beside the transcript."""

    __tablename__ = "audio"

    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))
    mime: Mapped[str] = mapped_column(String(60))
    sha256: Mapped[str] = mapped_column(String(HASH_LENGTH))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AcknowledgementRow(Base):
    """A finding the therapist chose to sign over, with the reason (all findings of a rule)."""

    __tablename__ = "acknowledgements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(TIME_LENGTH))


class SignatureRow(Base):
    """A signature (role 'author') or co-signature ('cosigner') over one version."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[str] = mapped_column(String(TIME_LENGTH))
    content_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AddendumRow(Base):
    """A signed and dated change made after signing, shown under the original."""

    __tablename__ = "addenda"
    __table_args__ = (UniqueConstraint("note_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("notes.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[str] = mapped_column(String(TIME_LENGTH))
    content_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditRow(Base):
    """Append-only log; each entry's hash covers the previous entry's hash (a chain).
    `prev_hash` is unique, so two writers can never fork the chain."""

    __tablename__ = "audit"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(TIME_LENGTH))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20), index=True)
    note_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str] = mapped_column(Text, doc="canonical JSON")
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


APPEND_ONLY_TABLES = ("versions", "acknowledgements", "signatures", "addenda", "audit", "audio")
