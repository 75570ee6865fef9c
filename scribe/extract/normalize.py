"""Spoken numbers to digits, keeping a map back to the words that were said.

Whisper writes numbers both ways ("three sets of ten", "3 x 10"). The extractor works
on a normalized copy of the transcript ("3 sets of 10") and maps every span back to the
original characters, so evidence always quotes the dictation itself.

- Spoken CPT codes ("ninety seven one twelve") get their own rule: text2num reads them
  as "97 1 12".
- Other runs of number words go through text2num's `alpha2digit` one run at a time, so
  that "thirty second holds" stays "30 second holds" (the library alone makes it
  "32nd holds") and "no one" stays words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel, ConfigDict
from text_to_num import alpha2digit

from ..datafiles import cpt_table, load_json

_TOKEN = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*|\d+(?:\.\d+)?|\S")
# units that Whisper hyphenates onto a spoken number: "one-minute bouts", "thirty-second holds"
HYPHEN_UNITS = {"second", "seconds", "sec", "minute", "minutes", "min", "hour"}

# a span of time said after a spoken decimal ends it: "nineteen point one three weeks ago"
SPAN_UNITS = {"weeks", "week", "days", "day", "months", "month", "years", "year", "wks", "sessions", "visits"}
DIGIT_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11",
    "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16",
    "seventeen": "17", "eighteen": "18", "nineteen": "19",
}
TENS_WORDS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7",
    "eighty": "8", "ninety": "9",
}
SCALE_WORDS = {"hundred", "thousand"}


class NumberRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_one_after: list[str]
    keep_one_before: list[str]
    cpt_prefixes: list[list[str]]


@lru_cache(maxsize=None)
def number_rules() -> NumberRules:
    return load_json("scribe.extract.rules", "numbers.json", NumberRules)


@dataclass
class NormalizedText:
    """A rewritten copy of `original` and, per character, the original span it came from."""

    original: str
    text: str
    ostart: list[int] = field(default_factory=list)
    oend: list[int] = field(default_factory=list)

    @classmethod
    def identity(cls, text: str) -> "NormalizedText":
        return cls(text, text, list(range(len(text))), list(range(1, len(text) + 1)))

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) covering normalized text[start:end]."""
        if not self.text:
            return 0, 0
        start = max(0, min(start, len(self.text) - 1))
        end = max(start + 1, min(end, len(self.text)))
        return min(self.ostart[start:end]), max(self.oend[start:end])

    def replace(self, edits: list[tuple[int, int, str, tuple[int, int] | None]]) -> "NormalizedText":
        """Apply (start, end, new_text, original_span) edits on self.text (sorted, disjoint).

        `original_span` defaults to the original words under text[start:end]; blanking a
        span keeps offsets stable for the text around it.
        """
        text, ostart, oend = [], [], []
        pos = 0
        for start, end, new, span in sorted(edits):
            text.append(self.text[pos:start])
            ostart += self.ostart[pos:start]
            oend += self.oend[pos:start]
            o_s, o_e = span if span is not None else self.to_original(start, end)
            text.append(new)
            ostart += [o_s] * len(new)
            oend += [o_e] * len(new)
            pos = end
        text.append(self.text[pos:])
        ostart += self.ostart[pos:]
        oend += self.oend[pos:]
        return NormalizedText(self.original, "".join(text), ostart, oend)


def _words(tok: str) -> list[str]:
    return tok.lower().split("-")


def _digit_options(words: list[str], i: int) -> list[tuple[str, int]]:
    """Ways to read digits at words[i:] in a spoken code: "forty eight" -> 48 or 40, 8."""
    w = words[i]
    if w in TENS_WORDS:
        opts = [(TENS_WORDS[w] + "0", 1)]
        if i + 1 < len(words) and words[i + 1] in DIGIT_WORDS and len(DIGIT_WORDS[words[i + 1]]) == 1 and words[i + 1] not in ("zero", "oh"):
            opts.insert(0, (TENS_WORDS[w] + DIGIT_WORDS[words[i + 1]], 2))
        return opts
    if w in DIGIT_WORDS:
        return [(DIGIT_WORDS[w], 1)]
    if w.isdigit() and len(w) <= 3:
        return [(w, 1)]
    return []


