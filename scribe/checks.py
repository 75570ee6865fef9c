"""Documentation requirements -> findings: what a 97112 daily note still lacks.

One function per rule ID of ../shared/DOMAIN.md (plus `measure_out_of_range`), each
taking a `Context` and returning its findings; `RULES` maps every rule ID to its
function. When a rule fires follows samples/LABELLING.md ("When each rule fires").
Severities, messages, fixes and which technique category addresses which impairment
are data (scribe/data/checks.json, validated on load); this module holds the logic.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from string import Template

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import billing
from .datafiles import billing_rules, load_json, measure_table
from .errors import BillingError, RuleFileError
from .schema import (
    CodeMinutes,
    Evidence,
    Finding,
    Method,
    Mention,
    SessionFacts,
    SessionMeta,
    Severity,
    Status,
    Technique,
    Timepoint,
)

DATA_PACKAGE = "scribe.data"
DATA_FILE = "checks.json"
NEURO_REED = "97112"  # CPT neuromuscular re-education: the code this checker guards
THER_EX = "97110"  # CPT therapeutic exercise: where strength, endurance and ROM work belong
SEVERITY_ORDER = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}
SIGNATURE_FIELDS = ("therapist", "credentials", "date_of_service")  # SessionMeta fields, §220.3


# --- the data file ---------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindingText(_Strict):
    """Severity and wording of one kind of finding; $name placeholders are filled by the rule."""

    severity: Severity
    message: str
    fix: str

    @field_validator("message", "fix")
    @classmethod
    def _one_line_template(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if "\n" in value:
            raise ValueError("must be one line")
        if not Template(value).is_valid():
            raise ValueError("malformed $placeholder (write $$ for a dollar sign)")
        return value

    def placeholders(self) -> set[str]:
        return set(Template(self.message).get_identifiers()) | set(Template(self.fix).get_identifiers())


class RuleText(_Strict):
    why: str
    findings: dict[str, FindingText]
    parts: dict[str, str] = {}


class CheckData(_Strict):
    sources: list[str]
    same_sentence_chars: int = Field(gt=0, description="max characters between two spans of one sentence")
    list_separator: str
    list_last_separator: str
    impairments: dict[str, str] = Field(description="impairment ID -> words for it")
    addresses: dict[str, list[str]] = Field(description="technique category -> impairment IDs it addresses")
    parameter_examples: dict[str, str] = Field(description="technique category (or 'default') -> example")
    telehealth_modifiers: list[str]
    telehealth_places_of_service: list[str]
    methods: dict[Method, str]
    rules: dict[str, RuleText]

    @model_validator(mode="after")
    def _consistent(self) -> CheckData:
        for category, ids in self.addresses.items():
            unknown = [i for i in ids if i not in self.impairments]
            if unknown:
                raise ValueError(f"addresses.{category}: unknown impairment {unknown[0]!r}")
        if "default" not in self.parameter_examples:
            raise ValueError("parameter_examples: a 'default' example is required")
        extra = sorted(set(self.parameter_examples) - set(self.addresses) - {"default"})
        if extra:
            raise ValueError(f"parameter_examples: unknown technique category {extra[0]!r}")
        missing = [m.value for m in Method if m not in self.methods]
        if missing:
            raise ValueError(f"methods: no wording for {missing[0]!r}")
        return self


def load_check_data(package: str = DATA_PACKAGE, name: str = DATA_FILE) -> CheckData:
    """checks.json validated, and checked against RULES: every rule, kind and placeholder known."""
    data = load_json(package, name, CheckData)
    problem = _registry_problem(data)
    if problem:
        raise RuleFileError(problem, path=f"{package.replace('.', '/')}/{name}")
    return data


@lru_cache(maxsize=None)
def check_data() -> CheckData:
    return load_check_data()


def _registry_problem(data: CheckData) -> str | None:
    unknown_rules = sorted(data.rules.keys() - RULES.keys())
    if unknown_rules:
        return f"rules.{unknown_rules[0]}: no such rule"
    for rule_id, rule in RULES.items():
        text = data.rules.get(rule_id)
        if text is None:
            return f"rules.{rule_id}: missing"
        for kind in sorted(rule.texts.keys() ^ text.findings.keys()):
            state = "missing" if kind in rule.texts else "not made by this rule"
            return f"rules.{rule_id}.findings.{kind}: {state}"
        for kind, allowed in rule.texts.items():
            unknown = sorted(text.findings[kind].placeholders() - allowed)
            if unknown:
                return f"rules.{rule_id}.findings.{kind}: unknown placeholder ${unknown[0]}"
        for part in sorted(rule.parts ^ text.parts.keys()):
            state = "missing" if part in rule.parts else "not used by this rule"
            return f"rules.{rule_id}.parts.{part}: {state}"
    return None


# --- context and helpers ---------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """Everything a rule looks at, and the wording it writes findings with."""

    facts: SessionFacts
    meta: SessionMeta | None = None
    method: Method = Method.cms
    signed: bool = False
    data: CheckData = field(default_factory=check_data)

    def finding(self, rule: str, kind: str, *, evidence: Iterable[Evidence] = (), **values: object) -> Finding:
        text = self.data.rules[rule].findings[kind]
        filled = {k: _one_line(str(v)) for k, v in values.items()}
        return Finding(
            rule=rule,
            severity=text.severity,
            message=_one_line(Template(text.message).substitute(filled)),
            fix=_one_line(Template(text.fix).substitute(filled)),
            evidence=_distinct_evidence(evidence),
        )

    def part(self, rule: str, key: str) -> str:
        return self.data.rules[rule].parts[key]

    def addressed(self, techniques: Iterable[Technique]) -> list[str]:
        """Impairment IDs the techniques address, in table order, each once."""
        out: list[str] = []
        for t in techniques:
            for i in self.data.addresses.get(t.category, []):
                if i not in out:
                    out.append(i)
        return out

    def join(self, items: Iterable[str]) -> str:
        """'a, b and c' (separators from the data file)."""
        parts = list(items)
        if len(parts) < 2:
            return "".join(parts)
        return self.data.list_separator.join(parts[:-1]) + self.data.list_last_separator + parts[-1]

    def quote(self, texts: Iterable[str]) -> str:
        """'a', 'b' and 'c': each distinct dictated phrase once (case-insensitive), in order."""
        seen: set[str] = set()
        out: list[str] = []
        for t in texts:
            t = _one_line(t)
            if t and t.lower() not in seen:
                seen.add(t.lower())
                out.append(f"'{t}'")
        return self.join(out)

    def impairment_words(self, ids: Iterable[str]) -> str:
        return self.join(self.data.impairments.get(i, i) for i in ids)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _distinct_evidence(evidence: Iterable[Evidence]) -> list[Evidence]:
    by_span: dict[tuple[int, int], Evidence] = {}
    for e in evidence:
        by_span.setdefault((e.start, e.end), e)
    return sorted(by_span.values(), key=lambda e: (e.start, e.end))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _minutes_summary(timed: Mapping[str, int]) -> str:
    """'24 (97112) + 23 (97110) = 47', or '24 (97112)' for one code."""
    parts = " + ".join(f"{m} ({code})" for code, m in timed.items())
    return f"{parts} = {sum(timed.values())}" if len(timed) > 1 else parts


def _gap(a: Evidence, b: Evidence) -> int:
    """Characters between two spans (0 when they touch or overlap)."""
    return max(0, max(a.start, b.start) - min(a.end, b.end))


def _same_sentence(facts: SessionFacts, a: Evidence, b: Evidence) -> bool:
    """Whether two spans lie in one of the extractor's sentences (True when none are known)."""
    if not facts.sentence_starts:
        return True
    return bisect_right(facts.sentence_starts, a.start) == bisect_right(facts.sentence_starts, b.start)


