"""Render a Note as Markdown, HTML, plain text or JSON.

Templates live in templates/ (shipped as the package `scribe.templates`); a clinic may
pass its own Jinja template file instead. Every template gets the same view-model
context, built here from the Note as plain dicts and lists (see templates/README.md),
so templates stay simple and never compute clinical values themselves. Nothing is
filled in: what the dictation did not state is shown as "not stated" or "Not
documented in dictation.".
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from .datafiles import MeasureDef, cpt_table, display_labels, measure_table
from .errors import TemplateError, UsageError
from .schema import Evidence, Measure, Mention, Note, Statement, Status, Technique, Timepoint

TEMPLATE_PACKAGE = "scribe.templates"
FORMATS = ("md", "html", "txt", "json")
NOT_STATED = "not stated"  # a single field the dictation did not give
NOT_DOCUMENTED = "Not documented in dictation."  # a whole section with nothing dictated
DRAFT_STATUS = "Draft — not signed"
# Template names that get HTML autoescape (user templates: also any name when fmt="html").
HTML_EXTENSIONS = ("html", "htm", "html.j2", "htm.j2")
TEXT_EXTENSIONS = ("md", "md.j2", "txt", "txt.j2")
SECONDS_PER_MINUTE = 60

UNIT_SUFFIX = {"points": "points", "seconds": "s", "percent": "%", "meters": "m",
               "feet": "ft", "inches": "in", "cm": "cm", "m/s": "m/s"}
STATUS_LABEL = {Status.performed: "performed", Status.planned: "planned",
                Status.not_performed: "not performed today", Status.historical: "earlier visit"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
METHOD_LABEL = {"cms": "CMS total-time method, 8-minute rule",
                "ama": "AMA/CPT midpoint method"}


# --- public API -----------------------------------------------------------------------


def render(note: Note, fmt: str = "md", template: str | Path | None = None) -> str:
    """The note as text in `fmt` (md, html, txt, json), or through a clinic's template."""
    try:
        writer = WRITERS[fmt]
    except KeyError:
        choices = ", ".join(FORMATS)
        raise UsageError(f"unknown output format {fmt!r}; choose one of {choices}") from None
    return writer(note, fmt, Path(template) if template is not None else None)


def build_context(note: Note) -> dict[str, Any]:
    """The variables every template sees: plain dicts/lists (documented in templates/README.md)."""
    f = note.facts
    techniques = [_technique(t) for t in f.techniques]
    by_status = {s: [t for t in techniques if t["status"] == s.value] for s in Status}
    measures, to_confirm = _measures(f.measures)
    # checks.py reports out-of-range values itself (measure_out_of_range): list each once
    reported = {(e.start, e.end) for x in note.findings for e in x.evidence}
    to_confirm = [c for c in to_confirm
                  if (c["evidence"]["start"], c["evidence"]["end"]) not in reported]
    therapist = note.meta.therapist or NOT_STATED
    credentials = note.meta.credentials or NOT_STATED
    date_text = note.meta.date_of_service.isoformat() if note.meta.date_of_service else NOT_STATED
    ctx: dict[str, Any] = {
        "visit": {
            "patient": note.meta.patient or NOT_STATED,
            "date_of_service": date_text,
            "therapist": therapist,
            "credentials": credentials,
            "payer": note.meta.payer or NOT_STATED,
            "diagnosis_codes": list(note.meta.diagnosis_codes),
            "telehealth": _telehealth(note),
            "source": note.transcript.source or NOT_STATED,
        },
        "diagnoses": [_mention(m) for m in f.diagnoses],
        "impairments": [_mention(m) for m in f.impairments],
        "interventions": {
            "performed": by_status[Status.performed],
            "not_performed": by_status[Status.not_performed],
            "historical": by_status[Status.historical],
        },
        "time": _time(note),
        "billing": _billing(note),
        "measures": measures,
        "to_confirm": to_confirm,
        "response": {
            "statements": [_statement(s) for s in f.responses],
            "assist_levels": [_mention(m, capital=False) for m in f.assist_levels],
            "cues": [_mention(m, capital=False) for m in f.cues],
            "absent": [_mention(m, capital=False) for m in f.negated_findings],
        },
        "functional_changes": [_statement(s) for s in f.functional_changes],
        "functional_limitations": [_statement(s) for s in f.functional_limitations],
        "goals": [_statement(s) for s in f.goals],
        "plan": {
            "statements": [_statement(s) for s in f.plan],
            "techniques": by_status[Status.planned],
        },
        "findings": _findings(note),
        "signature": {
            "name": therapist,
            "credentials": credentials,
            "date_of_service": date_text,
            "signed": False,  # the Note model carries no signature yet
            "status": DRAFT_STATUS,
        },
        "scribe_version": note.scribe_version,
        "not_stated": NOT_STATED,
        "not_documented": NOT_DOCUMENTED,
        "note": note.model_dump(mode="json"),
    }
    ctx["evidence"] = _evidence_index(ctx)
    return ctx


