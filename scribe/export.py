"""Exports of a stored note: Markdown, HTML, PDF (WeasyPrint) and a FHIR document Bundle.

Markdown and HTML are the note as `render()` writes it, with the status of the stored
record (signed, awaiting co-signature, draft) and a signature record under it:
signatures, acknowledged findings and addenda, each signed and dated. The PDF is that
HTML printed by WeasyPrint, which fetches nothing from outside. The FHIR Bundle (R4
family; validated with fhir.resources' R4B models) holds a Composition for the note,
Observations for today's outcome measures (LOINC where scribe/data/measures.json has
a code), the Patient when named, and the signing Practitioners.
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Callable
from typing import Any

import jinja2

from .datafiles import measure_table
from .render import DRAFT_STATUS, render
from .schema import Measure
from .store.errors import ExportError
from .store.records import STATUS_LABEL, NoteRecord, NoteStatus

FORMATS = ("pdf", "fhir", "md", "html")
TO_RESOLVE = "to resolve before signing"  # wording of the note templates' findings alert
MEDIA_TYPES = {"pdf": "application/pdf", "fhir": "application/fhir+json", "md": "text/markdown; charset=utf-8",
               "html": "text/html; charset=utf-8"}
EXTENSIONS = {"pdf": ".pdf", "fhir": ".fhir.json", "md": ".md", "html": ".html"}

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PROGRESS_NOTE = {"system": LOINC, "code": "11506-3", "display": "Progress note"}  # LOINC document type
XHTML = "http://www.w3.org/1999/xhtml"
# Scribe's measure units -> UCUM (value, code); "points" are scores
UCUM_UNITS = {"points": ("score", "{score}"), "seconds": ("s", "s"), "percent": ("%", "%"), "meters": ("m", "m"),
              "feet": ("ft", "[ft_i]"), "inches": ("in", "[in_i]"), "cm": ("cm", "cm"), "m/s": ("m/s", "m/s")}
SELF_REPORT = {"abc_scale"}  # questionnaires: category "survey"; performance tests are "exam"
ID_NAMESPACE = uuid.UUID("6f1f8a1c-2b7e-4c55-9d0e-5c0a7e1b2d43")  # Scribe's namespace for stable resource IDs

def when(stamp: str) -> str:
    """'2025-03-14T15:09:26.535897Z' -> '2025-03-14 15:09 UTC' (stored times are UTC)."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if len(stamp) >= 16 and stamp[10] == "T" else stamp


_JINJA = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_JINJA.filters["when"] = when
RECORD_HTML = _JINJA.from_string("""\
<section id="signature-record">
<h2>Signature record</h2>
<p><b>{{ status }}</b></p>
{% for s in signatures %}
<p>{{ "Co-signed" if s.role == "cosigner" else "Electronically signed" }} by {{ s.name }}, {{ s.credentials|join(", ") }}
 ({{ s.username }}) on {{ s.signed_at|when }}; version {{ s.version }}, content SHA-256 <code>{{ s.content_hash[:16] }}…</code></p>
{% endfor %}
{% if acknowledgements %}
<h3>Findings acknowledged before signing</h3>
<ul>
{% for a in acknowledgements %}
  <li><span class="rule">{{ a.rule }}</span>: {{ a.reason }} ({{ a.by }}, {{ a.at|when }})</li>
{% endfor %}
</ul>
{% endif %}
{% for a in addenda %}
<h3>Addendum {{ a.number }} — signed by {{ a.name }}, {{ a.credentials|join(", ") }} on {{ a.signed_at|when }}</h3>
<p class="addendum">{{ a.text }}</p>
{% endfor %}
</section>
""")


def export_note(record: NoteRecord, fmt: str) -> bytes:
    """The note in `fmt` (pdf, fhir, md, html) as bytes."""
    try:
        writer = WRITERS[fmt]
    except KeyError:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}") from None
    return writer(record)


# --- Markdown and HTML ---------------------------------------------------------------------


def status_line(record: NoteRecord) -> str:
    """'Electronically signed by Jane Doe, PT, DPT on 2025-03-14 15:09 UTC — locked', or the draft status."""
    if record.status is NoteStatus.draft:
        return DRAFT_STATUS
    author = record.signatures[0]
    line = f"Electronically signed by {author.name}, {', '.join(author.credentials)} on {when(author.signed_at)}"
    if record.status is NoteStatus.awaiting_cosign:
        return line + " — awaiting co-signature"
    cosigner = next((s for s in record.signatures if s.role == "cosigner"), None)
    if cosigner:
        line += f"; co-signed by {cosigner.name}, {', '.join(cosigner.credentials)} on {when(cosigner.signed_at)}"
    return line + " — locked"


def _with_status(text: str, record: NoteRecord) -> str:
    """The rendered note with the record's status in place of the draft status."""
    if record.status is NoteStatus.draft:
        return text
    label = STATUS_LABEL[record.status]
    text = text.replace(DRAFT_STATUS, label).replace(DRAFT_STATUS.upper(), label.upper())
    return text.replace(TO_RESOLVE, "reviewed before signing")