def _stated_impairments(facts: SessionFacts) -> list[Mention]:
    return [m for m in facts.impairments if not m.negated]


def _performed(facts: SessionFacts) -> list[Technique]:
    return [t for t in facts.techniques if t.status is Status.performed]


def _timed_entries(facts: SessionFacts, code: str) -> list[CodeMinutes]:
    return [m for m in facts.minutes if m.timed and m.code == code and m.minutes > 0]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- the rules -------------------------------------------------------------------------


def missing_impairment(ctx: Context) -> list[Finding]:
    """No specific deficit of this patient is stated."""
    if _stated_impairments(ctx.facts):
        return []
    deficits = ctx.addressed(_performed(ctx.facts)) or list(ctx.data.impairments)
    return [ctx.finding("missing_impairment", "default", deficits=ctx.impairment_words(deficits))]


def insufficient_intervention_detail(ctx: Context) -> list[Finding]:
    """A performed technique without sets, reps or duration; or 97112 minutes and no technique."""
    rule = "insufficient_intervention_detail"
    examples = ctx.data.parameter_examples
    performed = _performed(ctx.facts)
    out = [
        ctx.finding(
            rule,
            "no_parameters",
            evidence=[t.evidence],
            name=t.name,
            example=examples.get(t.category, examples["default"]),
        )
        for t in performed
        if not t.has_parameters
    ]
    reed = _timed_entries(ctx.facts, NEURO_REED)
    if reed and not performed:
        out.append(
            ctx.finding(
                rule,
                "no_technique",
                evidence=[m.evidence for m in reed],
                minutes=sum(m.minutes for m in reed),
                quote=ctx.quote(m.evidence.text for m in reed),
            )
        )
    return out