# --- writers (chosen from a table by format) ------------------------------------------


def _write_json(note: Note, fmt: str, template: Path | None) -> str:
    if template is not None:
        raise UsageError("json output is the Note itself and takes no template")
    return note.model_dump_json(indent=2) + "\n"


def _write_template(note: Note, fmt: str, template: Path | None) -> str:
    if template is None:
        env = _environment(fmt, _package_loader())
        name, shown = PACKAGE_TEMPLATES[fmt], f"{TEMPLATE_PACKAGE}/{PACKAGE_TEMPLATES[fmt]}"
    else:
        if not template.is_file():
            raise TemplateError("template file not found", path=str(template))
        # The clinic's folder first, so its own macros win; ours stay importable.
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(template.parent)),
                                      _package_loader()])
        env = _environment(fmt, loader)
        name, shown = template.name, str(template)
    return _render_template(env, name, shown, build_context(note))


PACKAGE_TEMPLATES = {"md": "note.md.j2", "html": "note.html.j2", "txt": "note.txt.j2"}
WRITERS: dict[str, Callable[[Note, str, Path | None], str]] = {
    "md": _write_template,
    "html": _write_template,
    "txt": _write_template,
    "json": _write_json,
}


# --- Jinja ----------------------------------------------------------------------------


def _package_loader() -> jinja2.BaseLoader:
    try:
        folder = resources.files(TEMPLATE_PACKAGE)
    except ModuleNotFoundError as exc:
        raise TemplateError("note templates are not installed (pip install -e .)",
                            path=TEMPLATE_PACKAGE) from exc
    return jinja2.FileSystemLoader(str(folder))


def _environment(fmt: str, loader: jinja2.BaseLoader) -> jinja2.Environment:
    """StrictUndefined always; autoescape for HTML; sandboxed, as clinics share templates."""
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=HTML_EXTENSIONS,
            disabled_extensions=TEXT_EXTENSIONS,
            default_for_string=fmt == "html",
            default=fmt == "html",
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md_escape
    env.filters["htmlattr"] = _html_attr
    return env


def _render_template(env: jinja2.Environment, name: str, shown: str, ctx: dict) -> str:
    """Load and render; any failure becomes one TemplateError line naming the file."""
    try:
        tmpl = env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or shown
        raise TemplateError(f"line {exc.lineno}: syntax error: {exc.message}", path=where) from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} not found", path=shown) from exc
    except UnicodeDecodeError as exc:
        raise TemplateError("template is not UTF-8 text", path=shown) from exc
    try:
        return tmpl.render(ctx)
    except jinja2.TemplateSyntaxError as exc:  # an {% include %} that does not parse
        raise TemplateError(f"line {exc.lineno}: syntax error: {exc.message}",
                            path=exc.filename or shown) from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"included template {exc.name!r} not found", path=shown) from exc
    except Exception as exc:  # noqa: BLE001 - a clinic template may fail in any way
        path, line = _template_frame(exc, shown)
        kind = "undefined variable" if isinstance(exc, jinja2.UndefinedError) else "error"
        at = f"line {line}: " if line else ""
        raise TemplateError(f"{at}{kind}: {exc}", path=path) from exc


