"""Units for timed CPT codes: the CMS total-time method and the AMA midpoint method.

Pure functions over {code: minutes}. The figures (15-minute unit, 8-minute threshold)
come from scribe/data/billing.json with their sources; untimed codes (97150, 97010,
evaluations) count toward total treatment time only and never earn units here.
"""

from __future__ import annotations

from collections.abc import Mapping

from .datafiles import billing_rules, cpt_table
from .errors import BillingError
from .schema import Method, UnitsResult


def units_for_minutes(minutes: int) -> int:
    """Units that `minutes` of timed service earn: 8-22 -> 1, 23-37 -> 2, ...; under 8 -> 0."""
    rules = billing_rules()
    if minutes < rules.minimum_minutes:
        return 0
    # floor((T + 7) / 15): the unit is earned once the midpoint of the next 15 is passed.
    return (minutes + rules.unit_minutes - rules.minimum_minutes) // rules.unit_minutes


def _validate(minutes: Mapping[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for code, value in minutes.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise BillingError(f"minutes for {code} must be a whole number, got {value!r}")
        if value < 0:
            raise BillingError(f"minutes for {code} cannot be negative ({value})")
        out[str(code)] = out.get(str(code), 0) + value
    return out


def is_timed(code: str) -> bool:
    """Unknown codes are treated as timed: a 97xxx code the table lacks is billed by time."""
    entry = cpt_table().get(code)
    return True if entry is None else entry.timed


def cms_units(minutes: Mapping[str, int]) -> dict[str, int]:
    """CMS total-time method (Pub 100-04, ch. 5, section 20.2).

    The total of all timed minutes fixes the number of units. Each code first gets one
    unit per full 15 minutes; the remaining units go to the codes with the most
    remaining minutes (ties: the code listed first).
    """
    timed = {c: m for c, m in _validate(minutes).items() if is_timed(c)}
    step = billing_rules().unit_minutes
    total_units = units_for_minutes(sum(timed.values()))
    units = {c: m // step for c, m in timed.items()}
    left = total_units - sum(units.values())
    order = sorted(timed, key=lambda c: -(timed[c] % step))  # stable: ties keep dictation order
    for code in order[: max(left, 0)]:
        units[code] += 1
    return units


def ama_units(minutes: Mapping[str, int]) -> dict[str, int]:
    """AMA/CPT midpoint method: each code on its own earns a unit past 8 minutes."""
    timed = {c: m for c, m in _validate(minutes).items() if is_timed(c)}
    return {c: units_for_minutes(m) for c, m in timed.items()}


def compute_units(minutes: Mapping[str, int], method: Method | str = Method.cms) -> UnitsResult:
    """Units per timed code under `method`, with the timed total they were computed from."""
    try:
        method = Method(method)
    except ValueError as exc:
        raise BillingError(f"unknown billing method {method!r} (use cms or ama)") from exc
    clean = _validate(minutes)
    units = cms_units(clean) if method is Method.cms else ama_units(clean)
    timed_total = sum(m for c, m in clean.items() if is_timed(c))
    return UnitsResult(
        method=method,
        total_timed_minutes=timed_total,
        total_units=sum(units.values()),
        units=units,
    )