def missing_objective_measure(ctx: Context) -> list[Finding]:
    """No valid standardized measure with a value from today or earlier (a goal does not count)."""
    measures = ctx.facts.measures
    if any(m.valid and m.timepoint in (Timepoint.current, Timepoint.prior) for m in measures):
        return []
    goals = [m for m in measures if m.timepoint is Timepoint.goal]
    if goals:
        return [
            ctx.finding(
                "missing_objective_measure",
                "goal_only",
                evidence=[m.evidence for m in goals],
                quote=ctx.quote(m.evidence.text for m in goals),
            )
        ]
    return [ctx.finding("missing_objective_measure", "none")]


def missing_functional_improvement(ctx: Context) -> list[Finding]:
    """Neither a functional goal, a reported functional change nor a function the deficit limits."""
    if ctx.facts.goals or ctx.facts.functional_changes or ctx.facts.functional_limitations:
        return []
    return [ctx.finding("missing_functional_improvement", "default")]


def medical_necessity(ctx: Context) -> list[Finding]:
    """Impairments are stated, but no performed 97112 technique addresses any of them."""
    stated = _stated_impairments(ctx.facts)
    work = [t for t in _performed(ctx.facts) if t.category in ctx.data.addresses]
    if not stated or not work:
        return []
    addressed = ctx.addressed(work)
    if any(m.id in addressed for m in stated):
        return []
    wanted = list(dict.fromkeys(m.id for m in stated))
    return [
        ctx.finding(
            "medical_necessity",
            "default",
            evidence=[m.evidence for m in stated] + [t.evidence for t in work],
            techniques=ctx.quote(t.name for t in work),
            impairments=ctx.quote(m.text for m in stated),
            addressed=ctx.impairment_words(addressed),
            wanted=ctx.impairment_words(wanted),
        )
    ]


def _phrases_finding(ctx: Context, rule: str, phrases: list[Mention], **values: object) -> list[Finding]:
    """One finding quoting every dictated phrase of a wording rule."""
    if not phrases:
        return []
    return [
        ctx.finding(
            rule,
            "default",
            evidence=[m.evidence for m in phrases],
            quote=ctx.quote(m.text for m in phrases),
            **values,
        )
    ]


def maintenance_language(ctx: Context) -> list[Finding]:
    """Maintenance wording, unless a skilled maintenance program is described (Jimmo)."""
    if ctx.facts.skilled_maintenance:
        return []
    return _phrases_finding(ctx, "maintenance_language", ctx.facts.maintenance_phrases)


def vague_language(ctx: Context) -> list[Finding]:
    """Vague wording in place of findings."""
    phrases = ctx.facts.vague_phrases
    return _phrases_finding(ctx, "vague_language", phrases, first=phrases[0].text) if phrases else []


