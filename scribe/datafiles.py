"""Load the data files shipped inside the package, validating each on load.

Rules and vocabularies are data (techniques, measures, CPT codes, phrases). A typo in
one fails at start-up with the file and line, never silently (medspacy habit).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from .errors import RuleFileError

M = TypeVar("M", bound=BaseModel)


def _read(package: str, name: str) -> str:
    try:
        return resources.files(package).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RuleFileError("data file is missing", path=f"{package}/{name}") from exc


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "value"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"


def load_json(package: str, name: str, model: type[M]) -> M:
    """One JSON document validated against `model`."""
    path = f"{package.replace('.', '/')}/{name}"
    try:
        raw = json.loads(_read(package, name))
    except json.JSONDecodeError as exc:
        raise RuleFileError(f"line {exc.lineno}: not valid JSON: {exc.msg}", path=path) from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RuleFileError(_one_line(exc), path=path) from exc


def load_jsonl(package: str, name: str, model: type[M]) -> list[M]:
    """One rule per line (blank lines and lines starting with // are skipped)."""
    path = f"{package.replace('.', '/')}/{name}"
    out: list[M] = []
    for lineno, line in enumerate(_read(package, name).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            out.append(model.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise RuleFileError(f"line {lineno}: not valid JSON: {exc.msg}", path=path) from exc
        except ValidationError as exc:
            raise RuleFileError(f"line {lineno}: {_one_line(exc)}", path=path) from exc
    return out


# --- domain tables (scribe/data) -------------------------------------------------------


class _Strict(BaseModel):
    model_config = {"extra": "forbid"}


class BillingRules(_Strict):
    unit_minutes: int
    minimum_minutes: int
    sources: list[str]
    note: str = ""


class CptCode(_Strict):
    code: str
    name: str
    timed: bool
    spoken: list[str] = []


class CptTable(_Strict):
    source: str
    codes: list[CptCode]

    def get(self, code: str) -> CptCode | None:
        return next((c for c in self.codes if c.code == code), None)


class DisplayLabels(_Strict):
    note: str = ""
    labels: dict[str, str]


class MeasureDef(_Strict):
    id: str
    name: str
    min: float
    max: float
    unit: str
    better: str
    fall_risk: str | None = None
    mcid: str | None = None
    source: str
    loinc: str | None = None
    aliases: list[str]
    units_spoken: dict[str, str] = {}
    # names of a drill that are this measure when a score follows them ("single leg
    # stance was 18 seconds"), and a drill otherwise ("single leg stance, 3 x 20 sec")
    drill_names: list[str] = []


class MeasureTable(_Strict):
    measures: list[MeasureDef]

    def get(self, measure_id: str) -> MeasureDef | None:
        return next((m for m in self.measures if m.id == measure_id), None)


@lru_cache(maxsize=None)
def billing_rules() -> BillingRules:
    return load_json("scribe.data", "billing.json", BillingRules)


@lru_cache(maxsize=None)
def cpt_table() -> CptTable:
    return load_json("scribe.data", "cpt.json", CptTable)


@lru_cache(maxsize=None)
def measure_table() -> MeasureTable:
    return load_json("scribe.data", "measures.json", MeasureTable)


@lru_cache(maxsize=None)
def display_labels() -> DisplayLabels:
    return load_json("scribe.data", "labels.json", DisplayLabels)
