"""Drafts: save a Note, edit it (every edit is a new version: who, when, what changed),
acknowledge findings, list and load notes.

What a therapist edits is the dictation and the visit details (patient, date of
service, payer, diagnosis codes). Saving rebuilds the note from them with the pipeline,
so facts, evidence, units and findings always follow the words; audio timings are
carried over to the words an edit left alone, so a fact still plays its recording.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import UsageError
from ..schema import Measure, Method, Note, SessionMeta, Severity, Timepoint, Transcript, Word
from . import audit
from .db import Store, local_actor, now, open_store
from .errors import LockedError, NotFoundError
from .models import AcknowledgementRow, AddendumRow, AudioRow, NoteRow, SignatureRow, VersionRow
from .records import (
    Acknowledgement,
    AddendumInfo,
    DraftSummary,
    NoteRecord,
    NoteStatus,
    SignatureInfo,
    VersionInfo,
)
from .users import parse_credentials

AUDIO_MIME = {".m4a": "audio/mp4", ".mp4": "audio/mp4", ".aac": "audio/aac", ".mp3": "audio/mpeg",
              ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".oga": "audio/ogg",
              ".opus": "audio/ogg", ".webm": "audio/webm"}
MAX_AUDIO_BYTES = 200 * 1024 * 1024  # larger recordings are not copied into the store
EDIT_SEPARATOR = "---"
EDIT_FIELDS = {"patient": "Patient", "date_of_service": "Date of service", "payer": "Payer",
               "diagnosis_codes": "Diagnosis codes"}
NOT_ACKNOWLEDGEABLE = {"signature"}  # name, credentials and date are required, not waivable
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


# --- saving ------------------------------------------------------------------------------


def save_draft(note: Note, *, by: str | None = None, method: Method | str | None = None,
               audio: str | Path | None = None, store: Store | None = None) -> str:
    """Store `note` as a new draft and return its ID (as text, for printing).

    The recording is copied in when `audio` (or the transcript's source) is an audio file.
    """
    own = store is None
    store = store or open_store()
    try:
        return str(create_draft(store, note, by=by, method=method, audio=audio))
    finally:
        if own:
            store.close()


def create_draft(store: Store, note: Note, *, by: str | None = None, method: Method | str | None = None,
                 audio: str | Path | None = None) -> int:
    by = by or local_actor()
    method_value = Method(method).value if method else (note.units.method.value if note.units else Method.cms.value)
    recording = _recording(audio if audio is not None else note.transcript.source)
    with store.transaction() as s:
        row = NoteRow(created_at=now(), created_by=by, method=method_value, status=NoteStatus.draft.value,
                      patient=note.meta.patient, date_of_service=_date_text(note.meta), head_version=1)
        s.add(row)
        s.flush()
        source = note.transcript.source or "typed text"
        version = _add_version(s, row.id, 1, by, f"created from {Path(source).name}", "", note)
        detail: dict[str, Any] = {"version": 1, "content_hash": version.content_hash}
        if recording is not None:
            name, mime, data = recording
            s.add(AudioRow(note_id=row.id, filename=name, mime=mime, sha256=audit.sha256_hex(data), data=data))
            detail["audio_sha256"] = audit.sha256_hex(data)
        audit.append(s, "created", actor=by, note_id=row.id, detail=detail)
        return row.id


def _recording(source: str | Path | None) -> tuple[str, str, bytes] | None:
    if not source:
        return None
    path = Path(source)
    mime = AUDIO_MIME.get(path.suffix.lower())
    if mime is None or not path.is_file() or path.stat().st_size > MAX_AUDIO_BYTES:
        return None
    return path.name, mime, path.read_bytes()


def version_hash(note_id: int, number: int, created_at: str, author: str, summary: str, diff: str,
                 note_json: str) -> str:
    return audit.sha256_hex(audit.canonical({"note_id": note_id, "number": number, "created_at": created_at,
                                             "author": author, "summary": summary, "diff": diff,
                                             "note_json": note_json}))


def _add_version(s: Session, note_id: int, number: int, author: str, summary: str, diff: str,
                 note: Note) -> VersionRow:
    created_at = now()
    note_json = note.model_dump_json()
    row = VersionRow(note_id=note_id, number=number, created_at=created_at, author=author, summary=summary,
                     diff=diff, note_json=note_json,
                     content_hash=version_hash(note_id, number, created_at, author, summary, diff, note_json))
    s.add(row)
    s.flush()
    return row


def add_version(s: Session, row: NoteRow, note: Note, *, author: str, summary: str, diff: str,
                action: str = "edited") -> VersionRow:
    """A new head version of `row` (the caller checked it may change), logged in the audit."""
    version = _add_version(s, row.id, row.head_version + 1, author, summary, diff, note)
    row.head_version = version.number
    row.patient = note.meta.patient
    row.date_of_service = _date_text(note.meta)
    audit.append(s, action, actor=author, note_id=row.id,
                 detail={"version": version.number, "content_hash": version.content_hash, "summary": summary})
    return version


def _date_text(meta: SessionMeta) -> str | None:
    return meta.date_of_service.isoformat() if meta.date_of_service else None


# --- editing -----------------------------------------------------------------------------


def edit_text(record: NoteRecord) -> str:
    """The text a therapist edits: visit details, a '---' line, then the dictation."""
    meta = record.note.meta
    values = {"patient": meta.patient or "", "date_of_service": _date_text(meta) or "",
              "payer": meta.payer or "", "diagnosis_codes": ", ".join(meta.diagnosis_codes)}
    lines = [f"# Scribe note {record.id}, version {record.version}. Edit the details and the dictation below;",
             "# the note, its facts and findings are rebuilt from them when you save.",
             "# Lines starting with # above the --- line are ignored. Dates are YYYY-MM-DD."]
    lines += [f"{label}: {values[key]}".rstrip() for key, label in EDIT_FIELDS.items()]
    lines += [EDIT_SEPARATOR, record.note.transcript.text.rstrip("\n")]
    return "\n".join(lines) + "\n"


def parse_edit_text(text: str, meta: SessionMeta) -> tuple[str, SessionMeta]:
    """(dictation, meta) from an edited text; without a '---' line, all of it is dictation."""
    lines = text.splitlines()
    if EDIT_SEPARATOR not in (line.strip() for line in lines):
        return text.strip("\n"), meta
    cut = next(i for i, line in enumerate(lines) if line.strip() == EDIT_SEPARATOR)
    labels = {label.lower(): key for key, label in EDIT_FIELDS.items()}
    labels.update({key.replace("_", " "): key for key in EDIT_FIELDS})
    values: dict[str, Any] = {}
    for number, line in enumerate(lines[:cut], start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        label, sep, value = line.partition(":")
        key = labels.get(label.strip().lower())
        if not sep or key is None:
            known = ", ".join(EDIT_FIELDS.values())
            raise UsageError(f"line {number}: {line.strip()[:40]!r} is not a detail ({known}) nor a comment")
        values[key] = value.strip()
    return "\n".join(lines[cut + 1:]).strip("\n"), meta_with(meta, **values)


def meta_with(meta: SessionMeta, **values: str) -> SessionMeta:
    """`meta` with text values from a form or an edited file (blank clears a field)."""
    update: dict[str, Any] = {}
    for key, value in values.items():
        if key not in EDIT_FIELDS:
            raise UsageError(f"unknown detail {key!r}")
        value = " ".join(str(value).split())
        if key == "date_of_service":
            try:
                update[key] = date.fromisoformat(value) if value else None
            except ValueError:
                raise UsageError(f"date of service {value!r} is not a date (YYYY-MM-DD)") from None
        elif key == "diagnosis_codes":
            update[key] = [c.strip().upper() for c in re.split(r"[,;\s]+", value) if c.strip()]
        else:
            update[key] = value or None
    return meta.model_copy(update=update)


def edit_draft(store: Store, note_id: int, *, text: str | None = None, meta: SessionMeta | None = None,
               by: str | None = None) -> VersionInfo | None:
    """Save a new version with the edited dictation and/or details; None when nothing changed."""
    from ..pipeline import build_note

    by = by or local_actor()
    with store.transaction() as s:
        row = _note_row(s, note_id, for_update=True)
        _refuse_if_locked(row, "edited")
        current = Note.model_validate_json(_head(s, row).note_json)
        new_text = current.transcript.text if text is None else text
        new_meta = current.meta if meta is None else meta
        if not new_text.strip():
            raise UsageError("the dictation is empty: there is nothing to make a note from")
        if new_text == current.transcript.text and new_meta == current.meta:
            return None
        transcript = carry_timings(current.transcript, new_text)
        note = build_note(transcript, meta=new_meta, method=Method(row.method))
        summary, diff = describe_change(current, note)
        version = add_version(s, row, note, author=by, summary=summary, diff=diff)
        return _version_info(version)


def carry_timings(old: Transcript, text: str) -> Transcript:
    """A transcript of `text` keeping the audio seconds of every word the edit left alone."""
    if text == old.text:
        return old
    if not old.segments:
        return old.model_copy(update={"text": text})
    matcher = difflib.SequenceMatcher(None, old.text, text, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]

    def moved(start: int, end: int) -> int | None:
        for b in blocks:
            if b.a <= start and end <= b.a + b.size:
                return b.b - b.a
        return None

    segments = []
    for seg in old.segments:
        words: list[Word] = []
        for w in seg.words:
            if w.char_start is None or w.char_end is None:
                continue
            shift = moved(w.char_start, w.char_end)
            if shift is not None:
                words.append(w.model_copy(update={"char_start": w.char_start + shift, "char_end": w.char_end + shift}))
        if words:
            start, end = words[0].char_start, words[-1].char_end
            segments.append(seg.model_copy(update={"words": words, "char_start": start, "char_end": end,
                                                   "text": text[start:end]}))
    return old.model_copy(update={"text": text, "segments": segments})


def describe_change(old: Note, new: Note) -> tuple[str, str]:
    """(one-line summary, unified diff) of what an edit changed."""
    parts = [label.lower() for key, label in EDIT_FIELDS.items()
             if getattr(old.meta, key) != getattr(new.meta, key)]
    for key in ("therapist", "credentials"):
        if getattr(old.meta, key) != getattr(new.meta, key):
            parts.append(key)
    if old.transcript.text != new.transcript.text:
        a, b = _sentences(old.transcript.text), _sentences(new.transcript.text)
        changed = sum(1 for tag, *_ in difflib.SequenceMatcher(None, a, b).get_opcodes() if tag != "equal")
        parts.append(f"dictation ({changed} passage{'s' if changed != 1 else ''} changed)")
    before = {f.rule for f in old.findings}
    after = {f.rule for f in new.findings}
    if before - after:
        parts.append("resolved " + ", ".join(sorted(before - after)))
    if after - before:
        parts.append("new finding " + ", ".join(sorted(after - before)))
    summary = "edited " + "; ".join(parts) if parts else "rebuilt"
    diff = "\n".join(difflib.unified_diff(_document(old), _document(new), "before", "after", lineterm="", n=1))
    return summary, diff


def _sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text.strip()) if s]


def _document(note: Note) -> list[str]:
    meta = note.meta
    lines = [f"{label}: {getattr(meta, key) if key != 'diagnosis_codes' else ', '.join(meta.diagnosis_codes)}"
             for key, label in EDIT_FIELDS.items()]
    lines += [f"Therapist: {meta.therapist}", f"Credentials: {meta.credentials}", EDIT_SEPARATOR]
    return lines + _sentences(note.transcript.text)


# --- findings ----------------------------------------------------------------------------


def acknowledge(store: Store, note_id: int, rule: str, reason: str, *, by: str | None = None) -> Acknowledgement:
    """Record that the therapist signs over the findings of `rule`, and why."""
    by = by or local_actor()
    with store.transaction() as s:
        row = _note_row(s, note_id, for_update=True)
        _refuse_if_locked(row, "acknowledged")
        note = Note.model_validate_json(_head(s, row).note_json)
        return record_acknowledgement(s, row, note, rule, reason, by=by)


def record_acknowledgement(s: Session, row: NoteRow, note: Note, rule: str, reason: str, *,
                           by: str) -> Acknowledgement:
    reason = " ".join((reason or "").split())
    rules = list(dict.fromkeys(f.rule for f in note.findings))
    if rule in NOT_ACKNOWLEDGEABLE:
        raise UsageError(f"'{rule}' cannot be acknowledged: the note needs the therapist's name, "
                         "credentials and the date of service (set the date with scribe edit)")
    if rule not in rules:
        listed = ", ".join(r for r in rules if r not in NOT_ACKNOWLEDGEABLE) or "none"
        raise UsageError(f"note {row.id} has no '{rule}' finding (its findings: {listed})")
    if not reason:
        raise UsageError(f"give a reason for acknowledging '{rule}' (RULE=REASON)")
    ack = AcknowledgementRow(note_id=row.id, version=row.head_version, rule=rule, reason=reason, by=by, at=now())
    s.add(ack)
    s.flush()
    audit.append(s, "acknowledged", actor=by, note_id=row.id, detail=ack_detail(ack))
    return _ack_info(ack)


def ack_detail(ack: AcknowledgementRow) -> dict:
    return {"ack_id": ack.id, "version": ack.version, "rule": ack.rule, "reason": ack.reason, "by": ack.by,
            "at": ack.at}


# --- reading -----------------------------------------------------------------------------


def list_drafts(store: Store, *, status: str | None = None) -> list[DraftSummary]:
    """Every note (or those of one status), newest date of service first."""
    with store.transaction() as s:
        query = select(NoteRow, VersionRow).join(
            VersionRow, (VersionRow.note_id == NoteRow.id) & (VersionRow.number == NoteRow.head_version))
        if status:
            query = query.where(NoteRow.status == NoteStatus(status).value)
        out = []
        for row, version in s.execute(query):
            note = Note.model_validate_json(version.note_json)
            out.append(DraftSummary(
                id=row.id, patient=row.patient, date_of_service=row.date_of_service, status=NoteStatus(row.status),
                findings=len(note.findings), errors=sum(1 for f in note.findings if f.severity is Severity.error),
                version=row.head_version, created_at=row.created_at, updated_at=version.created_at))
    return sorted(out, key=lambda d: (d.date_of_service or "", d.updated_at, d.id), reverse=True)


def get_record(store: Store, note_id: int, *, viewed_by: str | None = None) -> NoteRecord:
    """A stored note with its history; `viewed_by` logs a 'viewed' audit entry."""
    with store.transaction() as s:
        record = load_record(s, note_id)
        if viewed_by:
            audit.append(s, "viewed", actor=viewed_by, note_id=note_id, detail={"version": record.version})
        return record


def load_record(s: Session, note_id: int) -> NoteRecord:
    row = _note_row(s, note_id)
    versions = list(s.scalars(select(VersionRow).where(VersionRow.note_id == note_id).order_by(VersionRow.number)))
    acks = s.scalars(select(AcknowledgementRow).where(AcknowledgementRow.note_id == note_id)
                     .order_by(AcknowledgementRow.id))
    sigs = s.scalars(select(SignatureRow).where(SignatureRow.note_id == note_id).order_by(SignatureRow.id))
    adds = s.scalars(select(AddendumRow).where(AddendumRow.note_id == note_id).order_by(AddendumRow.number))
    audio = s.execute(select(AudioRow.mime, AudioRow.filename).where(AudioRow.note_id == note_id)).first()
    head = next((v for v in versions if v.number == row.head_version), None)
    if head is None:
        raise NotFoundError(f"note {note_id} has lost its version {row.head_version} (run scribe verify)")
    return NoteRecord(
        id=row.id, status=NoteStatus(row.status), created_at=row.created_at, created_by=row.created_by,
        method=row.method, version=row.head_version, note=Note.model_validate_json(head.note_json),
        versions=[_version_info(v) for v in versions], acknowledgements=[_ack_info(a) for a in acks],
        signatures=[SignatureInfo(role=g.role, username=g.username, name=g.name,
                                  credentials=parse_credentials(g.credentials), signed_at=g.signed_at,
                                  version=g.version, content_hash=g.content_hash) for g in sigs],
        addenda=[AddendumInfo(number=a.number, text=a.text, username=a.username, name=a.name,
                              credentials=parse_credentials(a.credentials), signed_at=a.signed_at,
                              content_hash=a.content_hash) for a in adds],
        audio_mime=audio[0] if audio else None, audio_filename=audio[1] if audio else None,
    )


def log_export(store: Store, note_id: int, fmt: str, data: bytes, *, by: str | None = None) -> None:
    """An 'exported' audit entry: the format and a hash of exactly what left the store."""
    with store.transaction() as s:
        row = _note_row(s, note_id)
        audit.append(s, "exported", actor=by or local_actor(), note_id=note_id,
                     detail={"format": fmt, "version": row.head_version, "sha256": audit.sha256_hex(data),
                             "bytes": len(data)})


def get_audio(store: Store, note_id: int) -> tuple[str, str, bytes]:
    """(file name, MIME type, bytes) of a note's recording."""
    with store.transaction() as s:
        row = s.get(AudioRow, note_id)
        if row is None:
            raise NotFoundError(f"note {note_id} has no recording")
        return row.filename, row.mime, row.data


def prior_visit(store: Store, record: NoteRecord) -> dict[str, Any] | None:
    """The same patient's latest earlier note: {id, date_of_service, measures: [Measure]}.

    Patients match by the name written in the note (case ignored)."""
    patient = record.note.meta.patient
    if not patient:
        return None
    when = _date_text(record.note.meta)
    with store.transaction() as s:
        candidates = list(s.scalars(select(NoteRow).where(
            NoteRow.id != record.id, func.lower(NoteRow.patient) == patient.strip().lower())))
        if when:
            earlier = [r for r in candidates if r.date_of_service and r.date_of_service < when]
        else:
            earlier = [r for r in candidates if r.created_at < record.created_at]
        if not earlier:
            return None
        best = max(earlier, key=lambda r: (r.date_of_service or "", r.created_at))
        note = Note.model_validate_json(_head(s, best).note_json)
    measures = [m for m in note.facts.measures if m.valid and m.timepoint is Timepoint.current]
    return {"id": best.id, "date_of_service": best.date_of_service, "measures": measures}


def current_measures(note: Note) -> list[Measure]:
    return [m for m in note.facts.measures if m.valid and m.timepoint is Timepoint.current]


# --- helpers -----------------------------------------------------------------------------


def parse_note_id(value: str | int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise UsageError(f"{value!r} is not a note ID (a number, as `scribe drafts` lists)") from None
    if number < 1:
        raise UsageError(f"{value!r} is not a note ID")
    return number


def _note_row(s: Session, note_id: int, *, for_update: bool = False) -> NoteRow:
    query = select(NoteRow).where(NoteRow.id == note_id)
    if for_update:
        query = query.with_for_update()
    row = s.scalars(query).first()
    if row is None:
        raise NotFoundError(f"no note {note_id} (scribe drafts lists them)")
    return row


def _head(s: Session, row: NoteRow) -> VersionRow:
    version = s.scalars(select(VersionRow).where(VersionRow.note_id == row.id,
                                                 VersionRow.number == row.head_version)).first()
    if version is None:
        raise NotFoundError(f"note {row.id} has lost its version {row.head_version} (run scribe verify)")
    return version


def _refuse_if_locked(row: NoteRow, what: str) -> None:
    if row.status != NoteStatus.draft.value:
        raise locked_error(row.id, what)


def locked_error(note_id: int, what: str = "edited") -> LockedError:
    return LockedError(f"note {note_id} is signed and locked; it cannot be {what}. "
                       f"Add a signed addendum instead: scribe addendum {note_id} --text-file FILE --by USER")


def _version_info(v: VersionRow) -> VersionInfo:
    return VersionInfo(number=v.number, created_at=v.created_at, author=v.author, summary=v.summary, diff=v.diff,
                       content_hash=v.content_hash)


def _ack_info(a: AcknowledgementRow) -> Acknowledgement:
    return Acknowledgement(rule=a.rule, reason=a.reason, by=a.by, at=a.at, version=a.version)