def intent_mismatch_97110(ctx: Context) -> list[Finding]:
    """Strength/ROM work billed as 97112: no 97110 minutes, or in the 97112 minutes' sentence."""
    rule = "intent_mismatch_97110"
    reed = _timed_entries(ctx.facts, NEURO_REED)
    strength = [m for m in ctx.facts.strength_work if not m.negated]
    if not reed or not strength:
        return []
    if not _timed_entries(ctx.facts, THER_EX):
        return [
            ctx.finding(
                rule,
                "no_97110",
                evidence=[m.evidence for m in strength] + [m.evidence for m in reed],
                quote=ctx.quote(m.text for m in strength),
                first=strength[0].text,
                minutes=sum(m.minutes for m in reed),
            )
        ]
    # "Same sentence" without the text: within same_sentence_chars of a 97112 minutes span,
    # and no other code's minutes span nearer (terse notes: "NMR x 7 min ... TE x 7 min: LAQ").
    near = ctx.data.same_sentence_chars
    others = [m for m in ctx.facts.minutes if m.timed and m.code != NEURO_REED]

    def in_reed_sentence(s: Mention) -> bool:
        if not any(_same_sentence(ctx.facts, s.evidence, r.evidence) for r in reed):
            return False  # "single leg bridges 3 by 10. 97112 for 23 minutes."
        gap = min(_gap(s.evidence, r.evidence) for r in reed)
        if ctx.facts.sentence_starts and not any(_same_sentence(ctx.facts, s.evidence, o.evidence) for o in others):
            return True  # a typed line "NMR 97112 24 min: ...; mini squats on foam 2x10"
        return gap <= near and all(gap <= _gap(s.evidence, o.evidence) for o in others)

    hits = [s for s in strength if in_reed_sentence(s)]
    if not hits:
        return []
    codes = [r for r in reed if any(_gap(s.evidence, r.evidence) <= near for s in hits)]
    return [
        ctx.finding(
            rule,
            "same_sentence",
            evidence=[m.evidence for m in hits] + [m.evidence for m in codes],
            quote=ctx.quote(m.text for m in hits),
            first=hits[0].text,
            code_quote=ctx.quote(m.evidence.text for m in codes),
        )
    ]


def time_documented(ctx: Context) -> list[Finding]:
    """Timed minutes per code and total treatment time are stated, and agree (§220.3)."""
    rule = "time_documented"
    facts = ctx.facts
    timed = {code: m for code, m in facts.timed_minutes().items() if m > 0}
    total = facts.total_treatment_minutes
    total_ev = [facts.total_treatment_evidence] if facts.total_treatment_evidence else []
    if not timed:
        return [ctx.finding(rule, "no_minutes", evidence=total_ev)]
    timed_ev = [m.evidence for m in facts.minutes if m.timed and m.minutes > 0]
    if total is None:
        known = sum(timed.values()) + sum(facts.untimed_minutes().values())
        return [ctx.finding(rule, "no_total", evidence=timed_ev, timed=_minutes_summary(timed), known=known)]
    if total < sum(timed.values()):
        return [
            ctx.finding(
                rule,
                "total_below_timed",
                evidence=total_ev + timed_ev,
                total=total,
                timed=_minutes_summary(timed),
                timed_total=sum(timed.values()),
            )
        ]
    return []


def eight_minute_rule(ctx: Context) -> list[Finding]:
    """Stated units that disagree with the minutes under `method`; a timed code under 8 minutes."""
    rule = "eight_minute_rule"
    facts = ctx.facts
    timed = facts.timed_minutes()
    result = billing.compute_units(timed, ctx.method)
    method = ctx.data.methods[ctx.method]
    out: list[Finding] = []
    seen: set[tuple[str, int]] = set()
    for stated in facts.billed_units:
        if stated.code is None:  # "I'm billing four units": the visit's total
            if timed and stated.units != result.total_units and ("total", stated.units) not in seen:
                seen.add(("total", stated.units))
                out.append(ctx.finding(
                    rule, "total_mismatch", evidence=[stated.evidence], stated=stated.units,
                    computed=result.total_units, quote=ctx.quote([stated.evidence.text]),
                    minutes=_minutes_summary(timed) or "0", method=method,
                ))
            continue
        if not billing.is_timed(stated.code) or (stated.code, stated.units) in seen:
            continue  # untimed codes bill one per session, not by minutes
        if not timed:
            continue  # no minutes at all to disagree with: time_documented says so
        seen.add((stated.code, stated.units))
        computed = result.units.get(stated.code, 0)
        if stated.units != computed:
            out.append(
                ctx.finding(
                    rule,
                    "units_mismatch",
                    evidence=[stated.evidence] + [m.evidence for m in _timed_entries(facts, stated.code)],
                    code=stated.code,
                    stated=stated.units,
                    computed=computed,
                    quote=ctx.quote([stated.evidence.text]),
                    minutes=_minutes_summary(timed) or "0",
                    method=method,
                )
            )
    threshold = billing_rules().minimum_minutes
    cms = billing.compute_units(timed, Method.cms)
    for code, minutes in timed.items():
        if 0 < minutes < threshold:
            entries = _timed_entries(facts, code)
            out.append(
                ctx.finding(
                    rule,
                    "under_eight",
                    evidence=[m.evidence for m in entries],
                    code=code,
                    minutes=minutes,
                    quote=ctx.quote(m.evidence.text for m in entries),
                    total=cms.total_timed_minutes,
                    total_units=cms.total_units,
                    method=method,
                    computed=result.units.get(code, 0),
                )
            )
    return out


