"""Numeric mentions in normalized dictation text: parameters, minutes, scores.

Small regular expressions over the normalized text ("3 sets of 10", "30 second holds
times 3", "97112 for 24 minutes", "44/56"); the extractor decides what each belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUM = r"(\d+(?:\.\d+)?)"
SEC = r"(?:seconds?|secs?|s)\b"
# "3 sets of 10 min assist": minimal assistance, not minutes
MIN = r"(?:minutes?\b|mins?\b(?!\s*(?:assist\w*|asst\b|a\b(?!\s+(?:day|week|session|visit)))))"
TIME = rf"(?:{SEC}|{MIN})"
ABOUT = r"(?:(?:about|around|approximately|roughly)\s+)?"
SETS_WORD = r"(?:sets?|series|rounds?|trials?|bouts?|times through|passes|pass|laps?|lengths?|circuits?|cycles?|games|trips?|runs)\b"
REPS_WORD = r"(?:reps?|repetitions?)\b"
COUNT_WORD = r"(?:compressions|contractions|reaches|taps|catches|throws|tosses|kicks|squeezes|turns|jumps|hops|pulls|pushes|nudges|perturbations|slips)\b"
HOLD_WORD = r"(?:holds?|hold|bouts?|intervals?)"
# words before a lone duration that make it a symptom's time course
SYMPTOM_TIME = re.compile(r"(?:<|>|\bwithin|\bresolved|\blasting|\blasted|\bsubsided|\bsettled|\bclearing|\bcleared|\bfatigued|\btired|\bstopped|\bafter)\s*(?:in\s+|at\s+)?(?:about\s+|around\s+|under\s+|less than\s+)?$", re.I)
SECONDS_PER = {'"': 1, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
               "min": 60, "mins": 60, "minute": 60, "minutes": 60}


@dataclass
class Param:
    kind: str  # sets | reps | duration
    value: float
    start: int
    end: int


def _seconds(value: str, unit: str) -> float:
    return float(value) * SECONDS_PER[unit.lower().rstrip(".")]


_PARAM_PATTERNS: list[tuple[re.Pattern, tuple[str, ...]]] = [
    # 3 sets of 10 reps with 5 second holds handled piecewise below
    (re.compile(rf"\b{NUM}\s*(?:{SETS_WORD}|{HOLD_WORD}s?|{REPS_WORD})\s*(?:of|x|×)\s*{ABOUT}{NUM}\s*[- ]?({TIME})", re.I), ("sets", "duration")),
    # "4 x 20 ft": four lengths of a distance, not 20 reps
    (re.compile(rf"\b{NUM}\s*(?:x|×|by|times|{SETS_WORD}\s*(?:of|x|×)?)\s*{NUM}\s*(?:ft|feet|foot|m|meters?|metres?|yards?|yds?)\b", re.I), ("sets",)),
    (re.compile(rf"\b{NUM}\s*{SETS_WORD}\s*(?:of|x|×)\s*{NUM}(?:\s*{REPS_WORD})?", re.I), ("sets", "reps")),
    (re.compile(rf"\b{NUM}\s*(?:x|×|by)\s*{NUM}\s*({TIME}|\")(?:\s*{HOLD_WORD})?", re.I), ("sets", "duration")),
    (re.compile(rf"\b{NUM}\s*(x|×|by)\s*{NUM}(?:\s*{REPS_WORD})?(?!\s*(?:/|%|\.\d))", re.I), ("sets", "reps")),
    (re.compile(rf"\b{NUM}\s*{REPS_WORD}\s*(?:x|×|times)\s*{NUM}(?:\s*{SETS_WORD})?", re.I), ("reps", "sets")),
    # "three sets ten", "two times ten": sets then repetitions in quick speech
    (re.compile(rf"\b{NUM}\s*(?:sets?|rounds?|times?)\s+{NUM}\b(?!\s*(?:{TIME}|/|%|\.\d|{SETS_WORD}|(?:a|per|each|every)\s+(?:day|week)))", re.I), ("sets", "reps")),
    (re.compile(rf"\b{NUM}\s*[- ]?({TIME})\s*{HOLD_WORD}?\s*(?:x|×|times)\s*{NUM}\b(?!\s*{REPS_WORD})", re.I), ("duration", "sets")),
    # "three thirty second trials"
    (re.compile(rf"\b{NUM}\s+{NUM}\s*[- ]?({TIME})\s*(?:{SETS_WORD}|{HOLD_WORD}s?|{REPS_WORD})", re.I), ("sets", "duration")),
    # "three times thirty seconds"
    (re.compile(rf"\b{NUM}\s*times?\s*{NUM}\s*[- ]?({TIME})", re.I), ("sets", "duration")),
    (re.compile(rf"\b{NUM}\s*{SETS_WORD}", re.I), ("sets",)),
    # "for thirty seconds, three times each side", "repeated 3 times"; not "3 times a week"
    (re.compile(rf"\b{NUM}\s*times\b(?!\s*(?:a|per|each|every)\s+(?:day|week|month|visit|session)|\s*/\s*(?:day|week|wk))", re.I), ("sets",)),
    # non-native "tandem walk in the hallway, four time.": the singular at a clause's end
    (re.compile(rf"\b{NUM}\s*time(?=\s*[.,;]|\s*$)", re.I), ("sets",)),
    (re.compile(r"\b(twice|thrice)\b(?!\s*(?:a|per|each|every)\s+(?:day|week|month)|\s*(?:daily|weekly))", re.I), ("sets",)),
    (re.compile(rf"\b{NUM}\s*{REPS_WORD}", re.I), ("reps",)),
    # "ten compressions at each joint", "15 catches": counted movements are repetitions
    (re.compile(rf"\b{NUM}\s*{COUNT_WORD}", re.I), ("reps",)),
    # "ten each joint", "8 per side": a count said per joint or side is repetitions
    (re.compile(rf"\b{NUM}\s+(?:each|per|at each|on each|for each)\s+(?:joint|side|leg|direction|way|arm|hand|foot)\b", re.I), ("reps",)),
    (re.compile(rf"(?:\bx|×|\btimes)\s*{NUM}\b(?!\s*(?:{TIME}|/|%))", re.I), ("sets",)),
    (re.compile(rf"\b{NUM}\s*[- ]?({TIME})", re.I), ("duration",)),
]


def _take(taken: bytearray, start: int, end: int) -> None:
    if end > start:
        taken[start:end] = b"\x01" * (end - start)


def find_params(text: str, blocked: list[tuple[int, int]]) -> list[Param]:
    """Sets, reps and durations in `text`, skipping character ranges in `blocked`."""
    taken = bytearray(len(text) + 1)  # 1 for a character already read or blocked
    for s, e in blocked:
        _take(taken, max(s, 0), min(e, len(text)))
    out: list[Param] = []
    for pattern, kinds in _PARAM_PATTERNS:
        for m in pattern.finditer(text):
            if 1 in taken[m.start():m.end()]:
                continue
            values = [g for g in m.groups()]
            params: list[Param] = []
            it = iter(values)
            ok = True
            for kind in kinds:
                v = next(it)
                v = {"twice": "2", "thrice": "3"}.get(v.lower(), v) if v else v
                while v is not None and not re.fullmatch(r"\d+(?:\.\d+)?", v):
                    v = next(it)  # skip the "x" or unit group
                if v is None:
                    ok = False
                    break
                if kind == "duration":
                    unit = next((g for g in values if g and (g == '"' or re.fullmatch(TIME, g, re.I))), None)
                    if unit is None:
                        ok = False
                        break
                    params.append(Param("duration", _seconds(v, unit), m.start(), m.end()))
                else:
                    params.append(Param(kind, float(v), m.start(), m.end()))
            if not ok:
                continue
            if kinds == ("duration",) and SYMPTOM_TIME.search(text[max(0, m.start() - 20):m.start()]):
                continue  # "dizziness resolved < 30 sec": how long a symptom lasted, not a dose
            if kinds == ("duration",) and re.fullmatch(r"\d+s", m.group().strip()) and re.search(r"\b(?:by|serial)\s*$", text[max(0, m.start() - 8):m.start()]):
                continue  # "counting backward by 3s": threes, not seconds
            out.extend(params)
            _take(taken, m.start(), m.end())
    return sorted(out, key=lambda p: p.start)


# "26'" is 26 minutes in typed notes (a code nearby decides whether it is time at all)
MINUTES = re.compile(rf"\b(\d+)(?:\s*[- ]?{MIN}|'(?![a-z]))", re.I)
CPT_FAMILY = "97"  # physical medicine and rehabilitation codes, the only ones a PT/OT note bills
CODE_NUMBER = re.compile(rf"\b{CPT_FAMILY}\d{{3}}\b")
# "two units of one twelve and one of five thirty": a code said by its last three digits
# (read by the number parser as "1 12") after a count of units
SHORT_CODE = re.compile(r"\b(?:units?|\d|one|two|three)\s+(?:of|for)\s+(?:the\s+)?(\d)\s?(\d{2})\b(?!\s*(?:min|mins|minutes|sec|secs|seconds|%|percent|/|\.\d))", re.I)
UNITS = re.compile(r"\b(\d+)\s*(?:units?|u)\b", re.I)
SCORE = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:/|out of|over|of|on)\s*(\d+(?:\.\d+)?)(?![\d/])"
    r"|(?<![\d.])(\d+(?:\.\d+)?)(?:\s*(seconds?|secs?|s\b|sec\b|points?|pts?|percent|%|"
    r"m/s|meters? per second|metres? per second|meters?|metres?|m\b|feet|ft\b|foot|inches|inch|in\b(?!\s+[a-z])|cm\b|centimeters?|centimetres?))?",
    re.I,
)
UNIT_CANON = {
    "second": "seconds", "seconds": "seconds", "sec": "seconds", "secs": "seconds", "s": "seconds",
    "point": "points", "points": "points", "pt": "points", "pts": "points",
    "percent": "percent", "%": "percent",
    "m/s": "m/s", "meters per second": "m/s", "metres per second": "m/s", "meter per second": "m/s", "metre per second": "m/s",
    "meter": "meters", "meters": "meters", "metre": "meters", "metres": "meters", "m": "meters",
    "feet": "feet", "ft": "feet", "foot": "feet",
    "inches": "inches", "inch": "inches", "in": "inches",
    "cm": "cm", "centimeter": "cm", "centimeters": "cm", "centimetre": "cm", "centimetres": "cm",
}
