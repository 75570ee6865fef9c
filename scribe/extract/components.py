"""spaCy components of the extractor, registered by name (spaCy's factories habit).

- `scribe_phrases`: phrase groups from phrases.json and the ConText modifiers from
  context.jsonl, matched on lower-case text into `doc.spans[group]`.
- `scribe_context`: the ConText algorithm (Chapman et al.; as in medspacy): a modifier
  ("declined", "plan to add", "at evaluation", "no") reaches the targets in its
  direction until a terminator ("but", "during", "then") or the end of its scope, and
  the nearest one decides a target's status.
"""

from __future__ import annotations

import re

from spacy.attrs import LOWER, ORTH
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from .rules import context_rules, phrases

if not Span.has_extension("status"):
    Span.set_extension("status", default=None)  # performed|planned|not_performed|historical
if not Span.has_extension("negated"):
    Span.set_extension("negated", default=False)
if not Span.has_extension("modifier"):
    Span.set_extension("modifier", default=None)  # the Span that decided the status

CONTEXT_GROUP = "context"
TARGET_LABELS = ("TECHNIQUE", "MEASURE", "IMPAIRMENT", "DIAGNOSIS", "EQUIPMENT")
STATUS_OF = {
    "NOT_PERFORMED": "not_performed",
    "PLANNED": "planned",
    "HISTORICAL": "historical",
    "NEGATED": "not_performed",
}


def sentences(doc: Doc) -> list[Span]:
    """The doc's sentences, computed once per doc (spaCy's `Span.sent` walks the doc on
    every call, which was most of the extraction time)."""
    sents = doc.user_data.get("scribe_sents")
    if sents is None:
        sents = doc.user_data["scribe_sents"] = list(doc.sents)
        # the sentence of each token (and of the end of the doc): sent_of looks it up
        doc.user_data["scribe_sent_at"] = [sent for sent in sents for _ in range(len(sent))] + sents[-1:]
    return sents


def text_of(doc: Doc) -> str:
    """`doc.text`, joined once per doc (spaCy joins every token on each access)."""
    text = doc.user_data.get("scribe_text")
    if text is None:
        text = doc.user_data["scribe_text"] = doc.text
    return text


def ents_of(doc: Doc) -> tuple[Span, ...]:
    """`doc.ents`, built once per doc after the pipeline has run."""
    ents = doc.user_data.get("scribe_ents")
    if ents is None:
        ents = doc.user_data["scribe_ents"] = doc.ents
    return ents


def run_on_window(span: Span, before: int, after: int) -> Span:
    """`span`'s sentence; in a run-on (longer than LONG_SENTENCE_TOKENS) only the tokens up
    to `before` ahead of it and `after` behind it, since its far words speak of other drills."""
    sent = sent_of(span)
    if len(sent) <= LONG_SENTENCE_TOKENS:
        return sent
    return span.doc[max(sent.start, span.start - before):min(sent.end, span.end + after)]


def sent_of(span: Span) -> Span:
    """The sentence holding `span` (by its first token)."""
    sent_at = span.doc.user_data.get("scribe_sent_at")
    if sent_at is None:
        sentences(span.doc)
        sent_at = span.doc.user_data["scribe_sent_at"]
    return sent_at[span.start]


def span_text(span: Span) -> str:
    """`span.text`, cut from the doc's text (spaCy joins the span's tokens on each access)."""
    return text_of(span.doc)[span.start_char:span.end_char] if len(span) else ""


def spans_of(doc: Doc, group: str) -> list[Span]:
    """`doc.spans[group]` (or []), listed once per doc after the pipeline's phrase groups
    (a span group makes new Span objects on every pass)."""
    cached = doc.user_data.setdefault("scribe_spans", {})
    spans = cached.get(group)
    if spans is None:
        spans = cached[group] = list(doc.spans.get(group, []))
    return spans


