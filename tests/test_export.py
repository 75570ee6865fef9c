"""Exports of stored notes: Markdown and HTML with the signature record, a PDF that
renders (WeasyPrint), and a FHIR document Bundle that validates (fhir.resources)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from scribe import cli as main_cli
from scribe.export import export_note, fhir_bundle, note_html, note_markdown, validate_fhir
from scribe.pipeline import note_from_file
from scribe.schema import Note, SessionMeta
from scribe.store import ExportError, add_addendum, add_user, create_draft, get_record, sign_note, users
from scribe.store.cli import add_parsers
from scribe.store.models import AuditRow

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "transcripts"
STROKE = SAMPLES / "01_stroke_right_hemiparesis.txt"
PASSPHRASE = "correct horse battery"
HAS_FHIR = importlib.util.find_spec("fhir") is not None and importlib.util.find_spec("fhir.resources") is not None


def _weasyprint_works() -> bool:
    try:
        import weasyprint  # noqa: F401  - needs Debian's Pango
    except (ImportError, OSError):
        return False
    return True


@cache
def sample_note(path: Path = STROKE) -> Note:
    return note_from_file(path, meta=SessionMeta(patient="Daniel Okafor", date_of_service=date(2025, 3, 7)))


@pytest.fixture(autouse=True)
def fast_scrypt(monkeypatch):
    monkeypatch.setattr(users, "SCRYPT_LOG2_N", 10)
    monkeypatch.setattr(users, "SCRYPT_P", 1)


@pytest.fixture
def store(store):
    """The shared empty store (conftest.py) with the signing user."""
    add_user(store, "jdoe", name="Jane Doe", credentials="PT,DPT", passphrase=PASSPHRASE)
    return store


@pytest.fixture
def signed(store):
    """A signed note with an addendum whose text would be markup if not escaped."""
    note_id = create_draft(store, sample_note())
    sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE)
    add_addendum(store, note_id, "Called 3/15: no falls <b>since</b> visit & walking daily.",
                 username="jdoe", passphrase=PASSPHRASE)
    return get_record(store, note_id)


@pytest.fixture
def scribe(monkeypatch):
    original = main_cli.build_parser

    def build():
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "drafts" not in sub.choices:
            add_parsers(sub)
        return parser

    monkeypatch.setattr(main_cli, "build_parser", build)
    return lambda *argv: main_cli.main([str(a) for a in argv])


# --- Markdown and HTML -------------------------------------------------------------------------


def test_markdown_shows_the_signature_and_addenda_under_the_note(signed):
    text = note_markdown(signed)
    assert "Draft — not signed" not in text and "Signed — locked" in text
    record_at = text.index("## Signature record")
    assert text.index("## Time and units") < record_at < text.index("### Addendum 1 — signed by Jane Doe, PT, DPT")
    assert "Electronically signed by Jane Doe, PT, DPT (jdoe)" in text
    assert signed.signatures[0].content_hash in text
    assert r"no falls \<b\>since\</b\> visit" in text


def test_html_escapes_dictated_and_typed_text(signed):
    page = note_html(signed)
    assert "Signed — locked" in page and "Electronically signed by Jane Doe, PT, DPT" in page
    assert "no falls &lt;b&gt;since&lt;/b&gt; visit &amp; walking daily." in page
    assert "<b>since</b>" not in page
    assert page.index('id="signature-record"') < page.index("<footer")


def test_a_draft_exports_as_a_draft(store):
    record = get_record(store, create_draft(store, sample_note()))
    assert "Draft — not signed" in note_markdown(record)
    assert "Electronically signed" not in note_html(record)


# --- PDF ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not _weasyprint_works(),
                    reason="PDF export needs WeasyPrint and Pango (apt-get install -y libpango-1.0-0 libpangoft2-1.0-0)")
def test_the_pdf_renders_with_the_signature_record(signed, tmp_path):
    pdf = export_note(signed, "pdf")
    assert pdf.startswith(b"%PDF-")
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.skip("poppler-utils (pdftotext, pdftoppm) not installed: the PDF was made but not read back")
    path = tmp_path / "note.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for words in ("Daily Treatment Note", "Daniel Okafor", "Berg Balance Scale", "SIGNED — LOCKED",
                  "Electronically signed by Jane Doe, PT, DPT", "Addendum 1", "no falls <b>since</b> visit"):
        assert words in text, words
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages and all(p.stat().st_size > 2000 for p in pages)  # real pages, not blank


# --- FHIR --------------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_FHIR, reason="FHIR validation needs fhir.resources (pip install fhir.resources)")
def test_the_fhir_bundle_is_a_valid_document(signed):
    bundle = fhir_bundle(signed)
    validate_fhir(bundle)  # fhir.resources R4B models
    assert bundle["type"] == "document" and bundle["timestamp"] == signed.signatures[-1].signed_at
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Composition" and kinds.count("Observation") == 2
    assert {"Patient", "Practitioner"} <= set(kinds)
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in bundle["entry"])
    composition = bundle["entry"][0]["resource"]
    assert composition["status"] == "amended"  # signed, with an addendum
    assert composition["type"]["coding"][0]["code"] == "11506-3"
    assert composition["attester"][0]["mode"] == "legal"
    assert [s["title"].split(" — ")[0] for s in composition["section"]] == ["Daily note", "Outcome measures",
                                                                             "Addendum 1"]
    assert "Electronically signed by Jane Doe" in composition["section"][0]["text"]["div"]
    observations = {e["resource"]["code"]["text"]: e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Observation"}
    tug, berg = observations["Timed Up and Go"], observations["Berg Balance Scale"]
    assert tug["code"]["coding"] == [{"system": "http://loinc.org", "code": "89423-8", "display": "Timed Up and Go"}]
    assert tug["valueQuantity"] == {"value": 14.2, "unit": "s", "system": "http://unitsofmeasure.org", "code": "s"}
    assert "coding" not in berg["code"]  # no LOINC code recorded for it: none invented
    assert berg["valueQuantity"]["value"] == 44 and berg["status"] == "final"
    assert berg["effectiveDateTime"] == "2025-03-07"
    assert berg["subject"] == composition["subject"]


@pytest.mark.skipif(not HAS_FHIR, reason="FHIR validation needs fhir.resources (pip install fhir.resources)")
def test_a_draft_bundle_is_preliminary_and_authored_by_scribe(store):
    record = get_record(store, create_draft(store, sample_note()))
    bundle = fhir_bundle(record)
    composition = bundle["entry"][0]["resource"]
    assert composition["status"] == "preliminary" and "attester" not in composition
    device = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Device")
    assert composition["author"] == [{"reference": f"urn:uuid:{device['id']}"}]
    assert export_note(record, "fhir") == export_note(record, "fhir")  # same content, same bytes


@pytest.mark.skipif(not HAS_FHIR, reason="FHIR validation needs fhir.resources (pip install fhir.resources)")
def test_an_invalid_bundle_is_an_export_error():
    with pytest.raises(ExportError, match="does not validate"):
        validate_fhir({"resourceType": "Bundle", "type": "document", "timestamp": "yesterday",
                       "entry": [{"resource": {"resourceType": "Observation", "status": "final"}}]})


def test_unknown_export_formats_are_refused(signed):
    with pytest.raises(ExportError, match="unknown export format 'docx'"):
        export_note(signed, "docx")


# --- CLI ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_FHIR, reason="FHIR export needs fhir.resources")
def test_export_through_the_cli_is_audited(signed, scribe, store, capsys, tmp_path, monkeypatch):
    out = tmp_path / "note.fhir.json"
    assert scribe("export", signed.id, "--format", "fhir", "-o", out) == 0
    assert json.loads(out.read_text())["resourceType"] == "Bundle"
    assert scribe("export", signed.id, "--format", "md") == 0
    assert "## Signature record" in capsys.readouterr().out
    if _weasyprint_works():
        monkeypatch.chdir(tmp_path)
        assert scribe("export", signed.id, "--format", "pdf") == 0
        assert (tmp_path / f"note-{signed.id}.pdf").read_bytes().startswith(b"%PDF-")
    with store.transaction() as s:
        exported = [json.loads(r.detail) for r in s.query(AuditRow).filter_by(action="exported")]
    assert exported[0]["format"] == "fhir" and len(exported[0]["sha256"]) == 64
    assert scribe("verify") == 0
