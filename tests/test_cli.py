"""The command-line contracts, through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "transcripts" / "01_stroke_right_hemiparesis.txt"


def scribe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scribe", *args], capture_output=True, text=True, cwd=cwd)


def test_extract_json_contract():
    r = scribe("extract", str(SAMPLE), "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in ("techniques", "measures", "minutes", "total_timed_minutes", "total_treatment_minutes",
                "units", "telehealth", "findings"):
        assert key in d
    t = d["techniques"][0]
    assert set(t) >= {"category", "status", "sets", "reps", "duration_seconds", "equipment", "evidence"}
    assert set(t["evidence"]) >= {"text", "start", "end"}
    assert t["status"] in ("performed", "planned", "not_performed", "historical")
    m = d["measures"][0]
    assert set(m) >= {"measure", "value", "max", "unit", "timepoint", "evidence"}
    assert d["minutes"] == {"97112": 24, "97110": 23}
    assert d["total_timed_minutes"] == 47 and d["total_treatment_minutes"] == 50
    assert d["units"] == {"97112": 2, "97110": 1}
    assert d["telehealth"] is False
    assert all(set(f) >= {"rule", "severity", "message", "fix"} for f in d["findings"])


def test_unknown_values_are_null(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text("Tandem stance on foam today.")
    d = json.loads(scribe("extract", str(f), "--format", "json").stdout)
    assert d["total_timed_minutes"] is None and d["total_treatment_minutes"] is None
    assert d["techniques"][0]["sets"] is None and d["minutes"] == {} and d["units"] == {}


@pytest.mark.parametrize(
    "args, expected",
    [
        (["97112=24", "97110=23"], {"method": "cms", "total_timed_minutes": 47, "total_units": 3, "units": {"97112": 2, "97110": 1}}),
        (["97110=8", "97140=8", "--method", "ama"], {"method": "ama", "total_timed_minutes": 16, "total_units": 2, "units": {"97110": 1, "97140": 1}}),
        (["97110=8", "97140=8", "--method", "cms"], {"method": "cms", "total_timed_minutes": 16, "total_units": 1, "units": {"97110": 1, "97140": 0}}),
    ],
)
def test_units_contract(args, expected):
    r = scribe("units", *args, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == expected


def test_units_text():
    r = scribe("units", "97112=24", "97110=23", "--format", "text")
    assert r.returncode == 0 and "total units: 3" in r.stdout


@pytest.mark.parametrize("fmt, marker", [("md", "# Daily"), ("html", "<html"), ("txt", "DAILY"), ("json", '"facts"')])
def test_note_formats(fmt, marker, tmp_path):
    out = tmp_path / f"note.{fmt}"
    r = scribe("note", str(SAMPLE), "--format", fmt, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert marker.lower() in out.read_text().lower()


def test_note_with_clinic_template(tmp_path):
    tpl = tmp_path / "mine.md.j2"
    tpl.write_text("Units: {{ billing.total_units }}\n")
    r = scribe("note", str(SAMPLE), "--template", str(tpl))
    assert r.returncode == 0, r.stderr
    assert "Units: 3" in r.stdout


def test_note_folder(tmp_path):
    r = scribe("note", str(ROOT / "samples" / "transcripts"), "-o", str(tmp_path / "notes"))
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "notes").glob("*.md"))) == len(list((ROOT / "samples" / "transcripts").glob("*.txt")))


def test_check_json_and_text():
    r = scribe("check", str(ROOT / "samples" / "transcripts" / "11_poor_note_vague_foam.txt"), "--format", "json")
    rules = {f["rule"] for f in json.loads(r.stdout)}
    assert {"missing_impairment", "time_documented", "vague_language"} <= rules
    r = scribe("check", str(SAMPLE))
    assert r.returncode == 0 and "signature" in r.stdout


def _bad(tmp_path: Path) -> dict[str, list[str]]:
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02 PNG")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    return {
        "missing file": ["extract", str(tmp_path / "nope.txt")],
        "empty file": ["note", str(empty)],
        "binary file": ["check", str(binary)],
        "not utf-8": ["extract", str(latin)],
        "bad minutes": ["units", "97112=abc"],
        "negative minutes": ["units", "97112=-5"],
        "unknown option": ["extract", str(SAMPLE), "--frobnicate"],
        "unknown command": ["frobnicate"],
        "bad method": ["units", "97112=10", "--method", "medicaid"],
        "missing template": ["note", str(SAMPLE), "--template", str(tmp_path / "none.j2")],
    }


@pytest.mark.parametrize("case", ["missing file", "empty file", "binary file", "not utf-8", "bad minutes",
                                  "negative minutes", "unknown option", "unknown command", "bad method",
                                  "missing template"])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path):
    r = scribe(*_bad(tmp_path)[case])
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""