def _template_frame(exc: BaseException, shown: str) -> tuple[str, int | None]:
    """The template file and line where rendering failed (Jinja rewrites the traceback)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename.endswith(".py") and not frame.filename.startswith("<"):
            return frame.filename, frame.lineno
    return shown, None


def _html_attr(value: Any) -> Markup:
    """An attribute value escaped with &quot; (what the evidence title is specified as)."""
    return Markup(html.escape(str(value), quote=True))


def _md_escape(value: Any) -> str:
    """Dictated text made safe for Markdown tables and inline HTML."""
    out = str(value).replace("\\", "\\\\").replace("\n", " ")
    for ch in "`*_<>|[]":
        out = out.replace(ch, "\\" + ch)
    return out


# --- view model -----------------------------------------------------------------------


def _label(id_: str, capital: bool = False) -> str:
    text = display_labels().labels.get(id_, id_.replace("_", " "))
    return text[:1].upper() + text[1:] if capital else text


def _num(value: float) -> str:
    """44.0 -> '44', 14.20 -> '14.2', 0.856 -> '0.86'."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _ev(e: Evidence | None) -> dict | None:
    if e is None:
        return None
    where = f"chars {e.start}-{e.end}"
    short = where
    if e.audio_start is not None and e.audio_end is not None:
        short = f"{e.audio_start:.1f}-{e.audio_end:.1f} s"
        where += f", audio {short}"
    if e.confidence is not None:
        where += f", Whisper probability {e.confidence:.2f}"
    return {"text": e.text, "start": e.start, "end": e.end, "audio_start": e.audio_start,
            "audio_end": e.audio_end, "where": where, "short": short,
            "title": f'"{e.text}" ({where})'}


def _ev_many(items: Iterable[Evidence | None]) -> dict | None:
    """Several spans shown as one: the first span's offsets, every span's words."""
    evs = [_ev(e) for e in items if e is not None]
    uniq = list({(e["start"], e["end"]): e for e in evs}.values())
    if len(uniq) <= 1:
        return uniq[0] if uniq else None
    first = dict(uniq[0])
    first["text"] = " … ".join(e["text"] for e in uniq)
    first["where"] = "; ".join(e["where"] for e in uniq)
    first["short"] = "; ".join(e["short"] for e in uniq)
    first["title"] = " · ".join(e["title"] for e in uniq)
    return first


def _mention(m: Mention, capital: bool = True) -> dict:
    label = _label(m.id, capital=capital)
    return {"id": m.id, "label": label, "text": m.text, "side": m.side, "negated": m.negated,
            "display": f"{label} ({m.side})" if m.side else label, "evidence": _ev(m.evidence)}


def _statement(s: Statement) -> dict:
    return {"text": s.text, "evidence": _ev(s.evidence)}


def _duration(seconds: float) -> str:
    if seconds >= SECONDS_PER_MINUTE and seconds % SECONDS_PER_MINUTE == 0:
        return f"{_num(seconds / SECONDS_PER_MINUTE)} min"
    return f"{_num(seconds)} s"


def _parameters(t: Technique) -> str | None:
    """'3 x 10', '3 x 30 s', '3 x 10, 5 s holds', '10 reps', '5 min'; None if nothing said."""
    dur = _duration(t.duration_seconds) if t.duration_seconds is not None else None
    if t.sets is not None and t.reps is not None:
        return f"{t.sets} x {t.reps}" + (f", {dur} holds" if dur else "")
    if t.sets is not None:
        return f"{t.sets} x {dur}" if dur else f"{t.sets} sets"
    if t.reps is not None:
        return f"{t.reps} reps" + (f", {dur} holds" if dur else "")
    return dur


def _technique(t: Technique) -> dict:
    params = _parameters(t)
    evidence = _ev(t.evidence)
    equipment = [_label(e) for e in t.equipment]
    cues = [_label(c) for c in t.cues]
    return {
        "name": t.name,
        "category": t.category,
        "category_label": _label(t.category, capital=True),
        "status": t.status.value,
        "status_label": STATUS_LABEL[t.status],
        "parameters": params or NOT_STATED,
        "has_parameters": params is not None,
        "sets": t.sets,
        "reps": t.reps,
        "duration_seconds": t.duration_seconds,
        "duration": _duration(t.duration_seconds) if t.duration_seconds is not None else None,
        "equipment": equipment,
        "equipment_text": ", ".join(equipment) or NOT_STATED,
        "assist_level": _label(t.assist_level) if t.assist_level else NOT_STATED,
        "cues": cues,
        "cues_text": ", ".join(cues) or NOT_STATED,
        "evidence": evidence,
        # the words the numbers came from; the whole technique's words if none recorded
        "parameter_evidence": _ev_many(t.parameter_evidence.values()) or evidence,
    }


