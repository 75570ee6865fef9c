"""The one place that chains the stages: input file -> Transcript -> facts -> Note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import __version__
from .billing import compute_units
from .checks import check
from .errors import InputError
from .extract import extract
from .schema import Method, Note, SessionFacts, SessionMeta, Transcript

TEXT_SUFFIXES = {".txt", ".text", ".md"}
# bytes read to decide whether a file is text (NUL bytes mean binary)
SNIFF_BYTES = 8192


def load_text_transcript(path: str | Path) -> Transcript:
    """A UTF-8 transcript file; a missing, empty or binary file is an InputError."""
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", path=str(p))
    if p.is_dir():
        raise InputError("is a directory, expected a transcript file", path=str(p))
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", path=str(p)) from exc
    if b"\x00" in raw[:SNIFF_BYTES]:
        raise InputError("is a binary file, not a UTF-8 transcript", path=str(p))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text (bad byte at offset {exc.start})", path=str(p)) from exc
    if not text.strip():
        raise InputError("is empty: there is no dictation to make a note from", path=str(p))
    return Transcript(text=text, source=str(p))


def load_json_transcript(path: str | Path) -> Transcript:
    """A transcript saved by `scribe transcribe --format json` (words keep their seconds)."""
    p = Path(path)
    try:
        return Transcript.model_validate_json(p.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", path=str(p)) from exc
    except ValueError as exc:
        raise InputError("is not a Scribe transcript (JSON from `scribe transcribe --format json`)", path=str(p)) from exc


_ENGINES: dict[tuple[str | None, str], Any] = {}


def _engine(model: str | None, engine_name: str) -> Any:
    """A Whisper engine loaded once per process and reused for every recording."""
    from .transcribe import load_engine

    key = (model, engine_name)
    if key not in _ENGINES:
        _ENGINES[key] = load_engine(model, engine=engine_name)
    return _ENGINES[key]


def load_transcript(path: str | Path, *, engine: Any = None, model: str | None = None,
                    engine_name: str | None = None) -> Transcript:
    """Any supported input: a .txt transcript, a saved .json transcript, or a recording
    (m4a, mp3, wav, flac, ogg, webm, aac), transcribed offline with Whisper. `engine` is a
    loaded engine to reuse across files; otherwise `model` / `engine_name` choose one."""
    from .audio import AUDIO_EXTENSIONS

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in AUDIO_EXTENSIONS:
        from .transcribe import DEFAULT_ENGINE, transcribe_file

        engine = engine or _engine(model, engine_name or DEFAULT_ENGINE)
        return transcribe_file(p, engine)
    if suffix == ".json":
        return load_json_transcript(p)
    if suffix in TEXT_SUFFIXES or not suffix:
        return load_text_transcript(p)
    raise InputError(
        f"unsupported file type '{p.suffix}': give a recording ({', '.join(sorted(AUDIO_EXTENSIONS))}) "
        "or a UTF-8 .txt transcript", path=str(p)
    )


def build_note(
    transcript: Transcript,
    *,
    meta: SessionMeta | None = None,
    method: Method = Method.cms,
    facts: SessionFacts | None = None,
) -> Note:
    """Extract, bill and check one dictation."""
    facts = facts if facts is not None else extract(transcript)
    meta = meta or SessionMeta()
    timed = facts.timed_minutes()
    units = compute_units(timed, method) if timed else None
    findings = check(facts, meta=meta, method=method)
    return Note(
        meta=meta,
        transcript=transcript,
        facts=facts,
        units=units,
        findings=findings,
        scribe_version=__version__,
    )


def note_from_file(path: str | Path, *, meta: SessionMeta | None = None, method: Method = Method.cms) -> Note:
    return build_note(load_transcript(path), meta=meta, method=method)


def extraction_summary(note: Note) -> dict[str, Any]:
    """The `scribe extract --format json` contract (keys relied on by outside checks).

    Unknown values are null, never guessed.
    """
    f = note.facts
    timed = f.timed_minutes()

    def ev(e) -> dict[str, Any]:
        d = e.model_dump(mode="json")
        if d.get("audio_start") is None:
            d.pop("audio_start", None)
            d.pop("audio_end", None)
        return d

    return {
        "techniques": [
            {
                "category": t.category,
                "name": t.name,
                "status": t.status.value,
                "sets": t.sets,
                "reps": t.reps,
                "duration_seconds": t.duration_seconds,
                "equipment": t.equipment,
                "assist_level": t.assist_level,
                "cues": t.cues,
                "evidence": ev(t.evidence),
                "parameter_evidence": {k: ev(v) for k, v in t.parameter_evidence.items()},
            }
            for t in f.techniques
        ],
        "measures": [
            {
                "measure": m.measure,
                "value": m.value,
                "max": m.max,
                "unit": m.unit,
                "timepoint": m.timepoint.value,
                "valid": m.valid,
                "evidence": ev(m.evidence),
            }
            for m in f.measures
        ],
        "minutes": timed,
        "untimed_minutes": f.untimed_minutes(),
        "minutes_evidence": [
            {"code": m.code, "minutes": m.minutes, "evidence": ev(m.evidence)} for m in f.minutes
        ],
        "total_timed_minutes": sum(timed.values()) if timed else None,
        "total_treatment_minutes": f.total_treatment_minutes,
        "units": dict(note.units.units) if note.units else {},
        "units_method": note.units.method.value if note.units else None,
        "total_units": note.units.total_units if note.units else 0,
        "telehealth": f.telehealth.telehealth,
        "telehealth_detail": f.telehealth.model_dump(mode="json", exclude={"evidence"}),
        "impairments": sorted({m.id for m in f.impairments}),
        "diagnoses": [{"id": d.id, "side": d.side, "evidence": ev(d.evidence)} for d in f.diagnoses],
        "assist_levels": sorted({m.id for m in f.assist_levels}),
        "cues": sorted({m.id for m in f.cues}),
        "goals": [s.text for s in f.goals],
        "functional_changes": [s.text for s in f.functional_changes],
        "functional_limitations": [s.text for s in f.functional_limitations],
        "findings": [
            {"rule": x.rule, "severity": x.severity.value, "message": x.message, "fix": x.fix}
            for x in note.findings
        ],
    }