def note_text(record: NoteRecord) -> str:
    """Plain text: the note, then the signature record (the FHIR narrative)."""
    lines = ["", "SIGNATURE RECORD", status_line(record) + "."]
    for s in record.signatures[1:]:
        lines.append(f"Co-signed by {s.name}, {', '.join(s.credentials)} on {when(s.signed_at)}.")
    lines += [f"Acknowledged {a.rule}: {a.reason} ({a.by}, {when(a.at)})" for a in record.acknowledgements]
    return _with_status(render(record.note, "txt"), record).rstrip("\n") + "\n" + "\n".join(lines) + "\n"


def note_markdown(record: NoteRecord) -> str:
    text = _with_status(render(record.note, "md"), record)
    lines = ["", "## Signature record", "", f"*{status_line(record)}.*", ""]
    for s in record.signatures:
        verb = "Co-signed" if s.role == "cosigner" else "Electronically signed"
        lines.append(f"- {verb} by {_md(s.name)}, {', '.join(s.credentials)} ({s.username}) on {when(s.signed_at)}; "
                     f"version {s.version}, content SHA-256 `{s.content_hash}`")
    if record.acknowledgements:
        lines += ["", "### Findings acknowledged before signing", ""]
        lines += [f"- {a.rule}: {_md(a.reason)} ({a.by}, {when(a.at)})" for a in record.acknowledgements]
    for a in record.addenda:
        heading = (f"### Addendum {a.number} — signed by {_md(a.name)}, {', '.join(a.credentials)} "
                   f"on {when(a.signed_at)}")
        lines += ["", heading, "", _md(a.text), "", f"Content SHA-256 `{a.content_hash}`"]
    return text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


def note_html(record: NoteRecord) -> str:
    page = _with_status(render(record.note, "html"), record)
    if record.signatures:
        first = record.signatures[0]
        signed = html.escape(f"Electronically signed by {first.name}, {', '.join(first.credentials)}")
        page = page.replace('<dt>Signature</dt><dd><span class="line"></span></dd>',
                            f"<dt>Signature</dt><dd>{signed}</dd>")
        page = page.replace('<dt>Date signed</dt><dd><span class="line"></span></dd>',
                            f"<dt>Date signed</dt><dd>{html.escape(when(first.signed_at))}</dd>")
    section = RECORD_HTML.render(status=status_line(record), signatures=record.signatures,
                                 acknowledgements=record.acknowledgements, addenda=record.addenda)
    at = page.rfind("<footer")
    at = at if at != -1 else page.rfind("</main>")
    return page[:at] + section + page[at:] if at != -1 else page + section


def _md(text: str) -> str:
    out = " ".join(str(text).split()).replace("\\", "\\\\")
    for ch in "`*_<>|[]":
        out = out.replace(ch, "\\" + ch)
    return out


# --- PDF -------------------------------------------------------------------------------------