def _value_text(value: float, maximum: float | None, unit: str) -> str:
    suffix = UNIT_SUFFIX.get(unit, unit)
    if unit == "percent":
        return f"{_num(value)}%"
    if maximum is not None:
        return f"{_num(value)}/{_num(maximum)}" + ("" if unit == "points" else f" {suffix}")
    return f"{_num(value)} {suffix}"


def _measure_value(m: Measure) -> dict:
    return {"value": m.value, "max": m.max, "unit": m.unit,
            "text": _value_text(m.value, m.max, m.unit), "evidence": _ev(m.evidence)}


def _change(current: Measure, prior: Measure, better: str | None) -> dict:
    amount = round(current.value - prior.value, 2)
    suffix = UNIT_SUFFIX.get(current.unit, current.unit)
    sign = "+" if amount > 0 else "−" if amount < 0 else "±"
    # a change on a percent scale is in points (ABC 52% -> 64% is +12 points, not +12 %)
    text = f"{sign}{_num(abs(amount))} " + ("points" if current.unit == "percent" else suffix)
    if amount == 0:
        direction = "no change"
    elif better in ("higher", "lower"):
        direction = "improved" if (amount > 0) == (better == "higher") else "declined"
    else:
        direction = None
    return {"amount": amount, "text": text, "direction": direction,
            "display": f"{text} ({direction})" if direction else text}


def _range_text(d: MeasureDef) -> str:
    return f"{_num(d.min)}–{_num(d.max)} {UNIT_SUFFIX.get(d.unit, d.unit)}"


def _measures(items: list[Measure]) -> tuple[list[dict], list[dict]]:
    """Valid values grouped per measure and side; invalid ones returned apart, to confirm."""
    table = measure_table()
    groups: dict[tuple[str, str | None], dict[Timepoint, list[Measure]]] = {}
    to_confirm = []
    for m in items:
        definition = table.get(m.measure)
        name = definition.name if definition else _label(m.measure, capital=True)
        if not m.valid:
            reason = "outside the measure's range"
            if definition:
                reason = f"outside the {_range_text(definition)} range of the {name}"
            to_confirm.append({"measure": m.measure, "name": name, "side": m.side,
                               "timepoint": m.timepoint.value,
                               "text": _value_text(m.value, m.max, m.unit), "reason": reason,
                               "evidence": _ev(m.evidence)})
            continue
        groups.setdefault((m.measure, m.side), {tp: [] for tp in Timepoint})[m.timepoint].append(m)
    rows = []
    for (measure_id, side), by_tp in groups.items():
        definition = table.get(measure_id)
        name = definition.name if definition else _label(measure_id, capital=True)
        cur, pri, goal = by_tp[Timepoint.current], by_tp[Timepoint.prior], by_tp[Timepoint.goal]
        change = None
        if len(cur) == 1 and len(pri) == 1 and cur[0].unit == pri[0].unit:
            change = _change(cur[0], pri[0], definition.better if definition else None)
        rows.append({
            "measure": measure_id,
            "name": name,
            "side": side,
            "display": f"{name} ({side})" if side else name,
            "better": definition.better if definition else None,
            "range": _range_text(definition) if definition else None,
            "current": [_measure_value(m) for m in cur],
            "prior": [_measure_value(m) for m in pri],
            "goal": [_measure_value(m) for m in goal],
            "change": change,
        })
    return rows, to_confirm


def _code_name(code: str) -> str:
    entry = cpt_table().get(code)
    return entry.name if entry else NOT_STATED


def _time(note: Note) -> dict:
    f = note.facts
    billed = note.units.units if note.units else {}
    rows: dict[str, dict] = {}
    spans: dict[str, list[Evidence]] = {}
    for m in f.minutes:
        row = rows.setdefault(m.code, {"code": m.code, "name": _code_name(m.code),
                                       "minutes": 0, "timed": m.timed})
        row["minutes"] += m.minutes
        spans.setdefault(m.code, []).append(m.evidence)
    for code, row in rows.items():
        row["units"] = billed.get(code, 0) if row["timed"] and note.units else None
        row["evidence"] = _ev_many(spans[code])
    codes = list(rows.values())
    timed = [r for r in codes if r["timed"]]
    return {
        "codes": codes,
        "timed": timed,
        "untimed": [r for r in codes if not r["timed"]],
        "total_timed_minutes": sum(r["minutes"] for r in timed) if timed else None,
        "total_treatment_minutes": f.total_treatment_minutes,
        "total_treatment_evidence": _ev(f.total_treatment_evidence),
    }