def _code_readings(words: list[str], j: int, digits: str) -> list[tuple[str, int]]:
    """Every (5-digit code, words used) that the words from j can complete."""
    if len(digits) == 5:
        return [(digits, j)]
    if len(digits) > 5 or j >= len(words):
        return []
    out: list[tuple[str, int]] = []
    for more, used in _digit_options(words, j):
        out.extend(_code_readings(words, j + used, digits + more))
    return out


_UNIT_WORDS = {"minute", "minutes", "min", "mins", "unit", "units"}


def _spoken_cpt(tokens: list[tuple[str, int, int]], i: int) -> tuple[str, int] | None:
    """A CPT code spoken in words starting at token i: (code, tokens used)."""
    known = {c.code for c in cpt_table().codes}
    words: list[str] = []
    owner: list[int] = []
    for k in range(i, min(i + 8, len(tokens))):
        tok = tokens[k][0]
        if not (tok.replace("-", "").isalpha() or tok.isdigit()):
            break
        for w in _words(tok):
            words.append(w)
            owner.append(k)
    for prefix in number_rules().cpt_prefixes:
        if words[: len(prefix)] != prefix:
            continue
        readings = [r for r in _code_readings(words, len(prefix), "97") if r[0] in known]
        # the longest reading wins, unless it swallows the number of minutes or units
        # that follows ("ninety seven one forty eight minutes" is 97140, 8 minutes)
        readings.sort(key=lambda r: -r[1])
        for code, j in readings:
            nxt = words[j] if j < len(words) else ""
            if nxt in _UNIT_WORDS and len(readings) > 1 and (code, j) == readings[0]:
                continue
            return code, owner[j - 1] - i + 1
    return None


def _is_number_word(w: str) -> bool:
    return w in DIGIT_WORDS or w in TENS_WORDS or w in SCALE_WORDS


ONES = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
DISTANCE = re.compile(r"\b(?:meters|metres|feet|ft|m)\b", re.I)


def _spoken_hundreds(run: str, text: str, start: int, prev: str, after: str) -> str | None:
    """'one forty-two meters', 'was one eighteen' (of a walk in meters): 142 and 118.

    Said this way only for three-digit distances and angles ("one eighty degree turns"); elsewhere "three twenty second holds"
    is three holds of twenty seconds, so a distance must follow, or be named just before.
    """
    words = run.lower().replace("-", " ").split()
    if len(words) not in (2, 3) or words[0] not in ONES:
        return None
    rest = alpha2digit(" ".join(words[1:]), "en", threshold=0)
    if not re.fullmatch(r"[1-9]\d", rest):
        return None
    if after in ("meters", "metres", "feet", "ft", "m", "degree", "degrees", "deg") or (
        prev in ("was", "from", "to", "is") and DISTANCE.search(text[max(0, start - 60):start])
    ):
        return f"{ONES[words[0]]}{rest}"
    return None


WRITTEN_CODE = re.compile(r"\b(97|95)[- ](\d)[- ]?(\d\d)\b")


WRITTEN_HALF = re.compile(r"\b(\d{1,3}) and a half\b", re.I)


# the words a rule of `normalize` can start at
NUMBER_LEADS = frozenset(DIGIT_WORDS) | frozenset(TENS_WORDS) | frozenset(SCALE_WORDS) | {"point", "modifier", "modifiers", "mod"}