def telehealth_modifier(ctx: Context) -> list[Finding]:
    """A telehealth visit must state modifier, place of service and confirmed coverage."""
    rule = "telehealth_modifier"
    tele = ctx.facts.telehealth
    if not tele.telehealth:
        return []
    missing = []
    if (tele.modifier or "").strip().upper() not in ctx.data.telehealth_modifiers:
        missing.append("modifier")
    if (tele.place_of_service or "").strip().zfill(2) not in ctx.data.telehealth_places_of_service:
        missing.append("place_of_service")
    if not tele.coverage_confirmed:
        missing.append("coverage")
    if not missing:
        return []
    items = ctx.join(ctx.part(rule, k) for k in missing)
    return [ctx.finding(rule, "default", evidence=tele.evidence, items=items)]


def signature(ctx: Context) -> list[Finding]:
    """Every draft must be signed; a signed note needs name, credentials and date."""
    if not ctx.signed:
        return [ctx.finding("signature", "draft")]
    meta = ctx.meta or SessionMeta()
    missing = [k for k in SIGNATURE_FIELDS if _blank(getattr(meta, k))]
    if not missing:
        return []
    return [ctx.finding("signature", "incomplete", items=ctx.join(ctx.part("signature", k) for k in missing))]


def measure_out_of_range(ctx: Context) -> list[Finding]:
    """A measure value outside its scale: to be confirmed, never rendered as fact."""
    rule = "measure_out_of_range"
    table = measure_table()
    out = []
    for m in ctx.facts.measures:
        if m.valid:
            continue
        known = table.get(m.measure)
        value = _num(m.value) + (f"/{_num(m.max)}" if m.max is not None else f" {m.unit}")
        scale = f"{_num(known.min)}-{_num(known.max)} {known.unit}" if known else ctx.part(rule, "unknown_range")
        out.append(
            ctx.finding(
                rule,
                "default",
                evidence=[m.evidence],
                name=known.name if known else m.measure,
                value=value,
                range=scale,
                quote=ctx.quote([m.evidence.text]),
            )
        )
    return out


# --- audio: numbers Whisper was unsure of, values that cannot be, speech with no words -----

# a number the bill depends on, heard with a word probability below this, is to be confirmed
LOW_CONFIDENCE = 0.5


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def _numbers(facts: SessionFacts) -> list[tuple[str, Evidence]]:
    """(what, evidence) of every dictated number that feeds minutes, units, doses or scores."""
    out = [(f"{m.code} minutes", m.evidence) for m in facts.minutes]
    out += [(f"{b.code or 'total'} units", b.evidence) for b in facts.billed_units]
    if facts.total_treatment_evidence:
        out.append(("total treatment time", facts.total_treatment_evidence))
    out += [(m.measure.replace("_", " "), m.evidence) for m in facts.measures]
    for t in facts.techniques:
        out += [(f"{t.name} {k.replace('_', ' ')}", e) for k, e in t.parameter_evidence.items()]
    return out


def low_confidence_number(ctx: Context) -> list[Finding]:
    """A number heard with low word probability ('fifteen' heard as '50'): confirm it."""
    rule = "low_confidence_number"
    out = []
    for what, e in _numbers(ctx.facts):
        if e.confidence is not None and e.confidence < LOW_CONFIDENCE:
            out.append(ctx.finding(rule, "default", evidence=[e], what=what, quote=ctx.quote([e.text]),
                                   at=_clock(e.audio_start), confidence=f"{e.confidence:.2f}"))
    return out


def implausible_value(ctx: Context) -> list[Finding]:
    """Values that cannot all be true: one drill or one code longer than the whole session."""
    rule = "implausible_value"
    facts = ctx.facts
    total = facts.total_treatment_minutes
    out: list[Finding] = []
    if total is None:
        return out
    total_ev = [facts.total_treatment_evidence] if facts.total_treatment_evidence else []
    for m in facts.minutes:
        if m.minutes > total:
            out.append(ctx.finding(rule, "code_over_total", evidence=[m.evidence, *total_ev], code=m.code,
                                   minutes=m.minutes, total=total, quote=ctx.quote([m.evidence.text])))
    for t in facts.techniques:
        if t.status.value != "performed" or t.duration_seconds is None:
            continue
        seconds = t.duration_seconds * (t.sets or 1)
        if seconds > total * 60:
            e = t.parameter_evidence.get("duration_seconds", t.evidence)
            out.append(ctx.finding(rule, "drill_over_total", evidence=[e, *total_ev], name=t.name,
                                   minutes=_num(seconds / 60), total=total, quote=ctx.quote([e.text])))
    return out