class PhraseGroups:
    """Matches every phrase group into doc.spans; context modifiers into doc.spans['context']."""

    def __init__(self, nlp: Language):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        groups = phrases().model_dump()
        for group, terms in groups.items():
            self.matcher.add(group, [nlp.make_doc(t.strip()) for t in terms])
        self.rules: dict[str, list] = {}
        for rule in context_rules():
            key = f"{rule.category}|{rule.direction}|{rule.max_scope or 0}"
            self.rules.setdefault(key, []).append(nlp.make_doc(rule.literal.strip()))
        for key, docs in self.rules.items():
            self.matcher.add(f"ctx:{key}", docs)

    def __call__(self, doc: Doc) -> Doc:
        groups: dict[str, list[Span]] = {}
        for match_id, start, end in self.matcher(doc):
            name = doc.vocab.strings[match_id]
            if name.startswith("ctx:"):
                groups.setdefault(CONTEXT_GROUP, []).append(Span(doc, start, end, label=name[4:]))
            else:
                groups.setdefault(name, []).append(Span(doc, start, end, label=name))
        for name, spans in groups.items():
            doc.spans[name] = spans
        return doc


# token attributes whose values are words: a pattern token with one of them (and no
# operator that lets it be skipped) needs one of its words in the doc to match
WORD_ATTRS = {"LOWER": LOWER, "ORTH": ORTH, "TEXT": ORTH}
WORD_ATTR_IDS = sorted(set(WORD_ATTRS.values()))
REQUIRED_OPS = (None, "+")


def required_words(pattern: list[dict]) -> list[tuple[int, frozenset[str]]]:
    """(token attribute, words) for each token of a Matcher pattern that must match one of `words`."""
    out = []
    for token in pattern:
        if token.get("OP") not in REQUIRED_OPS:
            continue
        for name, attr in WORD_ATTRS.items():
            words = _words_of(token.get(name))
            if words is not None:
                out.append((attr, words))
    return out


def adjacent_words(pattern: list[dict]) -> list[tuple[frozenset[str], frozenset[str]]]:
    """(words, next words) for each two neighbouring tokens of a Matcher pattern that each
    match exactly one token by a LOWER word list: the doc must say such a pair of words."""
    out = []
    for token, nxt in zip(pattern, pattern[1:]):
        if token.get("OP") is None and nxt.get("OP") is None:
            words, next_words = _words_of(token.get("LOWER")), _words_of(nxt.get("LOWER"))
            if words is not None and next_words is not None:
                out.append((words, next_words))
    return out


def _words_of(value) -> frozenset[str] | None:
    """The words a pattern token's attribute value allows ("x" or {"IN": [...]}), if it lists them."""
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, dict) and set(value) == {"IN"}:
        return frozenset(value["IN"])
    return None


def _says_pair(pairs: set[tuple[int, int]], first: frozenset[int], second: frozenset[int]) -> bool:
    """Whether a word of `first` followed by one of `second` is among the doc's word `pairs`."""
    if len(first) * len(second) <= len(pairs):
        return any((a, b) in pairs for a in first for b in second)
    return any(a in first and b in second for a, b in pairs)


# the most word sequences a Matcher pattern may stand for and still go to the PhraseMatcher
PHRASE_EXPANSION_LIMIT = 2000


def word_sequences(pattern: list[dict], limit: int) -> list[tuple[str, ...]] | None:
    """The lowercase word sequences a Matcher pattern matches, when it is only tokens with a
    LOWER word (or word list), each required or optional ("?"), and they are at most
    `limit`; None otherwise."""
    sequences: list[tuple[str, ...]] = [()]
    for token in pattern:
        op = token.get("OP")
        words = _words_of(token.get("LOWER")) if set(token) - {"OP"} == {"LOWER"} else None
        if words is None or op not in (None, "?"):
            return None
        choices = [(w,) for w in sorted(words)] + ([()] if op == "?" else [])
        if len(sequences) * len(choices) > limit:
            return None
        sequences = [s + c for s in sequences for c in choices]
    return sequences