def normalize(text: str) -> NormalizedText:
    """Return `text` with spoken numbers as digits and a map back to the original."""
    rules = number_rules()
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    replacements: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        tok, start, _ = tokens[i]
        low = tok.lower()
        if low.split("-", 1)[0] not in NUMBER_LEADS:
            i += 1  # every rule below starts at a number word, "point" or "modifier"
            continue
        cpt = _spoken_cpt(tokens, i) if low.split("-")[0] in ("ninety", "nine") else None
        if cpt:
            code, used = cpt
            replacements.append((start, tokens[i + used - 1][2], code))
            i += used
            continue
        if low == "point" and i + 1 < len(tokens) and tokens[i + 1][0].lower() in DIGIT_WORDS and (
            i == 0 or not _is_number_word(tokens[i - 1][0].lower())
        ):
            # "point six two meters per second": a decimal read digit by digit -> 0.62
            j, digits = i + 1, ""
            while j < len(tokens) and len(DIGIT_WORDS.get(tokens[j][0].lower(), "xx")) == 1:
                digits += DIGIT_WORDS[tokens[j][0].lower()]
                j += 1
            replacements.append((start, tokens[j - 1][2], "0." + digits))
            i = j
            continue
        if low in ("modifier", "modifiers", "mod") and i + 2 < len(tokens) \
                and all(len(DIGIT_WORDS.get(tokens[k][0].lower(), "xx")) == 1 for k in (i + 1, i + 2)):
            # "modifier nine five": a two-digit modifier read digit by digit -> 95
            digits = DIGIT_WORDS[tokens[i + 1][0].lower()] + DIGIT_WORDS[tokens[i + 2][0].lower()]
            replacements.append((tokens[i + 1][1], tokens[i + 2][2], digits))
            i += 3
            continue
        words = _words(tok)
        if len(words) > 1 and words[-1] in HYPHEN_UNITS and all(_is_number_word(w) for w in words[:-1]):
            # "three one-minute bouts", "thirty-second holds": the number before a unit
            number = alpha2digit(" ".join(words[:-1]), "en", threshold=0)
            if number.isdigit():
                replacements.append((start, start + len(tok) - len(words[-1]) - 1, number))
            i += 1
            continue
        if all(_is_number_word(w) for w in words):
            j = i + 1
            decimal = False
            while j < len(tokens):
                nxt = tokens[j][0].lower()
                if all(_is_number_word(w) for w in _words(nxt)):
                    if decimal and j + 1 < len(tokens) and tokens[j + 1][0].lower() in SPAN_UNITS:
                        break  # "nineteen point one three weeks ago": 19.1, three weeks ago
                    j += 1
                elif nxt in ("point", "and") and j + 1 < len(tokens) and all(
                    _is_number_word(w) for w in _words(tokens[j + 1][0])
                ) and (nxt == "point" or tokens[j - 1][0].lower() in SCALE_WORDS):
                    decimal = decimal or nxt == "point"
                    j += 2
                else:
                    break
            run_start, run_end = start, tokens[j - 1][2]
            run = text[run_start:run_end]
            prev = tokens[i - 1][0].lower() if i > 0 else ""
            after = tokens[j][0].lower() if j < len(tokens) else ""
            keep = run.lower() == "one" and (prev in rules.keep_one_after or after in rules.keep_one_before)
            hundreds = _spoken_hundreds(run, text, run_start, prev, after)
            half = [t[0].lower() for t in tokens[j:j + 3]] == ["and", "a", "half"]
            whole = alpha2digit(run, "en", threshold=0) if half else ""
            if half and whole.isdigit():  # "eighteen and a half seconds" -> 18.5
                replacements.append((run_start, tokens[j + 2][2], whole + ".5"))
                i = j + 3
                continue
            if hundreds:
                replacements.append((run_start, run_end, hundreds))
            elif not keep:
                # "sixteen point oh": text2num knows "zero", not the spoken "oh"
                digits = alpha2digit(re.sub(r"(?<=point )oh\b", "zero", run, flags=re.I), "en", threshold=0)
                if digits != run:
                    replacements.append((run_start, run_end, digits))
            i = j
            continue
        i += 1

    # Whisper writes a spoken code as "97-1-12", "97 1 12" or "97-112": one known CPT code
    known = {c.code for c in cpt_table().codes}
    for m in WRITTEN_CODE.finditer(text):
        code = "".join(m.groups())
        if code in known and not any(s < m.end() and m.start() < e for s, e, _ in replacements):
            replacements.append((m.start(), m.end(), code))
    for m in re.finditer(r"[\u2193\u2191]\s?", text):  # typed "↓ proprioception R ankle"
        if not any(s < m.end() and m.start() < e for s, e, _ in replacements):
            replacements.append((m.start(), m.end(), "decreased " if m.group()[0] == "\u2193" else "increased "))
    for m in WRITTEN_HALF.finditer(text):  # "18 and a half seconds"
        if not any(s < m.end() and m.start() < e for s, e, _ in replacements):
            replacements.append((m.start(), m.end(), m.group(1) + ".5"))
    replacements.sort()
    base = NormalizedText.identity(text)
    return base.replace([(s, e, new, (s, e)) for s, e, new in replacements])
