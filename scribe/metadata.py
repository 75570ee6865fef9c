"""Session metadata of a recording: who, when and for whom, from four sources in order.

1. a manifest CSV (`scribe batch --manifest FILE`), one row per file;
2. a sidecar beside the recording: NAME.json, NAME.yaml or NAME.yml (for NAME.m4a);
3. the file name, when it follows FILE_NAME_PATTERNS, e.g. `2026-11-26_PT-0042_jdoe.m4a`
   (date of service, patient ID, therapist);
4. what the therapist said, only where it is said outright ("Patient is Marcus Lee",
   "date of service November 26, 2026", "ICD-10 code R26.81").

Each field comes from the first source that gives it; the source is recorded. Nothing
is guessed: a field no source gives stays None and becomes a finding
(`session_metadata_missing`), and the date of service never defaults to today. Sources
that disagree are a finding too (`session_metadata_conflict`), and a value heard in the
dictation is one to confirm (`session_metadata_from_dictation`).

Manifest and sidecar keys (unknown keys are an error that names the file):
  file (manifest only: the path relative to the batch folder, or a unique file name),
  patient, date_of_service (YYYY-MM-DD), therapist, credentials, payer,
  diagnosis_codes (a list, or one string of codes separated by ';', ',' or spaces).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .errors import InputError, UsageError
from .schema import Evidence, Finding, SessionMeta, Severity, Transcript

FIELDS = ("patient", "date_of_service", "therapist", "credentials", "payer", "diagnosis_codes")
# Fields a note needs; a missing one is a finding (credentials come with a signature).
REQUIRED_FIELDS = ("patient", "date_of_service", "therapist", "payer", "diagnosis_codes")
FIELD_LABELS = {"patient": "patient", "date_of_service": "date of service", "therapist": "therapist",
                "credentials": "credentials", "payer": "payer", "diagnosis_codes": "diagnosis codes"}
SOURCES = ("manifest", "sidecar", "file name", "dictation")  # highest priority first
SIDECAR_SUFFIXES = (".json", ".yaml", ".yml")
MANIFEST_FILE_COLUMN = "file"
MANIFEST_COLUMN_ALIASES = {"date": "date_of_service", "dos": "date_of_service",
                           "patient_id": "patient", "diagnoses": "diagnosis_codes",
                           "icd10": "diagnosis_codes"}
CODE_SEPARATORS = re.compile(r"[;,\s]+")
# ICD-10-CM: a letter (not U), two characters, then an optional dot and up to 4 more
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
SIDECAR_MAX_BYTES = 64 * 1024  # a sidecar is a few lines; a bigger file is not one

# File names: a full date, then IDs without underscores. A patient ID holds a digit, so
# "2026-11-26_notes.m4a" gives only the date, never a patient called "notes".
_DATE = r"(?P<date_of_service>\d{4}-\d{2}-\d{2})"
_PATIENT = r"(?P<patient>[A-Za-z]*-?\d[A-Za-z0-9-]*)"
_THERAPIST = r"(?P<therapist>[A-Za-z][A-Za-z.-]*)"
FILE_NAME_PATTERNS = (
    re.compile(rf"^{_DATE}_{_PATIENT}_{_THERAPIST}(?:_.*)?$"),  # 2026-11-26_PT-0042_jdoe[_2]
    re.compile(rf"^{_DATE}_{_PATIENT}(?:_.*)?$"),  # 2026-11-26_PT-0042[_anything]
    re.compile(rf"^{_DATE}(?:_.*)?$"),  # 2026-11-26[_anything]
)
FILE_NAME_EXAMPLE = "2026-11-26_PT-0042_jdoe.m4a"

# What was said: only explicit statements, each with a cue phrase in front of the value.
_NAME = r"(?P<value>(?:(?:Mr|Mrs|Ms|Miss|Dr)\.? )?[A-Z][a-z'-]+(?: [A-Z][a-z'-]+){0,2})"
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december")
_SPOKEN_DATE = rf"(?:{_MONTHS}) \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}"
_CREDENTIALS = r"DPT|PTA|PT|OTR/L|OTR|OTA|OT|COTA"
# capitalized words after a cue that are not names ("note for Monday", "this is for Medicare")
NOT_NAMES = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday the this that "
    "medicare medicaid physical occupational therapy treatment neuro balance gait".split()
    + _MONTHS.split("|"))
SPOKEN_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    "patient": (
        re.compile(rf"\b(?:[Pp]atient(?:'s name)? is|[Pp]atient name:?|[Nn]ote for|[Tt]his is for|[Pp]atient,) "
                   rf"{_NAME}\b"),
    ),
    "date_of_service": (
        re.compile(rf"\b[Dd]ate of service(?: is|:|,)? (?P<value>{_SPOKEN_DATE})", re.IGNORECASE),
    ),
    "therapist": (
        re.compile(r"\b(?:[Tt]his is|[Dd]ictated by|[Tt]herapist(?: is|:)) (?P<value>[A-Z][a-z'-]+ [A-Z][a-z'-]+), "
                   rf"(?P<credentials>{_CREDENTIALS})\b"),
    ),
    "payer": (
        re.compile(r"\b(?:[Pp]ayer|[Ii]nsurance|[Ii]nsurer)(?: is|:) "
                   r"(?P<value>[A-Z][A-Za-z&-]*(?: [A-Z][A-Za-z&-]*){0,3})"),
    ),
    "diagnosis_codes": (
        re.compile(r"\b(?:ICD(?:-?10)?(?: code)?|[Dd]iagnosis code)(?: is|:)? "
                   r"(?P<value>[A-TV-Z]\d{2}(?:\.\d{1,4}[A-Z]?)?)\b"),
    ),
}


@dataclass(frozen=True)
class Layer:
    """One source's fields (only those it gives) and, for the dictation, the words."""

    source: str
    fields: Mapping[str, Any]
    evidence: Mapping[str, Evidence] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    meta: SessionMeta
    sources: dict[str, str]  # field -> the source it came from
    findings: list[Finding]


