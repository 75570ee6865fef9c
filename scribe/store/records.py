"""The public shapes of stored notes (what the CLI prints and the review page shows).

The database rows (models.py) stay inside the store; callers get these pydantic models.
"""

from __future__ import annotations

from enum import Enum

from ..schema import Model, Note, Severity


class NoteStatus(str, Enum):
    draft = "draft"
    awaiting_cosign = "awaiting_cosign"  # signed by a PTA (or other assistant), waiting for a PT
    signed = "signed"


STATUS_LABEL = {NoteStatus.draft: "Draft — not signed", NoteStatus.awaiting_cosign: "Signed — awaiting co-signature",
                NoteStatus.signed: "Signed — locked"}


class UserInfo(Model):
    username: str
    name: str
    credentials: list[str]
    needs_cosign: bool
    created_at: str

    @property
    def display(self) -> str:
        return f"{self.name}, {', '.join(self.credentials)}"


class DraftSummary(Model):
    id: int
    patient: str | None
    date_of_service: str | None
    status: NoteStatus
    findings: int
    errors: int
    version: int
    created_at: str
    updated_at: str


class VersionInfo(Model):
    number: int
    created_at: str
    author: str
    summary: str
    diff: str
    content_hash: str


class Acknowledgement(Model):
    rule: str
    reason: str
    by: str
    at: str
    version: int


class SignatureInfo(Model):
    role: str  # "author" or "cosigner"
    username: str
    name: str
    credentials: list[str]
    signed_at: str
    version: int
    content_hash: str


class AddendumInfo(Model):
    number: int
    text: str
    username: str
    name: str
    credentials: list[str]
    signed_at: str
    content_hash: str


class NoteRecord(Model):
    """A stored note: the current Note (transcript, facts, evidence, findings) and its history."""

    id: int
    status: NoteStatus
    created_at: str
    created_by: str
    method: str
    version: int
    note: Note
    versions: list[VersionInfo]
    acknowledgements: list[Acknowledgement]
    signatures: list[SignatureInfo]
    addenda: list[AddendumInfo]
    audio_mime: str | None = None
    audio_filename: str | None = None

    @property
    def locked(self) -> bool:
        return self.status is not NoteStatus.draft

    @property
    def status_label(self) -> str:
        return STATUS_LABEL[self.status]

    def acknowledged_rules(self) -> dict[str, Acknowledgement]:
        """Rule -> its latest acknowledgement."""
        return {a.rule: a for a in self.acknowledgements}

    def unresolved_errors(self) -> list[str]:
        """Rules with error findings that are not acknowledged, each once, in order."""
        acked = self.acknowledged_rules()
        rules = [f.rule for f in self.note.findings if f.severity is Severity.error and f.rule not in acked]
        return list(dict.fromkeys(rules))


class VerifyProblem(Model):
    note_id: int | None
    message: str


class VerifyReport(Model):
    ok: bool
    notes: int
    entries: int
    head: str
    problems: list[VerifyProblem]

    def notes_changed(self) -> list[int]:
        return sorted({p.note_id for p in self.problems if p.note_id is not None})