class TriggeredMatcher:
    """The entity ruler's token Matcher, made cheap per doc; it finds what spaCy's Matcher
    holding every pattern finds.

    spaCy's Matcher tries every pattern at every token, which was most of the pipeline's
    time. A pattern that is only fixed word sequences goes to a PhraseMatcher instead. Of
    the rest, a pattern with a required word (or a pair of neighbouring words) that the doc
    lacks cannot match, so each doc's Matcher holds only the others, in the ruler's order.
    """

    def __init__(self, vocab, entries: list[tuple[str, list[dict]]]):
        self.vocab = vocab
        # a pattern that is only a few fixed word sequences ("impaired|decreased|... balance")
        # is matched by a PhraseMatcher, which costs next to nothing per doc; the Matcher
        # keeps the rest (operators, other attributes, too many sequences)
        self.phrases = PhraseMatcher(vocab, attr="LOWER")
        kept = []
        for key, pattern in entries:
            sequences = word_sequences(pattern, PHRASE_EXPANSION_LIMIT)
            if sequences is None:
                kept.append((key, pattern))
            else:
                self.phrases.add(key, [Doc(vocab, words=list(words)) for words in sequences if words])
        self.entries = entries = kept  # (match key, pattern) in the order the ruler added them
        ids = lambda words: frozenset(vocab.strings.add(w) for w in words)  # noqa: E731
        self.required = [[(attr, ids(words)) for attr, words in required_words(pattern)] for _, pattern in entries]
        self.adjacent = [[(ids(a), ids(b)) for a, b in adjacent_words(pattern)] for _, pattern in entries]
        # each pattern filed under the words of its first required token: only the patterns
        # filed under a word the doc says are checked further (a pattern with no required
        # word is always checked)
        self.by_word: dict[tuple[int, int], list[int]] = {}
        self.always: list[int] = []
        for k, required in enumerate(self.required):
            if not required:
                self.always.append(k)
                continue
            attr, words = required[0]
            for w in words:
                self.by_word.setdefault((attr, w), []).append(k)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        found = list(self.phrases(doc))
        active = self._active(doc)
        if not active:
            return found
        matcher = Matcher(self.vocab, validate=False)  # validated when the ruler added them
        for key, pattern in active:
            matcher.add(key, [pattern])
        return found + list(matcher(doc))

    def _active(self, doc: Doc) -> list[tuple[str, list[dict]]]:
        values = doc.to_array(WORD_ATTR_IDS)
        present = {attr: set(values[:, i].tolist()) for i, attr in enumerate(WORD_ATTR_IDS)}
        lower = values[:, WORD_ATTR_IDS.index(LOWER)].tolist()
        pairs = set(zip(lower, lower[1:]))
        candidates = set(self.always)
        for attr, words in present.items():
            for w in words:
                candidates.update(self.by_word.get((attr, w), ()))
        return [self.entries[k] for k in sorted(candidates)  # in the ruler's order
                if all(not words.isdisjoint(present[attr]) for attr, words in self.required[k])
                and all(_says_pair(pairs, a, b) for a, b in self.adjacent[k])]


# a dictation spoken as one long sentence ("... two sets of ten each leg then went to
# standing on the Airex ... and then stepping across ... and we held off on ..."): its
# clauses are split where a new action starts, so sentence-level rules see clauses
LONG_SENTENCE_TOKENS = 40
# in a run-on dictation with no full stops, a sentence cue speaks of drills this near it
RUN_ON_CUE_TOKENS = 20
# "eyes open then eyes closed": a variation of the same drill, not a new clause
SAME_DRILL_AFTER_THEN = {"eyes", "ec", "eo", "with", "without", "w/", "w/o", "vertical", "horizontal", "vert", "horiz", "left", "right", "backward", "backwards"}
POSITION_WORDS = {"seated", "sitting", "standing", "supine", "prone", "kneeling", "sidelying"}
CLAUSE_OPENERS = {("and", "then"), ("then",), ("and", "we"), ("and", "his"), ("and", "her"), ("and", "for"), ("and", "she"), ("and", "he"),
                  ("we", "started"), ("we", "began"), ("we", "worked"), ("we", "practiced"), ("we", "progressed")}
# "... the rocker board that we started last week": a clause that belongs to the words before
SUBORDINATE_BEFORE = {"that", "which", "what", "when", "where", "if", "as", "since", "because", "so", "until", "once", "before", "after"}