# --- values --------------------------------------------------------------------------------


def _date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    for fmt in ("%B %d %Y", "%B %d, %Y"):
        try:
            return datetime.strptime(re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text), fmt).date()
        except ValueError:
            continue
    raise InputError(f"{where}: date_of_service {text!r} is not a date; write it as YYYY-MM-DD")


def _codes(value: Any, where: str) -> list[str]:
    items = value if isinstance(value, list) else CODE_SEPARATORS.split(str(value))
    codes = [str(c).strip().upper() for c in items if str(c).strip()]
    bad = [c for c in codes if not ICD10.match(c)]
    if bad:
        raise InputError(f"{where}: diagnosis code {bad[0]!r} is not an ICD-10 code (e.g. R26.81)")
    return codes


def clean_fields(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Known keys only, blank values dropped, dates and codes checked (InputError names `where`)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = MANIFEST_COLUMN_ALIASES.get(str(key).strip().lower(), str(key).strip().lower())
        if name not in FIELDS:
            raise InputError(f"{where}: unknown key {key!r}; use {', '.join(FIELDS)}")
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            continue
        if name == "date_of_service":
            out[name] = _date(value, where)
        elif name == "diagnosis_codes":
            out[name] = _codes(value, where)
        else:
            out[name] = " ".join(str(value).split())
    return out


# --- the sources ---------------------------------------------------------------------------


class Manifest:
    """A manifest CSV: rows by relative path (and by bare file name where that is unique)."""

    def __init__(self, rows: dict[str, dict[str, Any]], path: str):
        self.path = path
        self.rows = rows
        names: dict[str, list[str]] = {}
        for rel in rows:
            names.setdefault(rel.rsplit("/", 1)[-1], []).append(rel)
        self._by_name = {n: rels[0] for n, rels in names.items() if len(rels) == 1}
        self.used: set[str] = set()

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Read and check the whole CSV (UsageError on a bad column, date or duplicate row)."""
        p = Path(path)
        try:
            with p.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                columns = [c.strip().lower() for c in (reader.fieldnames or [])]
                if MANIFEST_FILE_COLUMN not in columns:
                    raise UsageError(f"{p}: the manifest needs a '{MANIFEST_FILE_COLUMN}' column "
                                     f"(then any of {', '.join(FIELDS)})")
                rows: dict[str, dict[str, Any]] = {}
                for lineno, row in enumerate(reader, start=2):
                    row = {(k or "").strip().lower(): v for k, v in row.items()}
                    if None in row or "" in row:
                        raise UsageError(f"{p}: line {lineno}: more values than columns")
                    rel = (row.pop(MANIFEST_FILE_COLUMN) or "").strip().replace("\\", "/").lstrip("./")
                    if not rel:
                        continue
                    if rel in rows:
                        raise UsageError(f"{p}: line {lineno}: a second row for {rel!r}")
                    try:
                        rows[rel] = clean_fields(row, f"{p.name} line {lineno}")
                    except InputError as exc:
                        raise UsageError(exc.message, path=str(p)) from None
        except OSError as exc:
            raise UsageError(f"the manifest cannot be read: {exc.strerror}", path=str(p)) from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UsageError(f"the manifest is not a UTF-8 CSV file ({exc})", path=str(p)) from exc
        return cls(rows, str(p))

    def row(self, rel: str) -> dict[str, Any] | None:
        key = rel if rel in self.rows else self._by_name.get(rel.rsplit("/", 1)[-1])
        if key is None:
            return None
        self.used.add(key)
        return self.rows[key]

    def unused(self) -> list[str]:
        """Rows that matched no file (a typo in a name, or a recording not yet copied)."""
        return sorted(set(self.rows) - self.used)


def sidecar_paths(path: Path) -> list[Path]:
    """The sidecar files a recording may have (NAME.json, NAME.yaml, NAME.yml)."""
    return [path.with_suffix(s) for s in SIDECAR_SUFFIXES if path.suffix.lower() != s]


def read_sidecar(path: Path) -> tuple[dict[str, Any], str] | None:
    """Fields of the recording's sidecar and its text, or None; InputError for a bad one."""
    found = [p for p in sidecar_paths(path) if p.is_file()]
    if not found:
        return None
    if len(found) > 1:
        raise InputError(f"has two sidecars ({', '.join(p.name for p in found)}); keep one")
    side = found[0]
    try:
        if side.stat().st_size > SIDECAR_MAX_BYTES:
            raise InputError(f"sidecar {side.name} is over {SIDECAR_MAX_BYTES // 1024} KB; it is not metadata")
        text = side.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"sidecar {side.name} cannot be read ({exc})") from exc
    try:
        if side.suffix == ".json":
            raw = json.loads(text)
        else:
            try:
                import yaml
            except ImportError:
                raise InputError(f"sidecar {side.name} needs PyYAML: pip install pyyaml "
                                 f"(or write {side.stem}.json)") from None
            raw = yaml.safe_load(text)
    except InputError:
        raise
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError: one line either way
        raise InputError(f"sidecar {side.name} does not parse: {' '.join(str(exc).split())}") from exc
    if raw is None:
        raw = {}
    if isinstance(raw, dict) and "text" in raw and {"segments", "source"} & raw.keys():
        return None  # a transcript saved by `scribe transcribe --format json`, not metadata
    if not isinstance(raw, dict):
        raise InputError(f"sidecar {side.name} must be a mapping of {', '.join(FIELDS)}")
    return clean_fields(raw, f"sidecar {side.name}"), text