def note_pdf(record: NoteRecord) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango missing (apt-get install libpango-1.0-0 libpangoft2-1.0-0)
        raise ExportError(f"PDF export needs WeasyPrint and Pango: {exc}") from exc
    return weasyprint.HTML(string=note_html(record), url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict:
    """WeasyPrint fetches nothing: the note is self-contained, and nothing leaves the machine."""
    raise ValueError(f"external resource refused: {url[:80]}")


# --- FHIR --------------------------------------------------------------------------------------


def fhir_bundle(record: NoteRecord) -> dict:
    """A FHIR document Bundle (dict) for the note, validated; ExportError when invalid."""
    bundle = _bundle(record)
    validate_fhir(bundle)
    return bundle


def validate_fhir(bundle: dict) -> None:
    try:
        from fhir.resources.R4B.bundle import Bundle
    except ImportError as exc:
        raise ExportError("FHIR export needs fhir.resources (pip install fhir.resources)") from exc
    try:
        Bundle.model_validate(bundle)
    except ValueError as exc:
        first = str(exc).splitlines()
        raise ExportError(f"the FHIR bundle does not validate: {' '.join(first[:3])}") from exc


def _bundle(record: NoteRecord) -> dict:
    note = record.note
    signed = record.status is not NoteStatus.draft
    anchor = record.signatures[0].content_hash if signed else record.versions[-1].content_hash
    ids = _Ids(record.id, anchor)
    stamp = record.signatures[-1].signed_at if signed else record.versions[-1].created_at
    dos = note.meta.date_of_service.isoformat() if note.meta.date_of_service else None

    entries: list[dict] = []
    patient_ref = None
    if note.meta.patient:
        patient = {"resourceType": "Patient", "id": ids.new("patient"), "name": [{"text": note.meta.patient}]}
        patient_ref = ids.ref(patient["id"])
        entries.append(patient)
    practitioners = []
    for s in record.signatures:
        practitioners.append({"resourceType": "Practitioner", "id": ids.new(f"practitioner/{s.username}"),
                              "name": [{"text": s.name}],
                              "qualification": [{"code": {"text": c}} for c in s.credentials]})
    device = None
    if not practitioners:
        device = {"resourceType": "Device", "id": ids.new("device"),
                  "deviceName": [{"name": f"Scribe {note.scribe_version}", "type": "user-friendly-name"}]}
    authors = [ids.ref(p["id"]) for p in practitioners] or [ids.ref(device["id"])]
    observations = [_observation(m, ids, status="final" if record.status is NoteStatus.signed else "preliminary",
                                 subject=patient_ref, effective=dos, performers=authors if practitioners else [])
                    for m in note.facts.measures if m.valid and m.timepoint.value == "current"]

    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": ids.new("composition"),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{ids.uuid('note')}"},
        "status": _composition_status(record),
        "type": {"coding": [PROGRESS_NOTE], "text": "Daily treatment note"},
        "date": stamp,
        "author": authors,
        "title": f"Daily treatment note — {note.meta.patient or 'patient not stated'} — {dos or 'date not stated'}",
        "section": [{"title": "Daily note", "text": _narrative(note_text(record))}],
    }
    if patient_ref:
        composition["subject"] = patient_ref
    if signed:
        composition["attester"] = [{"mode": "legal" if s.role == "author" else "professional", "time": s.signed_at,
                                    "party": ids.ref(p["id"])} for s, p in zip(record.signatures, practitioners)]
    if observations:
        composition["section"].append({
            "title": "Outcome measures",
            "text": _narrative("\n".join(_measure_line(m) for m in note.facts.measures
                                         if m.valid and m.timepoint.value == "current")),
            "entry": [ids.ref(o["id"]) for o in observations]})
    for a in record.addenda:
        composition["section"].append({
            "title": f"Addendum {a.number} — signed by {a.name}, {', '.join(a.credentials)} on {when(a.signed_at)}",
            "text": _narrative(a.text)})

    resources = [composition, *entries, *practitioners, *([device] if device else []), *observations]
    return {
        "resourceType": "Bundle",
        "id": ids.new("bundle"),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{ids.uuid('bundle-identifier')}"},
        "type": "document",
        "timestamp": stamp,
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


class _Ids:
    """Stable resource IDs: the same note content always exports the same IDs."""

    def __init__(self, note_id: int, anchor: str):
        self.seed = f"scribe/{note_id}/{anchor}"
        self.count = 0

    def uuid(self, name: str) -> str:
        return str(uuid.uuid5(ID_NAMESPACE, f"{self.seed}/{name}"))

    def new(self, name: str) -> str:
        self.count += 1
        return self.uuid(f"{name}/{self.count}")

    @staticmethod
    def ref(resource_id: str) -> dict:
        return {"reference": f"urn:uuid:{resource_id}"}


def _composition_status(record: NoteRecord) -> str:
    if record.status is NoteStatus.signed:
        return "amended" if record.addenda else "final"
    return "preliminary"


def _narrative(text: str) -> dict:
    return {"status": "generated", "div": f'<div xmlns="{XHTML}"><pre>{html.escape(text.strip(), quote=False)}</pre></div>'}


def _observation(m: Measure, ids: _Ids, *, status: str, subject: dict | None, effective: str | None,
                 performers: list[dict]) -> dict:
    definition = measure_table().get(m.measure)
    name = definition.name if definition else m.measure.replace("_", " ")
    code: dict[str, Any] = {"text": name}
    if definition and definition.loinc:
        code["coding"] = [{"system": LOINC, "code": definition.loinc, "display": name}]
    unit, ucum = UCUM_UNITS.get(m.unit, (m.unit, None))
    quantity: dict[str, Any] = {"value": m.value, "unit": unit}
    if ucum:
        quantity.update(system=UCUM, code=ucum)
    category = "survey" if m.measure in SELF_REPORT else "exam"
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ids.new(f"observation/{m.measure}"),
        "status": status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category,
                                  "display": category.capitalize()}]}],
        "code": code,
        "valueQuantity": quantity,
        "note": [{"text": f"Dictated: \u201c{m.evidence.text}\u201d"}],
    }
    if subject:
        obs["subject"] = subject
    if effective:
        obs["effectiveDateTime"] = effective
    if performers:
        obs["performer"] = performers
    if m.side:
        obs["bodySite"] = {"text": m.side}
    return obs


def _measure_line(m: Measure) -> str:
    definition = measure_table().get(m.measure)
    name = definition.name if definition else m.measure
    value = f"{m.value:g}" + (f"/{m.max:g}" if m.max is not None else f" {m.unit}")
    return f"{name}{f' ({m.side})' if m.side else ''}: {value}"


def _fhir_bytes(record: NoteRecord) -> bytes:
    return (json.dumps(fhir_bundle(record), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


WRITERS: dict[str, Callable[[NoteRecord], bytes]] = {
    "pdf": note_pdf,
    "fhir": _fhir_bytes,
    "md": lambda record: note_markdown(record).encode("utf-8"),
    "html": lambda record: note_html(record).encode("utf-8"),
}
