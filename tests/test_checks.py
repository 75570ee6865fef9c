"""scribe.checks: every rule fires on one case and stays quiet on another.

Facts are built directly (no extractor), with Evidence spans taken from one small
dictation so that character distances are real.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import date
from importlib import resources

import pytest

from scribe.checks import RULES, check, check_rule, load_check_data
from scribe.errors import BillingError, RuleFileError
from scribe.schema import (
    AudioGap,
    BilledUnits,
    CodeMinutes,
    Evidence,
    Measure,
    Method,
    Mention,
    SessionFacts,
    SessionMeta,
    Severity,
    Statement,
    Status,
    Technique,
    Telehealth,
    Timepoint,
)

TEXT = (
    "Left CVA with right hemiparesis. Impaired standing balance, worse on uneven ground. "
    "Decreased light touch sensation of the left foot. "
    "Neuro re-ed 24 minutes: tandem stance on foam pad, 3 x 30 seconds, contact guard, then leg press. "
    "Berg 44 out of 56, up from 38 at evaluation, goal Berg of 50. Berg 60 out of 56 on the retest. "
    "Therapeutic exercise 23 minutes: mini squats at the counter, 2 sets of 15. "
    "Total treatment time 50 minutes. Billing 2 units of 97112 and 1 unit of 97110. "
    "Tolerated well, continue same. Video visit from home, modifier 95. "
    "Now walks to the mailbox without a cane. "
    "Goal is to climb the 12 stairs to his apartment with one rail."
)

DOMAIN_RULES = {
    "missing_impairment",
    "insufficient_intervention_detail",
    "missing_objective_measure",
    "missing_functional_improvement",
    "medical_necessity",
    "maintenance_language",
    "vague_language",
    "intent_mismatch_97110",
    "time_documented",
    "eight_minute_rule",
    "telehealth_modifier",
    "signature",
}


def ev(words: str) -> Evidence:
    """The Evidence span of `words` in TEXT (first occurrence)."""
    start = TEXT.index(words)
    return Evidence(text=words, start=start, end=start + len(words))


def mention(id_: str, words: str, **kw) -> Mention:
    return Mention(id=id_, text=words, evidence=ev(words), **kw)


def technique(category: str = "balance_training", name: str = "tandem stance", **kw) -> Technique:
    kw.setdefault("status", Status.performed)
    return Technique(category=category, name=name, evidence=ev(name), **kw)


def minutes(code: str, value: int, words: str, timed: bool = True) -> CodeMinutes:
    return CodeMinutes(code=code, minutes=value, timed=timed, evidence=ev(words))


def measure(value: float, words: str, timepoint: Timepoint = Timepoint.current, **kw) -> Measure:
    kw.setdefault("max", 56)
    return Measure(measure="berg_balance_scale", value=value, unit="points", timepoint=timepoint,
                   evidence=ev(words), **kw)


def base_facts() -> SessionFacts:
    """A complete note: no rule fires on it (signature aside, when unsigned)."""
    return SessionFacts(
        impairments=[mention("balance", "Impaired standing balance")],
        techniques=[technique(sets=3, duration_seconds=30, equipment=["foam_pad"])],
        measures=[measure(44, "Berg 44 out of 56"), measure(38, "38 at evaluation", Timepoint.prior, max=None)],
        minutes=[
            minutes("97112", 24, "Neuro re-ed 24 minutes"),
            minutes("97110", 23, "Therapeutic exercise 23 minutes"),
        ],
        billed_units=[
            BilledUnits(code="97112", units=2, evidence=ev("2 units of 97112")),
            BilledUnits(code="97110", units=1, evidence=ev("1 unit of 97110")),
        ],
        total_treatment_minutes=50,
        total_treatment_evidence=ev("Total treatment time 50 minutes"),
        goals=[Statement(text="Goal is to climb the 12 stairs", evidence=ev("Goal is to climb the 12 stairs"))],
        strength_work=[mention("strength", "mini squats")],
    )


SIGNED_META = SessionMeta(therapist="Jane Doe", credentials="PT, DPT", date_of_service=date(2025, 3, 14))
TELE_COMPLETE = Telehealth(telehealth=True, modifier="95", place_of_service="10", coverage_confirmed=True,
                           evidence=[ev("Video visit from home")])
ERR, WARN, INFO = Severity.error, Severity.warning, Severity.info

# (rule, changes to base_facts(), check options, severities of the expected findings)
CASES = [
    pytest.param("missing_impairment", {"impairments": []}, {}, [ERR], id="impairment-none"),
    pytest.param("missing_impairment", {"impairments": [mention("balance", "Impaired standing balance",
                                                                 negated=True)]}, {}, [ERR],
                 id="impairment-only-negated"),
    pytest.param("missing_impairment", {}, {}, [], id="impairment-stated"),
    pytest.param("insufficient_intervention_detail", {"techniques": [technique(equipment=["foam_pad"])]}, {},
                 [ERR], id="detail-no-parameters"),
    pytest.param("insufficient_intervention_detail", {"techniques": []}, {}, [ERR], id="detail-97112-no-technique"),
    pytest.param("insufficient_intervention_detail", {}, {}, [], id="detail-complete"),
    pytest.param("insufficient_intervention_detail",
                 {"techniques": [technique(sets=3, duration_seconds=30),
                                 technique(name="leg press", status=Status.planned)]}, {}, [],
                 id="detail-planned-without-parameters"),
    pytest.param("missing_objective_measure", {"measures": []}, {}, [WARN], id="measure-none"),
    pytest.param("missing_objective_measure", {"measures": [measure(50, "goal Berg of 50", Timepoint.goal)]}, {},
                 [WARN], id="measure-goal-only"),
    pytest.param("missing_objective_measure", {"measures": [measure(60, "Berg 60 out of 56", valid=False)]}, {},
                 [WARN], id="measure-only-invalid"),
    pytest.param("missing_objective_measure",
                 {"measures": [measure(38, "38 at evaluation", Timepoint.prior, max=None)]}, {}, [],
                 id="measure-prior-counts"),
    pytest.param("missing_objective_measure", {}, {}, [], id="measure-current"),
    pytest.param("missing_functional_improvement", {"goals": []}, {}, [WARN], id="function-none"),
    pytest.param("missing_functional_improvement",
                 {"goals": [], "functional_changes": [Statement(text="Now walks to the mailbox",
                                                               evidence=ev("Now walks to the mailbox"))]},
                 {}, [], id="function-change"),
    pytest.param("missing_functional_improvement", {}, {}, [], id="function-goal"),
    pytest.param("medical_necessity", {"impairments": [mention("sensory", "Decreased light touch sensation")]}, {},
                 [ERR], id="necessity-balance-work-for-sensory"),
    pytest.param("medical_necessity",
                 {"impairments": [mention("sensory", "Decreased light touch sensation")],
                  "techniques": [technique("sensory_integration", sets=3, duration_seconds=30)]},
                 {}, [], id="necessity-sensory-integration"),
    pytest.param("medical_necessity",
                 {"impairments": [mention("sensory", "Decreased light touch sensation")],
                  "techniques": [technique(status=Status.planned)]},
                 {}, [], id="necessity-no-performed-technique"),
    pytest.param("medical_necessity", {"impairments": []}, {}, [], id="necessity-no-impairment"),
    pytest.param("medical_necessity", {}, {}, [], id="necessity-linked"),
    pytest.param("maintenance_language", {"maintenance_phrases": [mention("maintenance", "continue same")]}, {},
                 [WARN], id="maintenance-phrase"),
    pytest.param("maintenance_language", {"maintenance_phrases": [mention("maintenance", "continue same")],
                                          "skilled_maintenance": True}, {}, [], id="maintenance-skilled"),
    pytest.param("vague_language", {"vague_phrases": [mention("vague", "Tolerated well")]}, {}, [WARN],
                 id="vague-phrase"),
    pytest.param("vague_language", {}, {}, [], id="vague-none"),
    pytest.param("intent_mismatch_97110",
                 {"minutes": [minutes("97112", 24, "Neuro re-ed 24 minutes")], "billed_units": []}, {}, [ERR],
                 id="intent-no-97110-billed"),
    pytest.param("intent_mismatch_97110", {"strength_work": [mention("strength", "leg press")]}, {}, [ERR],
                 id="intent-same-sentence-as-97112"),
    pytest.param("intent_mismatch_97110", {}, {}, [], id="intent-strength-under-97110"),
    pytest.param("intent_mismatch_97110",
                 {"minutes": [minutes("97110", 23, "Therapeutic exercise 23 minutes")]}, {}, [],
                 id="intent-no-97112"),
    pytest.param("intent_mismatch_97110",
                 {"strength_work": [mention("strength", "leg press", negated=True)],
                  "minutes": [minutes("97112", 24, "Neuro re-ed 24 minutes")]}, {}, [],
                 id="intent-negated-strength"),
    pytest.param("time_documented", {"minutes": []}, {}, [ERR], id="time-no-minutes"),
    pytest.param("time_documented",
                 {"minutes": [minutes("97150", 30, "Video visit", timed=False)]}, {}, [ERR],
                 id="time-untimed-only"),
    pytest.param("time_documented", {"total_treatment_minutes": None, "total_treatment_evidence": None}, {},
                 [WARN], id="time-no-total"),
    pytest.param("time_documented", {"total_treatment_minutes": 40}, {}, [ERR], id="time-total-below-timed"),
    pytest.param("time_documented", {}, {}, [], id="time-complete"),
    pytest.param("eight_minute_rule",
                 {"billed_units": [BilledUnits(code="97112", units=3, evidence=ev("2 units of 97112"))]}, {},
                 [ERR], id="eight-stated-units-disagree"),
    pytest.param("eight_minute_rule", {}, {"method": Method.ama}, [ERR], id="eight-ama-gives-2-ther-ex"),
    pytest.param("eight_minute_rule",
                 {"minutes": [minutes("97112", 33, "Neuro re-ed 24 minutes"),
                              minutes("97140", 7, "Therapeutic exercise 23 minutes")], "billed_units": []},
                 {}, [WARN], id="eight-code-under-8-minutes"),
    pytest.param("eight_minute_rule", {}, {}, [], id="eight-units-agree"),
    pytest.param("eight_minute_rule",
                 {"billed_units": [BilledUnits(code="97150", units=1, evidence=ev("1 unit of 97110"))]}, {}, [],
                 id="eight-untimed-code-billed"),
    pytest.param("telehealth_modifier",
                 {"telehealth": Telehealth(telehealth=True, modifier="95", evidence=[ev("modifier 95")])}, {},
                 [ERR], id="telehealth-missing-pos-and-coverage"),
    pytest.param("telehealth_modifier",
                 {"telehealth": TELE_COMPLETE.model_copy(update={"modifier": "GQ"})}, {}, [ERR],
                 id="telehealth-wrong-modifier"),
    pytest.param("telehealth_modifier", {"telehealth": TELE_COMPLETE}, {}, [], id="telehealth-complete"),
    pytest.param("telehealth_modifier", {}, {}, [], id="telehealth-in-clinic"),
    pytest.param("signature", {}, {}, [INFO], id="signature-draft"),
    pytest.param("signature", {}, {"signed": True}, [ERR], id="signature-signed-without-meta"),
    pytest.param("signature", {}, {"signed": True, "meta": SIGNED_META.model_copy(update={"credentials": " "})},
                 [ERR], id="signature-blank-credentials"),
    pytest.param("signature", {}, {"signed": True, "meta": SIGNED_META}, [], id="signature-complete"),
    pytest.param("measure_out_of_range",
                 {"measures": [measure(44, "Berg 44 out of 56"), measure(60, "Berg 60 out of 56", valid=False)]},
                 {}, [ERR], id="range-berg-60-of-56"),
    pytest.param("measure_out_of_range", {}, {}, [], id="range-valid"),
    # audio: a number Whisper was unsure of, values that cannot be, speech with no words
    pytest.param("low_confidence_number",
                 {"minutes": [CodeMinutes(code="97112", minutes=50, timed=True,
                                          evidence=ev("Neuro re-ed 24 minutes").model_copy(
                                              update={"confidence": 0.31, "audio_start": 12.4}))]},
                 {}, [WARN], id="confidence-low"),
    pytest.param("low_confidence_number",
                 {"minutes": [CodeMinutes(code="97112", minutes=24, timed=True,
                                          evidence=ev("Neuro re-ed 24 minutes").model_copy(update={"confidence": 0.93}))]},
                 {}, [], id="confidence-high"),
    pytest.param("low_confidence_number", {}, {}, [], id="confidence-typed-text"),
    pytest.param("implausible_value", {"minutes": [minutes("97112", 50, "Neuro re-ed 24 minutes")],
                                       "total_treatment_minutes": 33}, {}, [ERR], id="implausible-code-over-total"),
    pytest.param("implausible_value", {"techniques": [technique(sets=1, duration_seconds=3000)],
                                       "total_treatment_minutes": 33}, {}, [ERR], id="implausible-drill-over-total"),
    pytest.param("implausible_value", {}, {}, [], id="implausible-none"),
    pytest.param("speech_not_transcribed", {"audio_gaps": [AudioGap(start=12.0, end=19.5)]}, {}, [ERR],
                 id="gap"),
    pytest.param("speech_not_transcribed", {}, {}, [], id="no-gap"),
]


@pytest.mark.parametrize(("rule", "changes", "options", "severities"), CASES)
def test_rule(rule, changes, options, severities):
    facts = base_facts().model_copy(update=changes)
    found = check_rule(rule, facts, **options)
    assert [f.severity for f in found] == severities, [f.message for f in found]
    for f in found:
        assert f.rule == rule
        assert f.message and "\n" not in f.message and "$" not in f.message
        assert f.fix and "\n" not in f.fix and "$" not in f.fix


def test_every_rule_has_a_firing_and_a_quiet_case():
    fires = {c.values[0] for c in CASES if c.values[3]}
    quiet = {c.values[0] for c in CASES if not c.values[3]}
    assert set(RULES) == DOMAIN_RULES | {"measure_out_of_range", "low_confidence_number", "implausible_value",
                                         "speech_not_transcribed"}
    assert fires == quiet == set(RULES)


def test_complete_note_has_only_the_draft_signature():
    found = check(base_facts())
    assert [(f.rule, f.severity) for f in found] == [("signature", INFO)]
    assert check(base_facts(), meta=SIGNED_META, signed=True) == []


def test_findings_sorted_by_severity_then_rule():
    facts = SessionFacts(
        minutes=[minutes("97112", 5, "Neuro re-ed 24 minutes")],
        vague_phrases=[mention("vague", "Tolerated well")],
        maintenance_phrases=[mention("maintenance", "continue same")],
        measures=[measure(60, "Berg 60 out of 56", valid=False)],
    )
    found = check(facts)
    order = {ERR: 0, WARN: 1, INFO: 2}
    keys = [(order[f.severity], f.rule) for f in found]
    assert keys == sorted(keys)
    assert found[-1].rule == "signature"
    assert {f.severity for f in found} == {ERR, WARN, INFO}


@pytest.mark.parametrize(
    ("rule", "changes", "options", "in_message", "in_fix"),
    [
        pytest.param("insufficient_intervention_detail", {"techniques": [technique()]}, {},
                     ["'tandem stance'"], ["'tandem stance'", "3 x 30 seconds on foam pad"], id="detail"),
        pytest.param("eight_minute_rule",
                     {"billed_units": [BilledUnits(code="97112", units=3, evidence=ev("2 units of 97112"))]}, {},
                     ["97112", "3 unit", "give 2", "CMS"], ["Bill 2 unit(s) of 97112"], id="eight-mismatch"),
        pytest.param("eight_minute_rule",
                     {"minutes": [minutes("97112", 7, "Neuro re-ed 24 minutes")], "billed_units": []},
                     {"method": "ama"}, ["97112", "7 minutes"], ["under CMS", "under AMA it never"],
                     id="eight-under-8"),
        pytest.param("measure_out_of_range", {"measures": [measure(60, "Berg 60 out of 56", valid=False)]}, {},
                     ["Berg Balance Scale 60/56 is outside the scale (0-56 points)", "'Berg 60 out of 56'"],
                     ["Confirm"], id="range"),
        pytest.param("telehealth_modifier", {"telehealth": Telehealth(telehealth=True)}, {},
                     ["modifier 95 (GT or 93 where the payer requires it), place of service 02 or 10 and confirmation"],
                     [], id="telehealth"),
        pytest.param("vague_language",
                     {"vague_phrases": [mention("vague", "Tolerated well"), mention("vague", "Tolerated well")]},
                     {}, ["'Tolerated well'."], ["instead of 'Tolerated well'"], id="vague-quoted-once"),
        pytest.param("medical_necessity", {"impairments": [mention("sensory", "Decreased light touch sensation")]},
                     {}, ["'tandem stance'", "'Decreased light touch sensation'"], ["(balance)", "at sensation"],
                     id="necessity"),
        pytest.param("signature", {}, {"signed": True, "meta": SessionMeta(therapist="Jane Doe")},
                     ["lacks credentials and date of service."], [], id="signature-items"),
        pytest.param("time_documented", {"total_treatment_minutes": 40}, {},
                     ["40 minutes", "24 (97112) + 23 (97110) = 47"], ["at least 47"], id="time-below"),
    ],
)
def test_wording(rule, changes, options, in_message, in_fix):
    (finding,) = check_rule(rule, base_facts().model_copy(update=changes), **options)
    for words in in_message:
        assert words in finding.message
    for words in in_fix:
        assert words in finding.fix


def test_evidence_is_attached_and_ordered():
    facts = base_facts().model_copy(update={"strength_work": [mention("strength", "leg press")]})
    (finding,) = check_rule("intent_mismatch_97110", facts)
    assert [e.text for e in finding.evidence] == ["Neuro re-ed 24 minutes", "leg press"]


def test_unknown_method_is_a_billing_error():
    with pytest.raises(BillingError):
        check(base_facts(), method="midpoint")


# --- the data file ---------------------------------------------------------------------


def _real_data() -> dict:
    return json.loads(resources.files("scribe.data").joinpath("checks.json").read_text(encoding="utf-8"))


def _broken(change):
    def make() -> str:
        data = _real_data()
        change(data)
        return json.dumps(data)
    return make


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(lambda: '{"rules": {', "not valid JSON", id="not-json"),
        pytest.param(_broken(lambda d: d.update(colour="red")), "colour", id="unknown-key"),
        pytest.param(_broken(lambda d: d["rules"]["vague_language"]["findings"]["default"].update(severity="fatal")),
                     "severity", id="bad-severity"),
        pytest.param(_broken(lambda d: d["addresses"]["balance_training"].append("balanse")), "balanse",
                     id="unknown-impairment"),
        pytest.param(_broken(lambda d: d["rules"].pop("signature")), "signature", id="missing-rule"),
        pytest.param(_broken(lambda d: d["rules"].update(typo_rule=d["rules"]["signature"])), "typo_rule",
                     id="unknown-rule"),
        pytest.param(_broken(lambda d: d["rules"]["time_documented"]["findings"].pop("no_total")), "no_total",
                     id="missing-kind"),
        pytest.param(_broken(lambda d: d["rules"]["vague_language"]["findings"]["default"].update(
            message="Vague: $qoute")), "$qoute", id="unknown-placeholder"),
        pytest.param(_broken(lambda d: d["rules"]["vague_language"]["findings"]["default"].update(
            fix="two\nlines")), "one line", id="two-lines"),
        pytest.param(_broken(lambda d: d["rules"]["signature"]["parts"].pop("credentials")), "credentials",
                     id="missing-part"),
    ],
)
def test_malformed_data_file_is_a_rule_file_error(tmp_path, monkeypatch, make, words):
    package = f"fake_checks_{uuid.uuid4().hex}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "checks.json").write_text(make(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(RuleFileError) as err:
            load_check_data(package, "checks.json")
    finally:
        sys.modules.pop(package, None)
    assert words in str(err.value)
    assert f"{package}/checks.json" in str(err.value)


def test_shipped_data_file_loads():
    data = load_check_data()
    assert set(data.rules) == set(RULES)


@pytest.mark.parametrize(
    "text, fires",
    [
        # the bridges end a sentence; the 97112 minutes start the next one
        ("Today 97110 for 18 minutes, leg press 3 by 12, single leg bridges 3 by 10. 97112 for 23 minutes.", False),
        ("97110 for 18 minutes, bike. 97112 for 23 minutes with single leg bridges 3 by 10.", True),
    ],
)
def test_strength_work_in_the_97112_sentence_from_dictation(text, fires):
    from scribe.extract import extract

    assert bool(check_rule("intent_mismatch_97110", extract(text))) is fires