def speech_not_transcribed(ctx: Context) -> list[Finding]:
    """Speech the voice-activity detector heard that gave no words: the note may be missing it."""
    rule = "speech_not_transcribed"
    return [ctx.finding(rule, "default", start=_clock(g.start), end=_clock(g.end), seconds=_num(g.end - g.start))
            for g in ctx.facts.audio_gaps]


# --- the table -------------------------------------------------------------------------

RuleFn = Callable[[Context], list[Finding]]


@dataclass(frozen=True)
class Rule:
    """A rule's function, the kinds of finding it makes with the placeholders each fills,
    and the named phrases ("parts") it takes from the data file."""

    run: RuleFn
    texts: Mapping[str, frozenset[str]]
    parts: frozenset[str] = frozenset()

    def __call__(self, ctx: Context) -> list[Finding]:
        return self.run(ctx)


def _rule(run: RuleFn, parts: Iterable[str] = (), **texts: str) -> Rule:
    return Rule(run, {k: frozenset(v.split()) for k, v in texts.items()}, frozenset(parts))


RULES: dict[str, Rule] = {
    "missing_impairment": _rule(missing_impairment, default="deficits"),
    "insufficient_intervention_detail": _rule(
        insufficient_intervention_detail, no_parameters="name example", no_technique="minutes quote"
    ),
    "missing_objective_measure": _rule(missing_objective_measure, none="", goal_only="quote"),
    "missing_functional_improvement": _rule(missing_functional_improvement, default=""),
    "medical_necessity": _rule(medical_necessity, default="techniques impairments addressed wanted"),
    "maintenance_language": _rule(maintenance_language, default="quote"),
    "vague_language": _rule(vague_language, default="quote first"),
    "intent_mismatch_97110": _rule(
        intent_mismatch_97110, no_97110="quote first minutes", same_sentence="quote first code_quote"
    ),
    "time_documented": _rule(
        time_documented, no_minutes="", no_total="timed known", total_below_timed="total timed timed_total"
    ),
    "eight_minute_rule": _rule(
        eight_minute_rule,
        units_mismatch="code stated computed quote minutes method",
        total_mismatch="stated computed quote minutes method",
        under_eight="code minutes quote total total_units method computed",
    ),
    "telehealth_modifier": _rule(telehealth_modifier, ("modifier", "place_of_service", "coverage"), default="items"),
    "signature": _rule(signature, SIGNATURE_FIELDS, draft="", incomplete="items"),
    "measure_out_of_range": _rule(measure_out_of_range, ("unknown_range",), default="name value range quote"),
    "low_confidence_number": _rule(low_confidence_number, default="what quote at confidence"),
    "implausible_value": _rule(
        implausible_value, code_over_total="code minutes total quote", drill_over_total="name minutes total quote"
    ),
    "speech_not_transcribed": _rule(speech_not_transcribed, default="start end seconds"),
}


# --- entry points ----------------------------------------------------------------------


def _context(
    facts: SessionFacts, meta: SessionMeta | None, method: Method | str, signed: bool
) -> Context:
    try:
        method = Method(method)
    except ValueError as exc:
        raise BillingError(f"unknown billing method {method!r} (use cms or ama)") from exc
    return Context(facts=facts, meta=meta, method=method, signed=signed, data=check_data())


def check_rule(
    rule_id: str,
    facts: SessionFacts,
    *,
    meta: SessionMeta | None = None,
    method: Method = Method.cms,
    signed: bool = False,
) -> list[Finding]:
    """The findings of one rule (KeyError for an unknown rule ID)."""
    return RULES[rule_id](_context(facts, meta, method, signed))


def check(
    facts: SessionFacts,
    *,
    meta: SessionMeta | None = None,
    method: Method = Method.cms,
    signed: bool = False,
) -> list[Finding]:
    """Every rule's findings, sorted by severity (error, warning, info) then rule ID."""
    ctx = _context(facts, meta, method, signed)
    findings = [f for rule in RULES.values() for f in rule(ctx)]
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.rule))