def _billing(note: Note) -> dict:
    u = note.units
    stated = [{"code": b.code or "total", "name": _code_name(b.code) if b.code else "All timed codes", "units": b.units,
               "evidence": _ev(b.evidence)} for b in note.facts.billed_units]
    if u is None:
        return {"calculated": False, "method": None, "method_label": NOT_STATED,
                "total_units": None, "total_timed_minutes": None, "units": [], "stated": stated}
    return {
        "calculated": True,
        "method": u.method.value,
        "method_label": METHOD_LABEL.get(u.method.value, u.method.value),
        "total_units": u.total_units,
        "total_timed_minutes": u.total_timed_minutes,
        "units": [{"code": c, "name": _code_name(c), "units": n} for c, n in u.units.items()],
        "stated": stated,
    }


def _telehealth(note: Note) -> dict:
    t = note.facts.telehealth
    return {"telehealth": t.telehealth, "modifier": t.modifier or NOT_STATED,
            "place_of_service": t.place_of_service or NOT_STATED,
            "coverage_confirmed": t.coverage_confirmed, "evidence": _ev_many(t.evidence)}


def _findings(note: Note) -> list[dict]:
    ordered = sorted(note.findings, key=lambda x: SEVERITY_ORDER.get(x.severity.value, 9))
    return [{"severity": x.severity.value, "rule": x.rule, "message": x.message, "fix": x.fix,
             "evidence": [_ev(e) for e in x.evidence]} for x in ordered]


def _evidence_index(ctx: dict) -> list[dict]:
    """Fact -> dictated words, once per span, for the Evidence section of md/txt notes."""
    out: list[dict] = []
    seen: set[tuple[str, int, int]] = set()

    def add(fact: str, e: dict | None) -> None:
        if e and (fact, e["start"], e["end"]) not in seen:
            seen.add((fact, e["start"], e["end"]))
            out.append({"fact": fact, "quote": e["text"], "where": e["short"],
                        "start": e["start"], "end": e["end"]})

    for m in ctx["diagnoses"]:
        add(f"Diagnosis: {m['display']}", m["evidence"])
    for m in ctx["impairments"]:
        add(f"Impairment: {m['display']}", m["evidence"])
    for group in ("performed", "not_performed", "historical"):
        for t in ctx["interventions"][group]:
            add(f"{t['name']} ({t['status_label']})", t["evidence"])
            if t["has_parameters"] and t["parameter_evidence"] is not t["evidence"]:
                add(f"{t['name']}: {t['parameters']}", t["parameter_evidence"])
    for r in ctx["time"]["codes"]:
        add(f"{r['code']} {r['minutes']} min", r["evidence"])
    if ctx["time"]["total_treatment_minutes"] is not None:
        add(f"Total treatment time {ctx['time']['total_treatment_minutes']} min",
            ctx["time"]["total_treatment_evidence"])
    for s in ctx["billing"]["stated"]:
        add(f"{s['code']} {s['units']} units stated", s["evidence"])
    for row in ctx["measures"]:
        for tp in ("current", "prior", "goal"):
            for v in row[tp]:
                add(f"{row['display']} {tp}: {v['text']}", v["evidence"])
    for c in ctx["to_confirm"]:
        add(f"{c['name']} (to confirm): {c['text']}", c["evidence"])
    for key, label in (("assist_levels", "Assist"), ("cues", "Cues"), ("absent", "Absent")):
        for m in ctx["response"][key]:
            add(f"{label}: {m['display']}", m["evidence"])
    for label, items in (("Response", ctx["response"]["statements"]),
                         ("Functional change", ctx["functional_changes"]),
                         ("Functional limitation", ctx["functional_limitations"]),
                         ("Goal", ctx["goals"]), ("Plan", ctx["plan"]["statements"])):
        for s in items:
            add(label, s["evidence"])
    for t in ctx["plan"]["techniques"]:
        add(f"{t['name']} (planned)", t["evidence"])
    if ctx["visit"]["telehealth"]["telehealth"]:
        add("Telehealth", ctx["visit"]["telehealth"]["evidence"])
    return out