@Language.component("scribe_clauses")
def split_clauses(doc: Doc) -> Doc:
    tokens = list(doc)  # each `doc[i]` makes a new Token; the lists below are read many times
    lower = [t.lower_ for t in tokens]
    # a line break is a sentence end, whatever spaces come with it ("min:\n Sitting EOM ...",
    # "\n\n- Finger to nose"): the sentencizer only knows a token that is exactly "\n"
    for t in tokens[:-1]:
        if t.is_space and "\n" in t.text:
            tokens[t.i + 1].is_sent_start = True
    starts = [t.i for t in tokens if t.is_sent_start] + [len(doc)]
    for begin, end in zip(starts, starts[1:]):
        if end - begin <= LONG_SENTENCE_TOKENS:
            continue
        for i in range(begin + 3, end - 3):
            words = (lower[i], lower[i + 1])
            if words in CLAUSE_OPENERS or words[:1] in CLAUSE_OPENERS:
                nxt = lower[i + len(words) if words in CLAUSE_OPENERS else i + 1]
                if nxt in SAME_DRILL_AFTER_THEN:
                    continue  # "semi tandem eyes open then eyes closed three by thirty": one drill
                prev = lower[i - 1] if lower[i - 1] != "and" else lower[i - 2]
                if prev in POSITION_WORDS and nxt in POSITION_WORDS:
                    continue  # "whole body movements seated and then standing two sets of ten": one drill in two positions
                if words[0] == "we" and (tokens[i - 1].is_punct or lower[i - 1] in SUBORDINATE_BEFORE
                                         or nxt in ("that", "it", "this", "them", "those", "but")):
                    continue  # "..., we started that but stopped after two laps": the same drill
                if not tokens[i - 1].is_punct or tokens[i - 1].text == ",":
                    tokens[i].is_sent_start = True
    return doc


@Language.factory("scribe_phrases")
def make_phrase_groups(nlp: Language, name: str) -> PhraseGroups:
    return PhraseGroups(nlp)


def _modifiers(doc: Doc) -> list[tuple[Span, str, str, int]]:
    """(span, category, direction, scope) for every context match, longest first."""
    out = []
    for span in spans_of(doc, CONTEXT_GROUP):
        category, direction, scope = span.label_.split("|")
        out.append((span, category, direction, int(scope) or 10_000))
    return out


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


# a SOAP "P:" / "Plan:" section runs to the next heading at the start of a line
PLAN_SECTION = re.compile(r"(?im)^[ \t-]*(?:p|plan|plan of care)[ \t]*:")
NEXT_HEADING = re.compile(r"(?m)^[ \t]*[A-Za-z][A-Za-z /&]{0,24}:")


# a sentence that opens by planning a later visit, and words that end that plan in it
PLAN_OPENING = re.compile(r"\s*(?:(?:um,?\s+|uh,?\s+|so,?\s+)?(?:once|when)\s+(?:[\w']+\s+){0,5}(?:arrives?|comes?\s+off|is\s+cleared|gets?\s+cleared|clears|heals?|is\s+healed|is\s+ready|she's\s+ready|he's\s+ready|is\s+stronger|improves?|settles?\s+down)|tomorrow|next\s+(?:week|visit|session|time|tx)|at\s+the\s+next\s+(?:visit|session)|(?:the\s+)?plan\s+is|will\s+(?:add|progress|start|try|begin)|we'?ll\s+(?:add|progress|start|try|begin))\b", re.I)
# a sentence that opens by withholding a drill: "Held single leg hops today per protocol" (not "held for 30 s")
HELD_OPENING = re.compile(r"\s*(?:[-*\u2022]\s*)?(?:held|holding|deferred|skipped)\b(?!\s+(?:for|x|\d|at|in|on|with|onto|her|his|the\s+(?:ball|bar|rail|position|pose)))\s*", re.I)
PLAN_BREAK = re.compile(r"\b(?:but|however|today|this\s+(?:visit|session)|instead)\b", re.I)


# a SOAP "A:" / "Assessment:" section: what the therapist concludes about work already noted
ASSESSMENT_SECTION = re.compile(r"(?im)^[ \t-]*(?:a|assessment)[ \t]*:")


def plan_sections(text: str, heading: re.Pattern = PLAN_SECTION) -> list[tuple[int, int]]:
    """Character ranges of the plan (or other `heading`) sections of a typed note."""
    out = []
    for m in heading.finditer(text):
        nxt = NEXT_HEADING.search(text, m.end())
        out.append((m.start(), nxt.start() if nxt else len(text)))
    return out


