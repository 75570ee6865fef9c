"""Evaluation harness: extraction against hand-labelled dictations.

A folder holds `transcripts/NAME.txt` and `expected/NAME.json` (samples/LABELLING.md),
and optionally `heldout/` laid out the same way. Every split is scored per field:
precision / recall / F1 for techniques, measures, findings and the clinical lists;
accuracy for context status and each parameter over matched techniques; exact match
per dictation for minutes, units and total time; and the count of planned or declined
techniques taken as performed (which must be zero).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from .errors import InputError
from .pipeline import build_note, extraction_summary, load_transcript
from .schema import Method

# the targets of the "Extraction to clinical grade" issue
TARGETS = {
    "technique_f1": 0.95,
    "measure_f1": 0.95,
    "parameter_accuracy": 0.90,
    "minutes_exact": 0.95,
    "units_exact": 0.95,
}
PARAMS = ("sets", "reps", "duration_seconds", "equipment")
LIST_FIELDS = ("impairments", "diagnoses", "assist_levels", "cues")


class Score:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, predicted: Counter, expected: Counter) -> None:
        hit = sum((predicted & expected).values())
        self.tp += hit
        self.fp += sum(predicted.values()) - hit
        self.fn += sum(expected.values()) - hit

    def as_dict(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}


def _nonzero(d: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in d.items() if v}


def _match_techniques(pred: list[dict], exp: list[dict]) -> list[tuple[dict, dict]]:
    """Pair each expected technique with the most similar predicted one of its category."""
    pairs = []

    def similarity(p: dict, e: dict) -> int:
        return (p["status"] == e["status"]) * 10 + sum(p[k] == e[k] for k in ("sets", "reps", "duration_seconds")) \
            + (sorted(p["equipment"]) == sorted(e["equipment"]))

    # the most similar pairs first, so one mention never takes another's better partner
    candidates = sorted(
        ((similarity(p, e), -i, -j, i, j) for j, e in enumerate(exp) for i, p in enumerate(pred) if p["category"] == e["category"]),
        reverse=True,
    )
    used_p: set[int] = set()
    used_e: set[int] = set()
    for _, _, _, i, j in candidates:
        if i in used_p or j in used_e:
            continue
        used_p.add(i)
        used_e.add(j)
        pairs.append((pred[i], exp[j]))
    return pairs


def _value(v: Any) -> Any:
    return round(float(v), 3) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def evaluate_pairs(pairs: list[tuple[str, dict, dict]]) -> dict[str, Any]:
    """Scores for (name, predicted summary, expected labels) triples."""
    tech, meas, find = Score(), Score(), Score()
    lists = {k: Score() for k in LIST_FIELDS}
    status_ok = status_n = 0
    param_ok = Counter()
    param_n = Counter()
    exact = Counter()
    planned_as_performed = 0
    errors: list[dict[str, Any]] = []
    key = lambda m: (m["measure"], _value(m["value"]), m["timepoint"])  # noqa: E731
    for name, pred, exp in pairs:
        compared = {
            "techniques": (tech, Counter(t["category"] for t in pred["techniques"]),
                           Counter(t["category"] for t in exp["techniques"])),
            "measures": (meas, Counter(key(m) for m in pred["measures"] if m.get("valid", True)),
                         Counter(key(m) for m in exp["measures"])),
            # a rule fires or not: two findings of one rule are one rule ID
            "findings": (find, Counter({f["rule"] for f in pred["findings"] if f["rule"] != "signature"}),
                         Counter({r for r in exp["findings"] if r != "signature"})),
        }
        for field, (score, got, want) in compared.items():
            score.add(got, want)
            if got != want:
                errors.append({"file": name, "field": field, "missing": sorted(map(str, want - got)),
                               "extra": sorted(map(str, got - want))})
        matched = _match_techniques(pred["techniques"], exp["techniques"])
        for p, e in matched:
            status_n += 1
            status_ok += p["status"] == e["status"]
            for k in PARAMS:
                param_n[k] += 1
                same = sorted(p[k]) == sorted(e[k]) if k == "equipment" else _value(p[k]) == _value(e[k])
                param_ok[k] += same
                if not same:
                    errors.append({"file": name, "field": k, "category": e["category"], "predicted": p[k], "expected": e[k]})
            if e["status"] != "performed" and p["status"] == "performed":
                planned_as_performed += 1
        matched_pred = {id(p) for p, _ in matched}
        exp_cats_performed = {e["category"] for e in exp["techniques"] if e["status"] == "performed"}
        for p in pred["techniques"]:
            if id(p) not in matched_pred and p["status"] == "performed" and p["category"] not in exp_cats_performed \
                    and any(e["category"] == p["category"] for e in exp["techniques"]):
                planned_as_performed += 1
        for k in LIST_FIELDS:
            got = pred[k] if k != "diagnoses" else [d["id"] for d in pred[k]]
            lists[k].add(Counter(set(got)), Counter(set(exp[k])))
        checks = {
            "minutes": pred["minutes"] == exp["minutes"],
            "untimed_minutes": pred["untimed_minutes"] == exp["untimed_minutes"],
            "units": _nonzero(pred["units"]) == _nonzero(exp["units"]),
            "total_treatment_minutes": pred["total_treatment_minutes"] == exp["total_treatment_minutes"],
            "telehealth": pred["telehealth"] == exp["telehealth"],
        }
        for k, ok in checks.items():
            exact[k] += ok
            if not ok:
                errors.append({"file": name, "field": k, "predicted": pred[k], "expected": exp[k]})
    n = len(pairs)
    param_total = sum(param_ok.values()) / sum(param_n.values()) if sum(param_n.values()) else 1.0
    return {
        "dictations": n,
        "techniques": tech.as_dict(),
        "context_status_accuracy": round(status_ok / status_n, 4) if status_n else 1.0,
        "parameters": {k: round(param_ok[k] / param_n[k], 4) if param_n[k] else 1.0 for k in PARAMS},
        "parameter_accuracy": round(param_total, 4),
        "measures": meas.as_dict(),
        "findings": find.as_dict(),
        **{k: lists[k].as_dict() for k in LIST_FIELDS},
        "exact": {k: round(v / n, 4) if n else 1.0 for k, v in exact.items()},
        "planned_or_declined_counted_as_performed": planned_as_performed,
        "errors": errors,
    }


def load_split(folder: Path) -> list[tuple[str, Path, dict]]:
    """(name, transcript path, labels) for every labelled transcript in folder."""
    tdir, edir = folder / "transcripts", folder / "expected"
    if not tdir.is_dir() or not edir.is_dir():
        raise InputError("needs transcripts/ and expected/ folders (samples/LABELLING.md)", path=str(folder))
    out = []
    for label in sorted(edir.glob("*.json")):
        transcript = tdir / (label.stem + ".txt")
        if not transcript.exists():
            raise InputError(f"has a label without a transcript: {label.name}", path=str(folder))
        try:
            out.append((label.stem, transcript, json.loads(label.read_text(encoding="utf-8"))))
        except json.JSONDecodeError as exc:
            raise InputError(f"line {exc.lineno}: not valid JSON", path=str(label)) from exc
    return out


def evaluate_split(folder: Path, method: Method | str = Method.cms) -> dict[str, Any]:
    pairs = []
    split = load_split(folder)
    if not split:
        raise InputError("has no labelled dictations in expected/", path=str(folder))
    for name, path, labels in split:
        note = build_note(load_transcript(path), method=Method(method))
        pairs.append((name, extraction_summary(note), labels))
    return evaluate_pairs(pairs)


def evaluate_dir(folder: Path, method: Method | str = Method.cms) -> dict[str, Any]:
    """Scores per split: `dev` (folder) and `heldout` (folder/heldout) when present."""
    report: dict[str, Any] = {"splits": {}}
    report["splits"]["dev"] = evaluate_split(folder, method)
    heldout = folder / "heldout"
    if (heldout / "expected").is_dir() and any((heldout / "expected").glob("*.json")):
        report["splits"]["heldout"] = evaluate_split(heldout, method)
    for split in report["splits"].values():
        split["targets_met"] = targets_met(split)
    return report


def targets_met(split: dict[str, Any]) -> dict[str, bool]:
    return {
        "technique_f1": split["techniques"]["f1"] >= TARGETS["technique_f1"],
        "measure_f1": split["measures"]["f1"] >= TARGETS["measure_f1"],
        "parameter_accuracy": split["parameter_accuracy"] >= TARGETS["parameter_accuracy"],
        "minutes_exact": split["exact"]["minutes"] >= TARGETS["minutes_exact"],
        "units_exact": split["exact"]["units"] >= TARGETS["units_exact"],
        "no_planned_as_performed": split["planned_or_declined_counted_as_performed"] == 0,
    }


def format_report(report: dict[str, Any]) -> str:
    lines = []
    for name, s in report["splits"].items():
        lines.append(f"== {name}: {s['dictations']} dictations")
        for field in ("techniques", "measures", "findings", *LIST_FIELDS):
            d = s[field]
            lines.append(f"  {field:<24} P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}")
        lines.append(f"  {'context status':<24} accuracy {s['context_status_accuracy']:.3f}")
        for k, v in s["parameters"].items():
            lines.append(f"  {'param ' + k:<24} accuracy {v:.3f}")
        lines.append(f"  {'parameters (all)':<24} accuracy {s['parameter_accuracy']:.3f}")
        for k, v in s["exact"].items():
            lines.append(f"  {k + ' exact':<24} {v:.3f} of dictations")
        lines.append(f"  planned/declined counted as performed: {s['planned_or_declined_counted_as_performed']}")
        met = s["targets_met"]
        lines.append("  targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in met.items()))
    return "\n".join(lines)