def from_file_name(path: str | Path) -> dict[str, Any]:
    """Fields of a name that follows FILE_NAME_PATTERNS (an invalid date gives nothing)."""
    stem = Path(path).name.split(".")[0]
    for pattern in FILE_NAME_PATTERNS:
        m = pattern.match(stem)
        if m:
            try:
                day = date.fromisoformat(m["date_of_service"])
            except ValueError:
                return {}
            return {**{k: v for k, v in m.groupdict().items() if v}, "date_of_service": day}
    return {}


def from_dictation(transcript: Transcript) -> Layer:
    """Fields stated outright in the dictation, each with the words it came from."""
    text = transcript.text
    fields: dict[str, Any] = {}
    evidence: dict[str, Evidence] = {}
    for name, patterns in SPOKEN_PATTERNS.items():
        for pattern in patterns:
            hits = list(pattern.finditer(text))
            values = []
            for m in hits:
                if name in ("patient", "therapist") and m["value"].split()[0].lower() in NOT_NAMES:
                    continue
                try:
                    value = clean_fields({name: m["value"]}, "dictation")[name]
                except InputError:
                    continue
                values.append((value, m))
            if not values:
                continue
            if name == "diagnosis_codes":
                fields[name] = list(dict.fromkeys(c for v, _ in values for c in v))
            elif len({str(v) for v, _ in values}) > 1:
                continue  # said two different ways: not a fact to take
            else:
                fields[name] = values[0][0]
            m = values[0][1]
            start, end = m.start(), m.end()
            audio_start, audio_end = transcript.audio_span(start, end)
            evidence[name] = Evidence(text=text[start:end], start=start, end=end, audio_start=audio_start,
                                      audio_end=audio_end, confidence=transcript.confidence(start, end))
            if name == "therapist" and m.groupdict().get("credentials"):
                fields.setdefault("credentials", m["credentials"])
                evidence.setdefault("credentials", evidence[name])
            break
    return Layer("dictation", fields, evidence)