# a dose anywhere in a sentence: its drills were done, whatever else it says
# but not how often a home program is done ("3x/day", "3x a week")
SENTENCE_DOSE = re.compile(r"\d+\s*(?:[x\u00d7](?=\s*\d)|(?:x|\u00d7|sets?|reps?|repetitions|holds?|trials?|rounds?|bouts?|laps?|passes|lengths?|minutes?|min|seconds?|sec|s)\b)"
                           r"(?!\s*/\s*(?:day|d|wk|week|wks|weeks|month|mo)\b|\s+(?:a|per|each)\s+(?:day|week|wk)\b)", re.I)
# the order decides: "I wanted her on the BOSU ... she said 'No way' ... we'll try next time" was not done
SENTENCE_STATUS_GROUPS = (("sentence_not_performed", "not_performed"), ("sentence_historical", "historical"),
                          ("sentence_planned", "planned"))


class ConText:
    """Assigns `span._.status` to techniques (and `._.negated` to clinical mentions)."""

    def __call__(self, doc: Doc) -> Doc:
        self._modify(doc)
        self._undosed_by_sentence(doc)
        for sent in sentences(doc):  # "Next week we'll add head turns while she walks the beam"
            if PLAN_OPENING.match(span_text(sent)):
                for ent in ents_of(doc):
                    if ent.label_ in ("TECHNIQUE", "EQUIPMENT") and sent.start <= ent.start < sent.end and ent._.status == "performed" \
                            and not PLAN_BREAK.search(text_of(doc)[sent.start_char:ent.start_char]):
                        ent._.status = "planned"
        for sent in sentences(doc):  # "Held single leg hops today per ortho protocol"
            opener = HELD_OPENING.match(span_text(sent))
            if opener:
                for ent in ents_of(doc):
                    if ent.label_ == "TECHNIQUE" and sent.start_char + opener.end() <= ent.start_char < sent.start_char + opener.end() + 40 \
                            and ent._.status == "performed":
                        ent._.status = "not_performed"
        for start, end in plan_sections(text_of(doc)):
            for ent in doc.ents:  # what the plan section names is for later visits
                if ent.label_ in ("TECHNIQUE", "EQUIPMENT") and start <= ent.start_char < end and ent._.status == "performed":
                    ent._.status = "planned"
        return doc

    def _undosed_by_sentence(self, doc: Doc) -> None:
        """A drill named with no dose, no modifier of its own, in a sentence that says it
        was not done, done before or is for later (rules/phrases.json, sentence_*): "Tried
        to get her on the Wii ... and she said 'I don't play video games, honey' so we
        skipped it"; "He said he did the Wii in acute care". A sentence with a dose in it
        keeps its drills performed."""
        for ent in ents_of(doc):
            if ent.label_ not in ("TECHNIQUE", "EQUIPMENT") or ent._.status != "performed" or ent._.modifier is not None:
                continue
            sent = sent_of(ent)
            local = run_on_window(ent, RUN_ON_CUE_TOKENS, RUN_ON_CUE_TOKENS)  # a run-on's dose speaks of the drills near it only
            if self._dose_of(doc, ent, sent, local):
                continue
            if any(o.label_ == "TECHNIQUE" and o.end <= ent.start and o.text.lower() == ent.text.lower() for o in ents_of(doc)):
                continue  # "... because she felt nauseous after the habituation sets": the drill named before
            for group, status in SENTENCE_STATUS_GROUPS:
                if any(sent.start <= s.start and s.end <= sent.end and not (ent.start <= s.start and s.end <= ent.end)
                       and (len(sent) <= LONG_SENTENCE_TOKENS or abs(s.start - ent.start) <= RUN_ON_CUE_TOKENS)
                       for s in spans_of(doc, group)):  # a cue that runs past the name: 'stim unit held'
                    ent._.status = status
                    break

    @staticmethod
    def _dose_of(doc: Doc, ent: Span, sent: Span, local: Span) -> bool:
        """Whether a dose near `ent` may speak of it: in a run-on, one with another drill
        between it and `ent` is that drill's ("the bean bin for about five minutes ... mom
        has been doing the brushing protocol that his last OT taught her")."""
        doses = list(SENTENCE_DOSE.finditer(local.text))
        if local is sent:
            return bool(doses)
        others = [o for o in ents_of(doc) if o.label_ == "TECHNIQUE" and o is not ent and sent.start <= o.start < sent.end]
        for m in doses:
            at, end = local.start_char + m.start(), local.start_char + m.end()
            lo, hi = sorted((at, ent.start_char))
            if any(lo < o.start_char < hi for o in others):
                continue
            # a dose said before `ent` that follows another drill more closely is that drill's
            if at < ent.start_char and any(o.end_char <= at and at - o.end_char < ent.start_char - end for o in others):
                continue
            return True
        return False

    def _modify(self, doc: Doc) -> None:
        mods = _modifiers(doc)
        pseudo = [m for m in mods if m[1] == "PSEUDO"]
        # a modifier inside a pseudo-modifier ("no" in "without loss of balance") is void,
        # and so is a shorter modifier inside a longer one
        live = []
        for m in mods:
            if m[1] == "PSEUDO":
                continue
            if any(_overlaps(m[0], p[0]) and not (m[0].start <= p[0].start and p[0].end <= m[0].end and len(m[0]) > len(p[0]))
                   for p in pseudo):
                continue  # but a longer modifier holding a pseudo one wins: "before she came to us" over "before she'
            if any(o is not m and o[1] != "PSEUDO" and o[0].start <= m[0].start and m[0].end <= o[0].end and len(o[0]) > len(m[0]) for o in mods):
                continue
            live.append(m)
        terminators = [m[0] for m in live if m[1] == "TERMINATE"]
        modifiers = [m for m in live if m[1] != "TERMINATE"]
        for ent in doc.ents:
            if ent.label_ not in TARGET_LABELS:
                continue
            found: list[tuple[int, Span, str]] = []
            ent_sent = sent_of(ent).start
            for span, category, direction, scope in modifiers:
                if sent_of(span).start != ent_sent:
                    continue
                if _overlaps(span, ent):
                    # the drill's own leading verb: "held the brushing", "declined brushing"
                    if span.start <= ent.start < span.end < ent.end and direction in ("forward", "bidirectional"):
                        found.append((0, span, category))
                    continue
                if span.end <= ent.start and direction in ("forward", "bidirectional"):
                    gap = (span.end, ent.start)
                elif ent.end <= span.start and direction in ("backward", "bidirectional"):
                    if ent.label_ == "MEASURE" and any(t.like_num for t in doc[ent.end:min(span.start, ent.end + 3)]):
                        continue  # "ABC 58 percent goal ABC 80 percent next time we'll add VOR x2": a score said is today's
                    gap = (ent.end, span.start)
                else:
                    continue
                distance = gap[1] - gap[0]
                if distance > scope:
                    continue
                if any(gap[0] <= t.start and t.end <= gap[1] and not _overlaps(t, span)
                       and not (t.text == ":" and t.start == span.end)  # "Last visit: habituation ...": a heading
                       for t in terminators) \
                        and not (direction == "backward" and span[0].lower_ in ("was", "were")) \
                        and not (direction == "backward" and any(t.lower_ in ("it", "them") for t in span)):  # "marching ... but I skipped it"
                    continue  # a clause's own verb reaches back to its subject: "dual task, ... while ..., was held today"
                if category == "NEGATED" and ent.end <= span.start and distance > 2 and \
                        any(t.is_punct for t in doc[ent.end:span.start]):
                    continue  # "decreased plantar sensation bilaterally, monofilament absent": said of the next noun
                if category == "NEGATED" and ent.label_ == "TECHNIQUE" and (distance > 2 or direction == "backward"):
                    continue  # "no" negates the drill right after it, not the whole clause; "habituation, resolved" is a symptom
                found.append((distance, span, category))
            found.sort(key=lambda c: c[0])
            best = found[0] if found else None
            for later in found[1:]:  # "Brandt-Daroff was planned but she declined today": the turn after "but" wins
                a, b = sorted((best[1], later[1]), key=lambda x: x.start)
                if any(t.lower_ in ("but", "however") for t in doc[a.end:b.start]) and later[1].start > best[1].start:
                    best = later
                elif best[2] == "PLANNED" and later[2] == "NOT_PERFORMED" and ent.end <= best[1].start < later[1].start:
                    best = later  # "the single leg stance drill I had planned was not attempted today"
            if best is None:
                ent._.status = "performed"
                continue
            _, span, category = best
            ent._.modifier = span
            if category == "NEGATED":
                ent._.negated = True
            ent._.status = STATUS_OF[category]


@Language.factory("scribe_context")
def make_context(nlp: Language, name: str) -> ConText:
    return ConText()
