"""render.py: every format, evidence, escaping, and clinic templates (StrictUndefined)."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from scribe.errors import TemplateError, UsageError
from scribe.render import FORMATS, NOT_DOCUMENTED, build_context, render
from scribe.schema import (
    BilledUnits, CodeMinutes, Evidence, Finding, Measure, Mention, Method, Note, SessionFacts,
    SessionMeta, Severity, Statement, Status, Technique, Telehealth, Timepoint, Transcript,
    UnitsResult,
)

TEXT = (
    "Patient seen for neuromuscular re-education after a left MCA stroke with right "
    "hemiparesis. Impaired standing balance and decreased motor control of the right leg. "
    "Tandem stance on the foam pad, three sets of thirty seconds, contact guard assist, "
    "verbal cues to shift weight right. PNF diagonals right leg, two sets of ten, tactile "
    "cues at the hip. Single leg stance on the BAPS board was held today because of knee "
    "pain. Last visit we did rocker board weight shifts. Next visit add perturbation "
    "training on the bosu, three sets of ten. Neuro re-ed twenty four minutes, therapeutic "
    "exercise twenty three minutes, hot pack ten minutes, total treatment time sixty "
    "minutes. Billed two units of ninety seven one twelve. Berg forty four out of fifty "
    "six, up from thirty eight, goal fifty. TUG fourteen point two seconds, was sixteen "
    "point three. DGI thirty out of twenty four. No dizziness. Patient reported feeling "
    "steadier on stairs. Walked to the mailbox without a cane this week. Goal is community "
    "ambulation with a single point cane. Continue plan of care twice a week."
)


def ev(phrase: str, audio: bool = True) -> Evidence:
    """Evidence for the first occurrence of `phrase` in TEXT (offsets checked)."""
    start = TEXT.index(phrase)
    a = (round(start / 20, 1), round((start + len(phrase)) / 20, 1)) if audio else (None, None)
    return Evidence(text=phrase, start=start, end=start + len(phrase),
                    audio_start=a[0], audio_end=a[1])


def make_note(**meta) -> Note:
    facts = SessionFacts(
        techniques=[
            Technique(category="balance_training", name="tandem stance", status=Status.performed,
                      sets=3, duration_seconds=30, equipment=["foam_pad"], assist_level="cga",
                      cues=["verbal"], evidence=ev("Tandem stance on the foam pad"),
                      parameter_evidence={"sets": ev("three sets"),
                                          "duration_seconds": ev("thirty seconds")}),
            Technique(category="motor_control", name="PNF diagonals", status=Status.performed,
                      sets=2, reps=10, cues=["tactile"], evidence=ev("PNF diagonals right leg")),
            Technique(category="proprioceptive_training", name="single leg stance",
                      status=Status.not_performed, equipment=["baps_board"],
                      evidence=ev("Single leg stance on the BAPS board was held today")),
            Technique(category="balance_training", name="rocker board weight shifts",
                      status=Status.historical, equipment=["rocker_board"],
                      evidence=ev("rocker board weight shifts")),
            Technique(category="perturbation_training", name="perturbation training",
                      status=Status.planned, sets=3, reps=10, equipment=["bosu"],
                      evidence=ev("add perturbation training on the bosu")),
        ],
        measures=[
            Measure(measure="berg_balance_scale", value=44, max=56, unit="points",
                    timepoint=Timepoint.current, evidence=ev("Berg forty four out of fifty six")),
            Measure(measure="berg_balance_scale", value=38, unit="points",
                    timepoint=Timepoint.prior, evidence=ev("up from thirty eight")),
            Measure(measure="berg_balance_scale", value=50, unit="points",
                    timepoint=Timepoint.goal, evidence=ev("goal fifty")),
            Measure(measure="timed_up_and_go", value=14.2, unit="seconds",
                    timepoint=Timepoint.current, evidence=ev("TUG fourteen point two seconds")),
            Measure(measure="timed_up_and_go", value=16.3, unit="seconds",
                    timepoint=Timepoint.prior, evidence=ev("was sixteen point three")),
            Measure(measure="dynamic_gait_index", value=30, max=24, unit="points",
                    timepoint=Timepoint.current, valid=False,
                    evidence=ev("DGI thirty out of twenty four")),
        ],
        minutes=[
            CodeMinutes(code="97112", minutes=24, timed=True,
                        evidence=ev("Neuro re-ed twenty four minutes")),
            CodeMinutes(code="97110", minutes=23, timed=True,
                        evidence=ev("therapeutic exercise twenty three minutes")),
            CodeMinutes(code="97010", minutes=10, timed=False, evidence=ev("hot pack ten minutes")),
        ],
        billed_units=[BilledUnits(code="97112", units=2,
                                  evidence=ev("Billed two units of ninety seven one twelve"))],
        total_treatment_minutes=60,
        total_treatment_evidence=ev("total treatment time sixty minutes"),
        telehealth=Telehealth(),
        impairments=[
            Mention(id="balance", text="standing balance",
                    evidence=ev("Impaired standing balance")),
            Mention(id="motor_control", text="motor control", side="right",
                    evidence=ev("decreased motor control of the right leg")),
        ],
        diagnoses=[Mention(id="stroke", text="left MCA stroke", side="left",
                           evidence=ev("left MCA stroke"))],
        assist_levels=[Mention(id="cga", text="contact guard assist",
                               evidence=ev("contact guard assist"))],
        cues=[Mention(id="verbal", text="verbal cues", evidence=ev("verbal cues")),
              Mention(id="tactile", text="tactile cues", evidence=ev("tactile cues"))],
        negated_findings=[Mention(id="dizziness", text="dizziness", negated=True,
                                  evidence=ev("No dizziness"))],
        goals=[Statement(text="Goal is community ambulation with a single point cane.",
                         evidence=ev("Goal is community ambulation with a single point cane."))],
        functional_changes=[Statement(
            text="Walked to the mailbox without a cane this week.",
            evidence=ev("Walked to the mailbox without a cane this week."))],
        responses=[Statement(text="Patient reported feeling steadier on stairs.",
                             evidence=ev("Patient reported feeling steadier on stairs."))],
        plan=[Statement(text="Continue plan of care twice a week.",
                        evidence=ev("Continue plan of care twice a week."))],
    )
    base = dict(patient="Daniel Okafor", date_of_service=date(2025, 3, 14),
                therapist="Jane Rivera", credentials="PT, DPT", payer="Medicare",
                diagnosis_codes=["I69.351"])
    base.update(meta)
    return Note(
        meta=SessionMeta(**base),
        transcript=Transcript(text=TEXT, source="okafor_2025-03-14.wav"),
        facts=facts,
        units=UnitsResult(method=Method.cms, total_timed_minutes=47, total_units=3,
                          units={"97112": 2, "97110": 1}),
        findings=[
            Finding(rule="signature", severity=Severity.error,
                    message="The note is not signed.", fix="Sign the note with credentials."),
            Finding(rule="vague_language", severity=Severity.warning,
                    message='"feeling steadier" is vague.', fix="State an observed change.",
                    evidence=[ev("steadier")]),
        ],
        scribe_version="0.1.0",
    )


@pytest.fixture
def note() -> Note:
    return make_note()


def section(text: str, start: str, end: str) -> str:
    """The part of a rendered note from `start` up to the next `end`."""
    i = text.index(start)
    return text[i:text.index(end, i + len(start))]


# Where each section starts, per format.
HEAD = {
    "md": {"measures": "## Outcome measures", "response": "## Patient response",
           "plan": "## Plan", "findings": "## Findings to resolve", "signature": "## Signature"},
    "txt": {"measures": "OUTCOME MEASURES", "response": "PATIENT RESPONSE", "plan": "\nPLAN\n",
            "findings": "FINDINGS TO RESOLVE\n", "signature": "SIGNATURE\n"},
    "html": {"measures": '<section id="measures">', "response": '<section id="response">',
             "plan": '<section id="plan">', "findings": '<section id="findings">',
             "signature": '<section id="signature">'},
}


# --- every format ---------------------------------------------------------------------

KEY_FACTS = [
    "Daniel Okafor", "2025-03-14", "Jane Rivera", "PT, DPT", "I69.351",
    "Stroke (left)", "Motor control (right)",
    "tandem stance", "Balance training", "3 x 30 s", "foam pad", "contact guard assist",
    "PNF diagonals", "2 x 10", "tactile",
    "single leg stance", "not performed today", "rocker board weight shifts",
    "97112", "Neuromuscular re-education", "97110", "Therapeutic exercise", "97010",
    "Berg Balance Scale", "44/56", "38 points", "+6 points (improved)", "50 points",
    "Timed Up and Go", "14.2 s", "−2.1 s (improved)",
    "Patient reported feeling steadier on stairs.", "dizziness",
    "Walked to the mailbox without a cane this week.",
    "Goal is community ambulation with a single point cane.",
    "Continue plan of care twice a week.", "perturbation training", "BOSU",
    "signature", "vague_language", "Sign the note with credentials.",
    "Dynamic Gait Index", "Draft — not signed",
]


@pytest.mark.parametrize("fmt", ["md", "html", "txt"])
@pytest.mark.parametrize("fact", KEY_FACTS)
def test_each_format_holds_the_key_facts(note, fmt, fact):
    assert fact in render(note, fmt)


@pytest.mark.parametrize("fmt, totals", [
    ("md", ["**Total timed minutes:** 47", "**Total treatment time:** 60 min",
            "**Units (calculated):** 3 — CMS total-time method"]),
    ("txt", ["Total timed minutes:  47", "Total treatment time: 60 min",
             "Units (calculated):   3 - CMS total-time method"]),
    ("html", ["<b>Total timed minutes:</b> 47", ">60 min</span>",
              "<b>Units (calculated):</b> 3 — CMS total-time method"]),
])
def test_time_totals_and_units(note, fmt, totals):
    out = render(note, fmt)
    for t in totals:
        assert t in out


def test_json_is_the_note(note):
    out = render(note, "json")
    assert Note.model_validate_json(out) == note
    assert json.loads(out)["meta"]["patient"] == "Daniel Okafor"


def test_json_takes_no_template(note, tmp_path):
    (tmp_path / "x.j2").write_text("{{ visit.patient }}")
    with pytest.raises(UsageError):
        render(note, "json", template=tmp_path / "x.j2")


def test_unknown_format(note):
    with pytest.raises(UsageError, match="pdf"):
        render(note, "pdf")


def test_formats_table():
    assert set(FORMATS) == {"md", "html", "txt", "json"}


# --- what must never be shown as fact ---------------------------------------------------

@pytest.mark.parametrize("fmt, start, end", [
    ("md", "## Interventions performed", "**Not performed today:**"),
    ("txt", "INTERVENTIONS PERFORMED", "Not performed today:"),
    ("html", '<section id="interventions">', "<h3>Not performed today</h3>"),
])
def test_only_performed_techniques_in_interventions(note, fmt, start, end):
    out = render(note, fmt)
    performed = section(out, start, end)
    assert "tandem stance" in performed and "PNF diagonals" in performed
    for other in ("perturbation training", "single leg stance", "rocker board"):
        assert other not in performed
    plan = section(out, HEAD[fmt]["plan"], HEAD[fmt]["findings"])
    assert "perturbation training" in plan


@pytest.mark.parametrize("fmt, start, end", [
    ("md", "## Outcome measures", "## Patient response"),
    ("txt", "OUTCOME MEASURES", "PATIENT RESPONSE"),
    ("html", '<section id="measures">', '<section id="response">'),
])
def test_invalid_measure_is_not_a_fact(note, fmt, start, end):
    out = render(note, fmt)
    measures = section(out, start, end)
    assert "Berg Balance Scale" in measures
    assert "Dynamic Gait Index" not in measures and "30/24" not in measures
    findings = section(out, HEAD[fmt]["findings"], HEAD[fmt]["signature"])
    assert "Dynamic Gait Index" in findings and "30/24" in findings
    assert "confirm" in findings.lower()


@pytest.mark.parametrize("fmt", ["md", "html", "txt"])
def test_invalid_measure_reported_by_checker_is_listed_once(fmt):
    note = make_note()
    dgi = note.facts.measures[5]
    note.findings.append(Finding(
        rule="measure_out_of_range", severity=Severity.error,
        message="Dynamic Gait Index 30/24 is outside 0-24 points.",
        fix="Check the recording.", evidence=[dgi.evidence]))
    assert build_context(note)["to_confirm"] == []
    out = render(note, fmt)
    findings = section(out, HEAD[fmt]["findings"], HEAD[fmt]["signature"])
    assert findings.count("30/24") == 1 and "measure_out_of_range" in findings
    assert "30/24" not in section(out, HEAD[fmt]["measures"], HEAD[fmt]["response"])


def test_change_direction_follows_the_measure():
    ctx = build_context(make_note())
    rows = {r["measure"]: r for r in ctx["measures"]}
    assert rows["berg_balance_scale"]["change"]["direction"] == "improved"  # higher is better
    assert rows["timed_up_and_go"]["change"]["direction"] == "improved"  # lower is better
    assert [c["measure"] for c in ctx["to_confirm"]] == ["dynamic_gait_index"]
    worse = make_note()
    worse.facts.measures[3].value = 18.0  # TUG 18 s today vs 16.3 s before
    row = {r["measure"]: r for r in build_context(worse)["measures"]}["timed_up_and_go"]
    assert row["change"]["display"] == "+1.7 s (declined)"


@pytest.mark.parametrize("fmt", ["md", "html", "txt"])
def test_nothing_dictated_says_so(fmt):
    empty = Note(transcript=Transcript(text=""), facts=SessionFacts(), scribe_version="0.1.0")
    out = render(empty, fmt)
    assert out.count(NOT_DOCUMENTED) >= 8  # diagnoses .. plan
    assert "not stated" in out  # patient, therapist, credentials, date
    assert "Draft — not signed" in out
    body = out.split("</style>")[-1]
    for invented in ("improved", "tolerated", "independent", "x 10"):
        assert invented not in body
    assert not re.search(r"\d+ (min|s|points|units?)\b", body)


@pytest.mark.parametrize("fmt", ["md", "html", "txt"])
def test_unknown_meta_is_not_invented(fmt):
    out = render(make_note(therapist=None, credentials=None, date_of_service=None), fmt)
    sig = section(out, HEAD[fmt]["signature"], "Draft — not signed.")
    assert "Jane Rivera" not in sig and "2025-03-14" not in sig
    assert sig.count("not stated") >= 3


# --- HTML: escaping, evidence, standalone -----------------------------------------------

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_escapes_dictated_text():
    bad = make_note(patient="<script>alert(1)</script>", therapist='Jo "x" <b>&</b>')
    bad.facts.responses[0].text = "<img src=x onerror=alert(2)>"
    out = render(bad, "html")
    assert "<script>alert(1)" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<img src=x" not in out and "&lt;img src=x onerror=alert(2)&gt;" in out
    assert "<b>&</b>" not in out
    parser = _Tags()
    parser.feed(out)
    assert not [t for t, _ in parser.tags if t in ("script", "img", "link", "iframe")]


def test_html_evidence_on_hover(note):
    out = render(note, "html")
    parser = _Tags()
    parser.feed(out)
    spans = [a for t, a in parser.tags if t == "span" and a.get("class") == "ev"]
    titles = [a["title"] for a in spans]
    start = TEXT.index("Tandem stance on the foam pad")
    assert ('"Tandem stance on the foam pad" (chars %d-%d, audio %.1f-%.1f s)'
            % (start, start + 29, start / 20, (start + 29) / 20)) in titles
    assert "title=\"&quot;Tandem stance on the foam pad&quot; (chars" in out
    span = next(a for a in spans if a["title"].startswith('"Tandem stance'))
    assert span["data-start"] == str(start) and span["data-end"] == str(start + 29)
    assert "data-audio-start" in span
    # every dictated fact kind carries evidence
    for words in ("Berg forty four out of fifty six", "Neuro re-ed twenty four minutes",
                  "total treatment time sixty minutes", "contact guard assist",
                  "Walked to the mailbox", "Goal is community", "Continue plan of care",
                  "left MCA stroke", "Impaired standing balance", "steadier"):
        assert any(words in t for t in titles), words


def test_html_evidence_without_audio(note):
    for t in note.facts.techniques:
        t.evidence.audio_start = t.evidence.audio_end = None
    out = render(note, "html")
    line = next(x for x in out.splitlines() if "&quot;PNF diagonals right leg&quot;" in x)
    assert "audio" not in line.split("PNF diagonals right leg")[1].split(">")[0]


def test_html_is_standalone(note):
    out = render(note, "html")
    assert out.lstrip().startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert "<style>" in out and "@media print" in out
    assert not re.search(r"(src|href)=\"(https?:)?//", out)
    assert "@import" not in out and "url(" not in out


def test_markdown_escapes_table_breakers():
    out = render(make_note(patient="A | B <i>x</i>"), "md")
    assert "| Patient | A \\| B \\<i\\>x\\</i\\> |" in out


@pytest.mark.parametrize("fmt", ["md", "txt"])
def test_text_formats_list_evidence_at_the_end(note, fmt):
    out = render(note, fmt)
    tail = out[out.lower().rindex("evidence"):]
    assert '"Berg forty four out of fifty six"' in tail
    assert "class=" not in out


# --- clinic templates -------------------------------------------------------------------

def test_user_template_renders(note, tmp_path):
    path = tmp_path / "clinic.md.j2"
    path.write_text(
        "{{ visit.patient }} {{ visit.date_of_service }}\n"
        "{% for t in interventions.performed %}\n* {{ t.name }}: {{ t.parameters }}\n{% endfor %}\n"
        "{{ time.total_timed_minutes }} {{ note.scribe_version }}\n", encoding="utf-8")
    out = render(note, "md", template=path)
    assert out == ("Daniel Okafor 2025-03-14\n* tandem stance: 3 x 30 s\n"
                   "* PNF diagonals: 2 x 10\n47 0.1.0\n")


def test_user_html_template_is_escaped_and_can_use_our_macros(tmp_path):
    path = tmp_path / "clinic.html"
    path.write_text('{% import "_macros.html.j2" as m with context %}'
                    "<p>{{ visit.patient }}</p>{{ m.ev(goals[0].text, goals[0].evidence) }}")
    out = render(make_note(patient="<script>x</script>"), "html", template=str(path))
    assert "<p>&lt;script&gt;x&lt;/script&gt;</p>" in out
    assert '<span class="ev" title="&quot;Goal is community' in out


def test_user_template_folder_shadows_package_macros(note, tmp_path):
    (tmp_path / "_macros.html.j2").write_text("{% macro ev(v, e) %}[{{ v }}]{% endmacro %}")
    path = tmp_path / "mine.html.j2"
    path.write_text('{% import "_macros.html.j2" as m %}{{ m.ev(visit.patient, none) }}')
    assert render(note, "html", template=path) == "[Daniel Okafor]"


def test_user_template_undefined_variable(note, tmp_path):
    path = tmp_path / "clinic.md.j2"
    path.write_text("Patient: {{ visit.patient }}\nDOB: {{ visit.date_of_birth }}\n")
    with pytest.raises(TemplateError) as err:
        render(note, "md", template=path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    assert "line 2" in msg and "date_of_birth" in msg and "undefined" in msg


def test_user_template_unknown_top_level_variable(note, tmp_path):
    path = tmp_path / "clinic.txt"
    path.write_text("{{ patient_name }}")
    with pytest.raises(TemplateError, match=r"clinic\.txt.*line 1.*patient_name"):
        render(note, "txt", template=path)


def test_user_template_syntax_error(note, tmp_path):
    path = tmp_path / "broken.md.j2"
    path.write_text("ok\n{% for t in interventions.performed %}\n{{ t.name }\n")
    with pytest.raises(TemplateError) as err:
        render(note, "md", template=path)
    msg = str(err.value)
    assert "\n" not in msg and "broken.md.j2" in msg and "line 3" in msg and "syntax" in msg


def test_user_template_missing(note, tmp_path):
    with pytest.raises(TemplateError, match="nope.md.j2.*not found"):
        render(note, "md", template=tmp_path / "nope.md.j2")


def test_user_template_runtime_error_is_one_line(note, tmp_path):
    path = tmp_path / "div.txt"
    path.write_text("a\n{{ 1 / 0 }}\n")
    with pytest.raises(TemplateError, match=r"div\.txt: line 2: error: division by zero"):
        render(note, "txt", template=path)


def test_user_template_is_sandboxed(note, tmp_path):
    path = tmp_path / "evil.txt"
    path.write_text("{{ visit.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateError, match="evil.txt"):
        render(note, "txt", template=path)


# --- packaging --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["note.md.j2", "note.html.j2", "note.txt.j2",
                                  "_macros.html.j2", "README.md"])
def test_templates_ship_in_the_package(name):
    folder = resources.files("scribe.templates")
    assert folder.joinpath(name).is_file()


def test_package_templates_are_what_render_uses(note, monkeypatch, tmp_path):
    """render() loads through importlib.resources, not a path relative to the checkout."""
    (tmp_path / "note.txt.j2").write_text("from the package: {{ visit.patient }}")
    real = resources.files

    def files(pkg):
        return tmp_path if pkg == "scribe.templates" else real(pkg)

    monkeypatch.setattr("scribe.render.resources.files", files)
    assert render(note, "txt") == "from the package: Daniel Okafor"
    assert Path(str(real("scribe.templates")), "note.txt.j2").is_file()