# --- merging -------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(value)
    return value.isoformat() if isinstance(value, date) else str(value)


def resolve(layers: Iterable[Layer]) -> Resolved:
    """SessionMeta from layers in priority order, with the findings a reviewer needs."""
    layers = list(layers)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    findings: list[Finding] = []
    conflicts: list[str] = []
    for layer in layers:
        for name, value in layer.fields.items():
            if name not in values:
                values[name] = value
                sources[name] = layer.source
            elif _norm(values[name]) != _norm(value):
                conflicts.append(f"{FIELD_LABELS[name]}: {sources[name]} says '{_shown(values[name])}', "
                                 f"{layer.source} says '{_shown(value)}'")
    missing = [FIELD_LABELS[k] for k in REQUIRED_FIELDS if k not in values]
    if missing:
        findings.append(Finding(
            rule="session_metadata_missing", severity=Severity.warning,
            message=f"Not given for this recording: {', '.join(missing)}. Scribe does not guess them.",
            fix=(f"Add them to the manifest CSV (--manifest), a sidecar NAME.json or NAME.yaml beside the "
                 f"recording, or name the file like {FILE_NAME_EXAMPLE}; or fill them in on review."),
        ))
    if conflicts:
        findings.append(Finding(
            rule="session_metadata_conflict", severity=Severity.warning,
            message="The metadata sources disagree (the first is used): " + "; ".join(conflicts) + ".",
            fix="Correct the manifest, sidecar or file name so they agree.",
        ))
    spoken = [layer for layer in layers if layer.source == "dictation"]
    heard = [k for k, s in sources.items() if s == "dictation"]
    if heard:
        ev = spoken[0].evidence
        findings.append(Finding(
            rule="session_metadata_from_dictation", severity=Severity.info,
            message="Taken from what was said, so confirm them: "
                    + "; ".join(f"{FIELD_LABELS[k]} '{_shown(values[k])}'" for k in heard) + ".",
            fix="Check each against the schedule; put it in the manifest or a sidecar to be sure.",
            evidence=list({(e.start, e.end): e for e in (ev[k] for k in heard if k in ev)}.values()),
        ))
    return Resolved(SessionMeta(**values), sources, findings)


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.lower().split())
    if isinstance(value, list):
        return sorted(str(v).upper() for v in value)
    return value


def external_layers(path: Path, rel: str, manifest: Manifest | None) -> list[Layer]:
    """Manifest row, sidecar and file name of one recording (InputError for a bad sidecar)."""
    layers = []
    row = manifest.row(rel) if manifest is not None else None
    if row:
        layers.append(Layer("manifest", row))
    side = read_sidecar(path)
    if side is not None and side[0]:
        layers.append(Layer("sidecar", side[0]))
    named = from_file_name(path)
    if named:
        layers.append(Layer("file name", named))
    return layers


def layers_fingerprint(layers: Iterable[Layer]) -> list[list[Any]]:
    """The layers as JSON-able data, for the resume key (a changed sidecar redoes the note)."""
    return [[layer.source, sorted((k, _shown(v)) for k, v in layer.fields.items())] for layer in layers]
