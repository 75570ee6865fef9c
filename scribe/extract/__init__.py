"""Extraction: transcript text -> SessionFacts, every fact with its evidence.

The spaCy pipeline (blank English, no model download) is assembled from registered
components and rule files; `Extractor` loads it once per process. Numbers are read on
a normalized copy of the text and every span is mapped back to the dictation's words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ._spacy import spacy  # first: spaCy without torch (start-up)
from spacy.language import Language
from spacy.tokens import Doc, Span

from ..datafiles import cpt_table, measure_table
from ..schema import (
    BilledUnits,
    CodeMinutes,
    Evidence,
    Measure,
    Mention,
    SessionFacts,
    Statement,
    Status,
    Technique,
    Telehealth,
    Timepoint,
    Transcript,
)
from . import components  # noqa: F401  (registers the scribe_* factories)
from .components import (ASSESSMENT_SECTION, LONG_SENTENCE_TOKENS, RUN_ON_CUE_TOKENS, TriggeredMatcher, ents_of, plan_sections,
                         run_on_window, sent_of, sentences, span_text, spans_of, text_of)
from .normalize import NormalizedText, normalize
from .numbers import CODE_NUMBER, CPT_FAMILY, MINUTES, SCORE, SHORT_CODE, UNIT_CANON, UNITS, find_params
from .rules import entity_patterns, intent_rules, phrases, ruler_patterns, unnamed_drills

STATUS_PRIORITY = {"performed": 0, "not_performed": 1, "historical": 2, "planned": 3}
# how far (characters) a minutes figure may sit from the code or service it belongs to
CODE_GAP_BEFORE_CHARS = 50
PURPOSE_NAME = re.compile(r"(?:proprioception|position sense|balance|postural control|trunk control|coordination)$", re.I)
PURPOSE_FOR = re.compile(r"\bfor\s+(?:the\s+|his\s+|her\s+)?(?:(?:r|l|rt|lt|right|left|b|bil|bilateral)\s+)?$", re.I)
BOUTS_OF = re.compile(r"\b(?:bouts?|sets?|trials?|rounds?|reps?)\s+\d+(?:\s*(?:-|to|and|&)\s*\d+)?\s*$", re.I)
BOUTS_ON = re.compile(r"\b(?:bouts?|sets?|trials?|rounds?|reps?)\s+\d+(?:\s*(?:-|to|and|&)\s*\d+)?\s+(?:(?:standing|stood|sitting|seated|kneeling)\s+)?(?:on|in|at)\s+(?:the\s+|a\s+)?$", re.I)
SETS_OF_REPS = re.compile(r"\b\d+\s*(?:sets?\s*(?:of|x)|x)\s*\d+\b", re.I)
WITH_DEVICE_AID = re.compile(r"\b(?:with|w/)\s+(?:a|an|the|her|his|their)?\s*(?:quad\s+|small[- ]based\s+|large[- ]based\s+|hemi\s*|front[- ]wheeled\s+|rolling\s+|four[- ]wheeled\s+|single[- ]point\s+)?"
                             r"(?:cane|walker|rw|fww|rollator|crutches|sbqc|lbqc|gait belt)\b", re.I)
DIRECTED_DRILL = re.compile(r"\b(?:step|steps|stepping|taps?|walk\w*|reach\w*|lunges?|march\w*)\b", re.I)
SPORT_AFTER = re.compile(r"\s+(?:volleyball|soccer|basketball|football|baseball|softball|track|hockey|lacrosse|tennis|swimm\w*|runner|athlete|college|wrestl\w*|gymnast\w*)\b", re.I)
CONTINUED = re.compile(r"\bcontinu(?:e|ing)\s+(?:with\s+)?(?:the\s+|her\s+|his\s+)?$", re.I)
RESUMED = re.compile(r"\b(?:resume|re-?attempt|retry|try again|re-?trial)\b[^.;]*$", re.I)
WHERE_STOOD = re.compile(r"(?:stood|standing)\s+(?:in|between|at)\s+(?:the\s+)?(?:parallel|p)\s+bars", re.I)
CODE_GAP_AFTER_CHARS = 30
RUN_ON_CODE_GAP_CHARS = 120
NEURO_REED_CODE = "97112"
SECONDS_PER_MINUTE = 60
MINUTES_BEFORE_BARE_TOTAL = 8  # "..., 38 total" is a visit's minutes; "2 total" is not
# "cues for an upright trunk": the words after a cue say what it asked for, not a drill
CUE_TARGET = re.compile(
    r"\b(?:cu(?:es|eing|ed|e)|queues?|vcs?|tcs?)\b[^,.;\d]{0,25}\b(?:for|to|like)\s+(?:keep\s+|maintain\s+)?(?:an?\s+|the\s+|his\s+|her\s+|their\s+)?"
    r"(?:[a-z-]+\s+){0,3}?(?:(?:\+|&|and|/)\s*(?:[a-z-]+\s+){0,3}?)?$", re.I)
CUE_REQUEST = re.compile(r"\b(?:verbal|tactile|visual|vc|tc)\s+cu(?:es|eing|e)\s+(?:for|to)\s+[^,.;]*", re.I)
# "I haven't confirmed yet whether their plan covers telehealth"
NOT_CONFIRMED = re.compile(r"\b(?:not|unable|couldn't|could not|haven't|hasn't|have not|has not|pending|yet to|need to|needs to|will|whether|if)\b", re.I)
# payer coverage confirmed, in words apart: "coverage for PT was verified by the front desk"
COVERAGE_CONFIRMED = re.compile(
    r"\b(?:coverage|benefits?|covered|authori[sz]ation|eligibility)\b.{0,60}?\b(?:confirmed|verified|checked|approved)\b"
    r"|\b(?:confirmed|verified|checked)\b.{0,80}?\b(?:coverage|benefits?|covers?|covered|eligibility)\b", re.I)
# the impairment a drill's name stands for when it names a deficit ("impaired single leg
# balance"): a word in the name first, else the drill's category
DEFICIT_WORDS = (("sensation", "sensory"), ("feeling", "sensory"), ("trunk control", "motor_control"), ("coordinat", "coordination"), ("heel to shin", "coordination"), ("finger to nose", "coordination"), ("gaze", "gaze_stability"), ("postur", "posture"),
                 ("proprio", "proprioception"), ("position sense", "proprioception"), ("sensory", "sensory"), ("motor control", "motor_control"),
                 ("balance", "balance"), ("stance", "balance"))
DEFICIT_OF_CATEGORY = {
    "balance_training": "balance", "proprioceptive_training": "proprioception",
    "postural_retraining": "posture", "motor_control": "coordination",
    "sensory_integration": "sensory", "vestibular_training": "gaze_stability",
    "perturbation_training": "balance",
}
# a number right after a service name that can only be its minutes: "gait training 9, total 40"
# a code's minutes said before it in a list: "... and fifteen of therapeutic activities"
BARE_MINUTES_BEFORE = re.compile(r"(?:\band|,)\s+(\d{1,2})\s+of\s+$", re.I)
MINUTES_OF_CODE = re.compile(r"\s*(?:of|for|in)\s+", re.I)
BARE_MINUTES = re.compile(r"\s*(?:was|were|is|for|:|-|,)?\s*(?:was\s+|is\s+|for\s+)?(?:only\s+|about\s+|approximately\s+|around\s+|roughly\s+|just\s+)?(\d{1,2})(?=\s*(?:[,.;]|$|and\b|then\b|total\b|plus\b))", re.I)
# a sentence about billing, and a unit count right after or before a code in it
# "Sensory integration training, standing on foam ...": a category heading before its drill
# "Perturbation training on the rocker board, single leg stance ...": where it was done may sit between
HEADING_GAP = re.compile(r"\s*(?:(?:training|work|exercises?|activities|activity|drills?|practice|tasks?)\s*)?"
                         r"(?:(?:on|in|at|with|using)\s+(?:the\s+|a\s+|an\s+)?[a-z]+(?:\s+[a-z]+)?\s*)?[,:-]\s*", re.I)
HEADING_WORD = re.compile(r"\s*(?:[-*\u2022]\s*)?(?:(?:so\s+|and\s+|then\s+|um,?\s+)*(?:we\s+did|we\s+started\s+with|we\s+worked\s+on)\s*,?\s+)?([a-z][a-z ]{1,20}?)\s*(?:training|work|drills?|exercises?|activities)?\s*[,:\u2013-]\s*(?:(?!then\b|and\b|also\b)[a-z-]+\s+){0,2}", re.I)
AGO = re.compile(r"\s*(?:(?:points?|pts|seconds?|secs?|percent|m/s)\b)?\s*,?\s*(?:about\s+|over\s+|almost\s+)?(?:\d+|a|an|one|a few|several)\s+(?:days?|weeks?|wks?|months?|mos?|years?)\s+ago\b", re.I)
# an unnamed drill's words start after the filler of speech ("then we did", "and she")
UNNAMED_LEAD = re.compile(r"[\s.-]*(?:(?:and|then|next|also|after that|so|um|uh|we|we're|we've|she|he|they|did|had|was|were|worked on|work on|doing|the patient|pt|patient)\s+)*", re.I)
UNNAMED_MAX_CHARS = 90  # the longest description kept as an unnamed drill's name
SENTENCE_END = re.compile(r"[.!?](?=\s)\s*|\n\s*")
SIDE_WORDS = re.compile(r"(?<=\s)(?:r|l|rt|lt|right|left|b|bil|bilat|bilateral|both|le|ue|rle|lle|rue|lue)\s+", re.I)
PARENTHETICAL = re.compile(r"\([^()\n]{0,80}\)")
# an unnamed drill's first list item that names it ("Bimanual play: holding the container ...")
HEAD_NOUN = re.compile(r"\b(?:play|game|games|activity|activities|drill|drills|task|tasks|practice|work|course)\s*$", re.I)
# "Heavy work ..., four trips of five pushes": after a count, a drill word is the unit of
# the dose of the drill named before it
COUNTED = re.compile(r"\b\d+\s+$")
# categories a device names on its own (LABELLING.md, rule 2)
# equipment words short enough to be part of a drill's own name ("step taps", "bars") name
# equipment inside a drill's name only when they are nothing but a surface
SURFACE_WORDS = frozenset({"foam"})
DEVICE_CATEGORIES = frozenset({"virtual_reality", "biofeedback", "functional_electrical_stimulation", "robotic_assisted"})
# a static hold dosed "3 x 30" with no unit: thirty seconds, not thirty repetitions
STATIC_HOLD = re.compile(r"\b(?:stance|stand|standing|romberg|tandem|hold|holds|kneel|kneeling|plank|static)\b", re.I)
MOVING = re.compile(r"\b(?:walk|walking|gait|step|steps|stepping|march|marching|taps?|reach|reaches|reaching|shifts?|shifting|hops?|toss|catch)", re.I)
STATIC_HOLD_MIN_SECONDS = 15  # fewer is a count of repetitions ("tandem stance 3 x 10" stays 10 reps)
DEFICIT_SENTENCE = re.compile(r"\s*(?:[-*]\s*)?(?:so\s+|and\s+|um,?\s+)*(?:(?:her|his|their|the|main|primary|biggest|key)\s+)*"
                              r"(?:deficits?|impairments?|problems?|(?:big\s+|main\s+|biggest\s+)?(?:issues?|concerns?)|(?:big|main|biggest)\s+things?)\b(?!\s+(?:improv|resolv))", re.I)
PRIOR_BEFORE_NAME = re.compile(r"\b(?:admission|admit|initial|eval(?:uation)?|baseline|last|previous|prior|ie|soc)\b(?:\s+[a-z-]+){0,2}\s*$", re.I)
BILLING_WORDS = re.compile(r"\bbill(?:ed|ing)?\b|\bunits?\b|\bcharg(?:e|ed|ing)\b", re.I)
BILLED_AFTER = re.compile(r"\s*(?:x|×|times)\s*(\d{1,2})\b(?!\s*-?\s*(?:min|mins|minutes?)\b)", re.I)
# "two neuro re-ed", "three of neuro re-ed", "one of ther activities" ("one of" stays a word)
BILLED_BEFORE = re.compile(r"\b(\d|one)\s+(?:of\s+)?$", re.I)
# a sentence that states a goal ("Goal: indep stairs", "The goal is independent transfers")
GOAL_BEFORE = re.compile(r"\b(?:(?:goals?|ltg|stg)\s+(?:is|are|was|will be)|(?:wants?|would like|hopes?|hoping)|(?:to\s+)?return)\s+to\s+(?:[a-z']+\s+){0,4}$", re.I)
GOAL_LINE = re.compile(r"\s*(?:[-*]\s*)?(?:\w+\s+){0,2}(?:goals?|ltg|stg)\b", re.I)
# "impaired proprioception + balance": more deficits joined to the first
IMPAIRMENT_WORDS = {"balance": "balance", "coordination": "coordination", "proprioception": "proprioception",
                    "posture": "posture", "sensation": "sensory", "motor control": "motor_control",
                    "position sense": "proprioception"}
IMPAIRMENT_LIST = re.compile(r"\s*(?:\+|&|/|,|and)\s*(?:(?:r|l|rt|lt|right|left|b|bil|bilateral)\s+)?(?:(?:le|ue|lower extremity|upper extremity|ankle|knee|hip|trunk|hand)\s+)?(?:(?:fm|fine motor|gross motor|gm)\s+)?(balance|coordination|proprioception|posture|sensation|motor control|position sense)\b", re.I)
# a drill named and taken back at once
RETRACTED = re.compile(r"(?:\s+\w+){0,3}\s*,\s*(?:no|wait|sorry)\s*,?\s*(?:no|sorry|wait|i mean|scratch that|strike that)\b|(?:\s+\w+){0,3}\s*,\s*(?:scratch that|strike that)\b", re.I)
# words that say a drill was done in this sentence
DID = re.compile(r"\b(?:we|did|worked|performed|practiced|practised|started|trained|completed|focused)\b", re.I)
# "Thirty minute session", "a 45-minute visit": the total treatment time
# "neuro re-education 40 minutes and therapeutic exercise 8 minutes, together 48 minutes";
# "Pull-out session in the OT room, 30 minutes" (group 1 stays empty: the figure is group 2)
TOGETHER_TOTAL = re.compile(r"(?:\b(?:minutes?|mins?)\s*,?\s*(?:all\s+)?together|\bpull[- ]out\s+session\b[^.;\d]{0,30}?)()\s*,?\s*(\d{1,3})\s*(?:minutes?|mins?)\b", re.I)
SESSION_LENGTH = re.compile(r"\b(\d{1,3})[- ]?minutes?\s+(?:(?:pull[- ]out|one[- ]on[- ]one|individual|home)\s+)?(?:session|visit|treatment session|appointment)\b"
                            r"|(?:(?<=[,;] )|^|(?<=\n))(?:the\s+)?(?:session|visit)(?:\s+length)?\s*(?::\s*|was\s+|lasted\s+)?(\d{1,3})\s*(?:minutes?|mins?)\b", re.I | re.M)


class ItemsThenTail:
    """A regex of up to `reach` characters of items, then a tail that ends them ("... are
    the main deficits"). Python's re tries the items from every start in the text; this
    starts only within reach of a place where the tail matches, with the same matches."""

    def __init__(self, items: str, reach: int, tail: str, flags: int = 0):
        self.pattern = re.compile(items + tail, flags)
        self.tail_at = re.compile(f"(?={tail})", flags)
        self.reach = reach

    def finditer(self, text: str):
        tails = [m.start() for m in self.tail_at.finditer(text)]
        pos, i = 0, 0
        while True:
            while i < len(tails) and tails[i] < pos:
                i += 1
            if i == len(tails):
                return
            m = self.pattern.search(text, max(pos, tails[i] - self.reach))
            if m is None:
                return
            yield m
            pos = m.end()

    def search(self, text: str) -> re.Match | None:
        return next(self.finditer(text), None)


# a stated problem list, and the deficit words in it
PROBLEM_LIST_AFTER = re.compile(
    r"\b(?:(?:main|biggest|big|primary|major|key)\s+)?(?:deficits?|issues?|problems?|impairments?|limitations?|concerns?|(?:(?<=big )|(?<=main ))things?)\s+(?:today\s+|now\s+|i'm addressing\s+|we're addressing\s+|i am addressing\s+)?"
    r"(?:are|is|include|includes|remain|:)\s+(?:still\s+)?(?P<items>[^.;]{3,120})", re.I)
PROBLEM_LIST_BEFORE = ItemsThenTail(
    r"(?P<items>[^.;]{3,120}?)", 120,
    r"\s+(?:are|is|remain|remains)\s+(?:still\s+)?(?:the|her|his|their|your|a)\s+(?:main\s+|biggest\s+|big\s+|primary\s+|major\s+|key\s+)?"
    r"(?:deficits?|issues?|problems?|impairments?|limitations?|worry|worries|concerns?)\b", re.I)
IMPAIRMENT_NOUNS = re.compile(r"\b(?:position sense|balance|coordination|motor control|trunk control|posture|postural control|proprioception|proprioceptive awareness|proprio|gaze stability|gaze|sensation|feeling|sensory processing|sensory modulation)\b", re.I)
# "standing balance and left LE motor control impaired", "posture and standing balance are the focus"
DEFICIT_LIST = ItemsThenTail(
    r"(?P<items>[^.;,]{3,100}?)", 100,
    r"\s*,?\s+(?:are|is|remain|remains|'s)?\s*(?:both\s+|still\s+|all\s+|really\s+|very\s+)*"
    r"(?:impaired|poor|decreased|diminished|down|off|reduced|limited|the focus|what we're targeting|what we are targeting)\b", re.I)
# the minutes a total-time phrase states: "Timed 48 min", "Total tx time: 50 min"
MINUTES_AFTER_TOTAL = re.compile(r"[^.;\d]{0,12}?" + MINUTES.pattern, re.I)
# a dose right after a name: "SLS at counter B 3 x 10 sec"
DOSED = re.compile(r"[^.;\d]{0,40}?\d+\s*(?:(?:[x×]|by)(?=\s*\d)|(?:x|×|sets?|holds?|reps?|trials?|times|rounds?|bouts?)\b)", re.I)
# a sentence that goes on about the measure named before it
CONTINUES = re.compile(
    r"\s*(?:at\s+(?:the\s+)?(?:eval|evaluation|ie|initial\s+eval(?:uation)?|her\s+eval(?:uation)?|his\s+eval(?:uation)?|intake|soc)\s*,?\s*)?"
    r"(?:and\s+)?(?:(?:it|that|this|which|she|he|score|(?:the\s+)?(?:left|right)(?:\s+side|\s+leg)?)\s+(?:was|is|had been|were)"
    r"|(?:her\s+|his\s+|the\s+|our\s+)?goal\s+(?:for\s+(?:the\s+)?(?:left|right|l|r)(?:\s+side|\s+leg)?\s+)?(?:is|was|of|would be)"
    r"|(?:her\s+|his\s+|the\s+|our\s+)?goal(?=\s+(?:[rl]|right|left|\d+|<|>|under|over)\b)"
    r"|(?:left|right|l|r|rt|lt)(?=\s*[:=]?\s*\d)"  # "SLS R 30 sec; L 45 sec": the other side
    r"|(?:was|were|previously)(?=\s+\d)"  # "SLS 14 sec eyes open; was 5 sec at IE"
    # "Mini-BESTest 17/28 today; 14/28 at initial evaluation": the same scale's earlier score
    r"|\d+(?:\.\d+)?\s*(?:/|out\s+of)\s*\d+(?=\s*(?:at\s+(?:the\s+|his\s+|her\s+)?(?:initial|ie|eval|evaluation|soc|start|admission|intake)|on\s+admission|prior|previously)\b)"
    r"|(?:last|this past)\s+(?:week|month|visit|session|time)(?=\s*,?\s*\d))\b", re.I)  # "Berg 58/56 today ...; last month 39/56"
# "all in the parallel bars", "everything was done on the mat": a setting for the drills that follow
SHARED_SETTING = re.compile(r"\b(?:all(?:\s+of\s+(?:it|them|this))?|everything|every drill|each drill)\b(?:\s+(?:was|were|done|performed))*\s+(?:in|on|at|with|using|inside)\b", re.I)
# "3 units (97112 x2, 97110 x1)": the visit's units, then each code's
UNITS_BREAKDOWN = re.compile(r"\s*\(\s*[^()]{0,40}?\b\d{5}\b[^()]{0,40}?[,;/+&]\s*[^()]{0,40}?\b\d{5}\b[^()]*\)")
NOT_A_PAD = re.compile(r"\s+(?:rolls?|rollers?|noodles?|blocks?|cubes?|shapes?|wedges?|letters?|puzzle|tiles?|swords?|balls?|cups?|dice|hurdles?)\b", re.I)
# "neuro re-ed twenty five minutes in the parallel bars": the code's setting
CODE_SETTING = re.compile(r"\s*[,:-]?\s*(?:(?:for\s+)?\d+\s*(?:minutes?|mins?)\b\s*,?\s*)?(?:was\s+|were\s+|done\s+|all\s+)*(?:in|at|on|using|inside)\s+(?:the\s+)?", re.I)
# "static standing and lateral wt shifts, both in parallel bars"
SHARED_BEFORE = re.compile(r"\b(?:both|all|each)(?:\s+(?:done|performed))?\s+(?:in|at|on|using|inside|with)\s+(?:the\s+)?$", re.I)
WALKING = re.compile(r"\b(?:walk\w*|hallway|gait|ambulat\w*|corridor)\b", re.I)
# "P: Progress VOR x1 to standing on foam": today's drill, made harder next time
PROGRESSION = re.compile(r"\bprogress(?:ing|ed)?\s+(?:the\s+)?$", re.I)
OWN_MINUTES = re.compile(r"\s*(?:was|were|for|x|:|-|,)?\s*(?:about\s+)?\d+\s*(?:minutes?|mins?)\b", re.I)
CODE_TOTAL = re.compile(r"[ \t]*(?:was\s+)?(?:total|in total)\s*(?:of\s+|was\s+|time\s+(?:was\s+)?)?", re.I)
WITH_DEVICE = re.compile(r"\b(?:with|during|while)\s+(?:(?:functional|active|volitional|simultaneous)\s+)?$", re.I)
# "3 x 30 seconds each" (not "each side"): the dose of every drill named before it
EACH_AFTER_DOSE = re.compile(r"\s*(?:each|apiece|for each|for both)\b(?!\s+(?:side|leg|direction|way|arm|hand|foot|joint|ankle|knee|hip|eye|position|plane)s?\b)", re.I)
# "two rounds of the circuit: ...": the rounds of every drill in it
CIRCUIT_AFTER_DOSE = re.compile(r"\s*(?:of|through)\s+(?:the\s+)?(?:circuit|stations|course)\s*[:,-]", re.I)
LEADING_PURPOSE = re.compile(r"\s*(?:[-*]\s*)?(?:and\s+|then\s+|next\s+)?(for\s+[a-z ]{3,40}?)\s*[,:]\s*$", re.I)
OTHER_SIDE_VALUE = re.compile(r"\s*(?:r|l|rt|lt|right|left)\b\s*[:=]?\s*\d", re.I)
STANCE = re.compile(r"\b(?:stance|standing|sls|romberg|tandem)\b", re.I)
# a count of responses or of some of the reps, not a dose ("took 2-3 steps", "on the first 3 pulls")
RESPONSE_COUNT = re.compile(r"\b(?:took|taking|needed|needing|required|requiring|first|last)\s+$", re.I)
# a drill named as the condition for another ("if he can hold tandem on the floor")
CONDITION_LEAD = (r"\b(?:if|once|when|until)\s+(?:he|she|they|pt|the patient|patient)\s+"
                  r"(?:(?:can|could|is able to)\s+|(?:holds|tolerates|manages|completes|maintains|does)\b)")
CONDITION_ON = re.compile(CONDITION_LEAD + r"\s*(?:[a-z]+\s+){0,2}$", re.I)
CONDITION_CLAUSE = re.compile(CONDITION_LEAD + r"[^.;,\n]*", re.I)
# an addition to the drill named before it on the line ("ball toss added on rounds 3 and 4")
ADDED_TO_ROUNDS = re.compile(r"\s+(?:was\s+|were\s+)?added\s+(?:on|in|for|during|to)\b", re.I)
# a drill's dose, then the purpose that names it: ", six trips, for proprioceptive input"
PURPOSE_AFTER_DOSE = re.compile(r",\s*for\s+$", re.I)
# a sentence that is only a code and its minutes: "Ther act 24 min." ('|' marks the code)
CODE_TIME_ONLY = re.compile(r"\s*(?:[-*]\s*)?\|\s*(?:\(?\d{5}\)?\s*)?(?:x\s*)?\d+\s*(?:min|mins|minutes)\.?\s*", re.I)
# a position named before the drill done in it
POSITION_ONLY = re.compile(r"quadruped|all fours|hands and knees", re.I)
# a goal said inside a run-on, to the end of its sentence: its figures are no dose
GOAL_CLAUSE = re.compile(r"\b(?:the\s+|her\s+|his\s+|their\s+)?goals?\s+(?:is|are|will be)\s+(?:for|to|that)\b[^.;\n]*", re.I)
CODE_NAME_BEFORE = re.compile(r"\b9\d{4}\s*[-:]?\s*$")
CODE_MINUTES_AFTER = re.compile(r"\s*[-:,]?\s*(?:x\s*)?\d+\s*(?:minutes?|mins?)\b", re.I)
COURSE = re.compile(r"\bobstacle course\b|\bcircuit\b", re.I)
# "a 4 lb weighted ball": what a thing weighs, not a dose
WEIGHT = re.compile(r"\b\d+(?:\.\d+)?\s*(?:-\s*)?(?:lbs?|pounds?|kg|kilos?|oz)\b", re.I)
SURFACE_GAP = re.compile(r"\s+(?:on|over)\s+(?:the\s+|a\s+)?(?:[a-z-]+\s+){1,2}", re.I)
GROUP_AFTER = re.compile(r"\s+(?:group|class)\b", re.I)
# a stimulator's on/off cycle, no dose: "10 seconds on and 20 off", "10 s on/20 s off"
DUTY_CYCLE = re.compile(r"\d+\s*(?:seconds?|secs?|s)?\s+on\s*(?:and|,|/)?\s*\d+\s*(?:seconds?|secs?|s)?\s+off\b", re.I)
HELD_IN_HAND = re.compile(r"\bheld\s+(?:it\s+|them\s+)?(?:up|out|onto|on to)\b")
IF_TOLERATED = re.compile(r"\s+(?:are\s+|is\s+|remain\s+|remains\s+|stay\s+|stays\s+)?(?:pain[- ]free|tolerated|well tolerated|ok|okay|symptom[- ]free|go well|goes well)\b", re.I)
VAGUE_DOSE = re.compile(r"\b(?:some|a few|several|few|multiple)\s+(?:reps|repetitions|sets|rounds|trials|bouts)\b", re.I)
ONE_BY_ONE = re.compile(r"\b(?:1|one)\s+by\s+(?:1|one)\b(?!\d)|\bone at a time\b|\bone after (?:the )?other\b", re.I)
EVALUATION_CODES = frozenset({"97161", "97162", "97163", "97164", "97165", "97166", "97167", "97168"})
FOR_A_SPAN = re.compile(r"\bx\s*\d+\s*(?:wks?|weeks?|days?|months?|mos?)\b", re.I)
IN_A_PLACE = re.compile(r"\b(?:in|at|between|inside)\s+(?:the\s+)?$", re.I)
TOTAL_NAMED = re.compile(r"\b(?:time|treatment|tx|session|visit)\b", re.I)
# abbreviations that name a code only where a line opens with them and their minutes ("TA" is
# also the tibialis anterior)
LINE_CODE_ABBREVIATIONS = {"ta": "97530"}
LINE_CODE_ABBREVIATION = re.compile(r"(?m)^[ \t]*(?:[-*][ \t]*)?(TA)[ \t]*(?:x[ \t]*)?\d+[ \t]*(?:min|mins|minutes)\b")
_PART = r"(?:hands?|forearms?|wrists?|knees?|shoulders?|neck|low back|back|ankles?|feet|foot|hips?|elbows?|legs?|arms?)"
BODY_PARTS = re.compile(r"^\s*(?:(?:r|l|rt|lt|right|left|b|bil|bilateral)\s+)?" + _PART + r"(?:\s+(?:and|&|/)\s+" + _PART + r")?\s*$", re.I)
# an EMR template's minutes field after the code on its line
EMR_MINUTES = re.compile(r"\|\s*(?:minutes|mins?)\s*:\s*(\d{1,3})\b", re.I)
UNITS_LINE = re.compile(r"^\s*(?:[-*]\s*)?(?:units?|billed units?)\b[^\n]*$", re.I)
# a billing modifier said with its number, which is no score or minutes
MODIFIER_NUMBER = re.compile(r"\b\d{2}\s+modifiers?\b|\bmodifiers?\s+\d{2}\b", re.I)
LIST_ITEM = re.compile(r"[ \t]*(?:[-*\u2022]|\d{1,2}[.)])[ \t]")
# a dose after a drill's name: it was done, whatever the words before it say
DRILL_DOSE = re.compile(r"\d+\s*(?:[x×](?=\s*\d)|(?:x|×|sets?|reps?|repetitions|holds?|trials?|rounds?|bouts?|laps?|passes|minutes?|min|seconds?|sec)\b)")
# how far (characters) a correction may reach back for the value it replaces
CORRECTION_REACH_CHARS = 80


def build_pipeline() -> Language:
    """A blank English pipeline with Scribe's rule-based components."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer", config={"punct_chars": [".", "!", "?", ";", "\n"]})
    nlp.add_pipe("scribe_clauses")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "validate": True})
    patterns = ruler_patterns()
    ruler.add_patterns(patterns)
    ruler.matcher = TriggeredMatcher(nlp.vocab, [
        (f"{p['label']}{ruler.ent_id_sep}{p['id']}" if p.get("id") else p["label"], p["pattern"])
        for p in patterns if isinstance(p["pattern"], list)])
    nlp.add_pipe("scribe_phrases")
    nlp.add_pipe("scribe_context")
    return nlp


@lru_cache(maxsize=None)
def get_extractor() -> "Extractor":
    """The process-wide extractor: the pipeline is loaded once per process."""
    return Extractor(build_pipeline())


def extract(transcript: Transcript | str) -> SessionFacts:
    """Facts of one dictation (library entry point)."""
    if isinstance(transcript, str):
        transcript = Transcript(text=transcript)
    return get_extractor().extract(transcript)


_CORRECTION_KIND = [
    # "SLS 3 x 10s ea (correction: 3 x 15s ea)"
    ("x_dose", re.compile(r"\b(\d+\s*(?:[x×]|by)\s*\d+(?:\.\d+)?(?:\s*(?:seconds?|secs?|s|minutes?|mins?|reps?)\b)?)", re.I)),
    # "three times thirty seconds, correction, three times twenty seconds"
    ("times_dose", re.compile(r"\b(\d+\s*times\s*\d+(?:\.\d+)?(?:\s*(?:seconds?|secs?|minutes?|mins?))?)", re.I)),
    ("sets_reps", re.compile(r"\b(\d+\s*(?:sets?|rounds?)\s*(?:of|x)\s*\d+(?:\.\d+)?(?:\s*(?:reps?|repetitions?|seconds?|secs?|minutes?))?)", re.I)),
    ("minutes", re.compile(r"\b(\d+)\s*(?:minutes?|mins?)\b", re.I)),
    ("sets", re.compile(r"\b(\d+)\s*(?:sets?|rounds?)\b", re.I)),
    ("reps", re.compile(r"\b(\d+)\s*(?:reps?|repetitions?)\b", re.I)),
    ("seconds", re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:seconds?|secs?)\b", re.I)),
    ("units", re.compile(r"\b(\d+)\s*units?\b", re.I)),
    # "Mini best 17 out of 28, sorry, 18 out of 28 today"
    ("score", re.compile(r"\b(\d+(?:\.\d+)?\s*(?:out of|/|over)\s*\d+)\b", re.I)),
    ("number", re.compile(r"\b(\d+(?:\.\d+)?)\b")),
]


# characters that re.IGNORECASE matches to an ASCII letter ("ı" to "i", "ſ" to "s")
FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")


def _cue_matches(cue_re: re.Pattern, cues: list[str], text: str):
    """`cue_re.finditer(text)` for the correction cues: each search starts at the spaces
    and mark before the next place a cue is written (re alone tries every cue at every
    character). Cues are ASCII and open with a letter; other texts take the plain scan."""
    low = text.lower()
    if FOLDS_TO_ASCII & set(text) or len(low) != len(text) or not all(c.isascii() and c[:1].isalpha() for c in cues):
        yield from cue_re.finditer(text)
        return
    pos = 0
    while True:
        at = [i for i in (low.find(c, pos) for c in cues) if i >= 0]
        if not at:
            return
        start = min(at)
        while start > pos and text[start - 1].isspace():
            start -= 1
        if start > pos and text[start - 1] in ",;:.":
            start -= 1
        m = cue_re.search(text, start)
        if m is None:
            return
        yield m
        pos = m.end()


def apply_corrections(nt: NormalizedText, cues: list[str]) -> NormalizedText:
    """'25 minutes, scratch that, 28 minutes' -> '28 minutes': the corrected value wins.

    The replaced value keeps the whole phrase as its evidence, so a reviewer sees both.
    """
    # one or a chain of cues: "thirty minutes, wait, no, sorry, it was twenty eight"
    cue_re = re.compile(
        r"(?:[,;:.]?\s*\b(?:" + "|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True)) + r")\b[,;:.]?\s*)+"
        r"(?:(?:it|that)\s+(?:was|is)\s+|it's\s+)?",
        re.I,
    )
    edits: list[tuple[int, int, str, tuple[int, int] | None]] = []
    text = nt.text
    last_end = 0
    for cue in _cue_matches(cue_re, cues, text):
        after = text[cue.end(): cue.end() + 40]
        old_minutes = re.search(r"\b(\d{1,3})(\s*(?:minutes?|mins?))\s*$", text[max(last_end, cue.start() - 20):cue.start()], re.I)
        new_bare = re.match(r"(\d{1,3})\b(?!\s*(?:/|x\b|sets?|reps?|seconds?|secs?|points?|percent|%|\.\d))", after, re.I)
        if old_minutes and new_bare:
            # "Neuro re-ed was thirty minutes, wait, no, sorry, it was twenty eight because ...": minutes again
            o_start = max(last_end, cue.start() - 20) + old_minutes.start(1)
            new_end = cue.end() + new_bare.end()
            edits.append((o_start, o_start + len(old_minutes.group(1)), new_bare.group(1), nt.to_original(o_start, new_end)))
            edits.append((cue.start(), new_end, " " * (new_end - cue.start()), None))
            last_end = new_end
            continue
        for kind, pattern in _CORRECTION_KIND:
            new = pattern.match(after)
            if not new:
                continue
            window_start = max(last_end, cue.start() - CORRECTION_REACH_CHARS)
            olds = list(pattern.finditer(text, window_start, cue.start()))
            bare = re.search(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*$", text[max(last_end, cue.start() - 8):cue.start()])
            b_start = max(last_end, cue.start() - 8) + bare.start(1) if bare else 0
            if bare and not (olds and olds[-1].end() > b_start):
                # "therapeutic activities 20, correction, 25 minutes": the bare 20 is the one retracted
                new_end = cue.end() + new.end()
                edits.append((b_start, cue.start(), new.group(0).strip(), nt.to_original(b_start, new_end)))
                edits.append((cue.start(), new_end, " " * (new_end - cue.start()), None))
                last_end = new_end
                break
            if not olds:
                continue
            old = olds[-1]
            new_end = cue.end() + new.end()
            span = (nt.to_original(old.start(), new_end))
            edits.append((old.start(1), old.end(1), new.group(1), span))
            edits.append((cue.start(), new_end, " " * (new_end - cue.start()), None))
            last_end = new_end
            break
    # "neuro re-ed twenty, uh, twenty-three minutes": a number restarted after a filler;
    # "sixteen seconds, sixteen point five, sorry": the second number, then the apology
    for m in [*RESTART.finditer(text), *RESTART_AFTER.finditer(text)]:
        if not any(s <= m.start() < e for s, e, _, _ in edits):
            span = nt.to_original(m.start(1), m.end(2))
            edits.append((m.start(1), m.start(2), " " * (m.start(2) - m.start(1)), None))
            edits.append((m.start(2), m.end(2), m.group(2), span))
    return nt.replace(edits) if edits else nt


RESTART_AFTER = re.compile(r"\b(\d{1,3}(?:\.\d+)?)(?:\s*(?:seconds?|minutes?|points?|percent))?\s*,\s*(\d+(?:\.\d+)?)(?=\s*,?\s*(?:sorry|i mean)\b)", re.I)
RESTART = re.compile(r"\b(\d{1,3}(?:\.\d+)?)\s*,?\s*(?:uh|um|er|erm|uhm)\s*,?\s*(\d+(?:\.\d+)?)\b", re.I)


class Extractor:
    """Runs the pipeline and turns its annotations into SessionFacts."""

    def __init__(self, nlp: Language):
        self.nlp = nlp
        self.phrases = phrases()
        patterns = entity_patterns()
        self.implies = {p.pattern: p.implies for p in patterns if p.implies and isinstance(p.pattern, str)}
        self.generic = {p.pattern for p in patterns if p.generic and isinstance(p.pattern, str)}
        self.timed = {c.code: c.timed for c in cpt_table().codes}
        self.intent = intent_rules()
        self.unnamed = unnamed_drills()
        self.drill_measures = {n: m.id for m in measure_table().measures for n in m.drill_names}
        self.technique_equipment = [
            (re.compile(r"(?<![a-z])" + re.escape(p.pattern) + r"(?![a-z])", re.I), p.equipment)
            for p in patterns if p.equipment and isinstance(p.pattern, str)
        ]
        self.equipment_words = [
            (re.compile(r"(?<![a-z])" + re.escape(p.pattern) + r"(?![a-z])", re.I), p.id)
            for p in patterns
            if p.label == "EQUIPMENT" and isinstance(p.pattern, str) and (len(p.pattern) > 4 or p.pattern in SURFACE_WORDS)
        ]
        # any of those words, in one pass: a drill's name without one needs no look at each
        self.any_equipment_word = re.compile("|".join(
            pattern.pattern for pattern, _ in self.equipment_words + self.technique_equipment), re.I)

    # -- evidence -----------------------------------------------------------------------
    def _evidence(self, transcript: Transcript, nt: NormalizedText, start: int, end: int) -> Evidence:
        o_s, o_e = nt.to_original(start, end)
        a_s, a_e = transcript.audio_span(o_s, o_e)
        return Evidence(text=nt.original[o_s:o_e], start=o_s, end=o_e, audio_start=a_s, audio_end=a_e,
                        confidence=transcript.confidence(o_s, o_e))

    # -- main ---------------------------------------------------------------------------
    def extract(self, transcript: Transcript) -> SessionFacts:
        nt = apply_corrections(normalize(transcript.text), self.phrases.correction)
        doc = self.nlp.make_doc(nt.text)
        doc.user_data["scribe_text"] = nt.text  # text_of: spaCy's tokenizer keeps every character
        doc = self.nlp(doc)
        ev = lambda s, e: self._evidence(transcript, nt, s, e)  # noqa: E731
        facts = SessionFacts()
        used: list[tuple[int, int]] = []  # characters already read as minutes, totals, scores
        used += [(m.start(), m.end()) for m in MODIFIER_NUMBER.finditer(nt.text)]  # "59 modifier on the one on one lines"
        facts.minutes, facts.billed_units = self._minutes(doc, ev, used)
        facts.total_treatment_minutes, facts.total_treatment_evidence = self._total_time(doc, ev, used)
        if not facts.minutes and facts.total_treatment_minutes:
            facts.minutes = self._all_one_code(doc, facts.total_treatment_minutes, facts.total_treatment_evidence, ev)
        facts.measures = self._measures(doc, ev, used)
        facts.techniques = self._techniques(doc, ev, used)
        facts.telehealth = self._telehealth(doc, ev)
        facts.impairments = _distinct(self._mentions(doc, "IMPAIRMENT", ev, drop_negated=True) + self._deficit_mentions(doc, ev)
                                      + self._deficit_lists(doc, ev))
        facts.negated_findings = [m for m in self._mentions(doc, "IMPAIRMENT", ev) if m.negated]
        facts.diagnoses = self._diagnoses(doc, ev)
        facts.assist_levels = self._mentions(doc, "ASSIST", ev, skip_goals=True)
        facts.cues = self._mentions(doc, "CUE", ev)
        facts.strength_work = self._group(doc, "strength", ev)
        facts.vague_phrases = self._group(doc, "vague", ev)
        facts.maintenance_phrases = self._group(doc, "maintenance", ev)
        facts.skilled_maintenance = bool(doc.spans.get("skilled_maintenance"))
        facts.goals, facts.functional_changes, facts.functional_limitations, facts.responses, facts.plan = self._statements(doc, ev)
        facts.audio_gaps = list(transcript.gaps)
        # full stops and line ends only: a typed line "NMR 97112 24 min: ...; mini squats" is one sentence
        facts.sentence_starts = [0] + [m.end() for m in SENTENCE_END.finditer(transcript.text)]
        return facts

    # -- techniques ---------------------------------------------------------------------
    def _blocked(self, doc: Doc, used: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Characters that are not parameters: names ('5 times sit to stand'), codes,
        and figures already read as code minutes, total time or scores."""
        out = [(e.start_char, e.end_char) for e in ents_of(doc) if e.label_ in ("MEASURE", "CPT", "TECHNIQUE")]
        out += [(m.start(), m.end()) for m in CODE_NUMBER.finditer(text_of(doc))]
        out += [(m.start(), m.end()) for m in CONDITION_CLAUSE.finditer(text_of(doc))]  # "if he can hold it 30 s"
        out += [(m.start(), m.end()) for m in GOAL_CLAUSE.finditer(text_of(doc))]  # "goal is ... sit for 10 minutes"
        out += [(m.start(), m.end()) for m in DUTY_CYCLE.finditer(text_of(doc))]  # "10 seconds on and 20 off"
        out += [(m.start(), m.end()) for m in ONE_BY_ONE.finditer(text_of(doc))]  # "pick up coins one by one"
        out += [(m.start(), m.end()) for m in FOR_A_SPAN.finditer(text_of(doc))]  # "Brandt-Daroff at home x1 wk"
        for t in [*spans_of(doc, "total_time"), *spans_of(doc, "timed_total")]:
            m = MINUTES_AFTER_TOTAL.match(text_of(doc), t.end_char)
            if m:
                out.append((t.end_char, m.end()))  # "Timed 48 min. Total tx time 50 min.": the visit's time, no dose
        return out + used

    def _as_drill(self, doc: Doc, ent: Span) -> Span:
        """'SLS at counter B 3 x 10 sec': a measure's name with a dose after it is the drill."""
        if ent.text.lower() in self.drill_measures and (
                DOSED.match(text_of(doc), ent.end_char)
                # "Progress to SLS next visit": the stance as a drill to add
                or re.search(r"\b(?:progress(?:ing)?\s+to|add(?:ing)?|introduce|start(?:ing)?)\s+(?:the\s+)?(?:(?:r|l|rt|lt|right|left)\s+)?$",
                             text_of(doc)[sent_of(ent).start_char:ent.start_char], re.I)
                # "SLS on BOSU.": a stance on a surface is the drill, not the test
                or self._on_equipment(doc, ent)):
            span = Span(doc, ent.start, ent.end, label="TECHNIQUE", span_id="balance_training")
            span._.status = ent._.status or "performed"
            return span
        return ent

    def _on_equipment(self, doc: Doc, ent: Span) -> bool:
        if re.match(r"\s+(?:at|on)\s+(?:the\s+)?(?:kitchen\s+)?(?:counter|countertop|sink|wall|rail|mat)\b", text_of(doc)[ent.end_char:ent.end_char + 30], re.I):
            return True  # "SLS at counter"
        on = re.match(r"\s+(?:on|in)\s+(?:the\s+|a\s+)?", text_of(doc)[ent.end_char:ent.end_char + 12], re.I)
        if re.search(r"\b(?:to|in|during|into)\s+(?:(?:r|l|rt|lt|right|left)\s+)?$", text_of(doc)[sent_of(ent).start_char:ent.start_char], re.I):
            return False  # "Perturbations to R SLS on foam pad": the stance is where another drill was done
        return bool(on) and any(o.label_ == "EQUIPMENT" and o.start_char == ent.end_char + on.end() for o in ents_of(doc))

    def _not_todays_drill(self, doc: Doc, ent: Span) -> bool:
        """Words of a drill that name no drill done today in 97112 time: what a cue asked
        for, the drill done instead of, a goal, a home program, a test, work billed under
        another code ('Therapeutic activities was practicing jumping jacks')."""
        text = text_of(doc)
        sent = sent_of(ent)
        head = text[sent.start_char:ent.start_char]
        if CUE_TARGET.search(head) or re.search(r"\b(?:cu(?:es?|eing|ed)|queues?|vcs?)\s*[:,]?\s*[\"\u201c']?\s*$", head, re.I):
            return True  # "verbal cues throughout for an upright trunk"; verbal cue "big steps"
        if ent.text.lower() in ("visual feedback", "mirror feedback", "auditory feedback") and re.match(r"\s+from\b", text[ent.end_char:]):
            return True  # "three by ten, visual feedback from the mirror and verbal cues": a cue
        if RETRACTED.match(text[ent.end_char:sent.end_char]):
            return True  # "stepping over the cords, no, sorry, I mean he didn't want to"
        if re.match(r"\s+(?:testing|tests?|assessments?|screens?|screening)\b", text[ent.end_char:sent.end_char], re.I):
            return True  # "Plan an in-person visit for the DGI and dual task testing"
        if _ends_with_any(head.lower(), self.phrases.not_a_drill_before):
            return True  # "stepping instead of hopping"
        if ADDED_TO_ROUNDS.match(text, ent.end_char) and any(
                o.label_ == "TECHNIQUE" and text.rfind("\n", 0, ent.start_char) < o.start_char < ent.start_char for o in ents_of(doc)):
            return True  # "SLS on BOSU 4 x 30 sec; ball toss added on rounds 3 and 4": part of the stance drill
        if GROUP_AFTER.match(text, ent.end_char):
            return True  # "he attended the standing balance group": the group's name
        if CODE_NAME_BEFORE.search(head) and CODE_MINUTES_AFTER.match(text, ent.end_char):
            return True  # "97533 sensory integration 25 minutes": the code's name
        if re.search(r"\bif\s+(?:the\s+|his\s+|her\s+)?$", head, re.I) and IF_TOLERATED.match(text, ent.end_char):
            return True  # "agility ladder drills next wk if hops pain free": a criterion
        if CONDITION_ON.search(head):
            return True  # "progress to tandem on foam if he can hold tandem on the floor": a criterion
        if GOAL_LINE.match(span_text(sent)) and not DRILL_DOSE.search(span_text(sent)):
            return True  # "Goal is skipping the length of the gym"
        line = text[text.rfind("\n", 0, ent.start_char) + 1:ent.start_char].lower()
        for lead in (line, head.lower()):
            heading = re.match(r"\s*(?:[-*]\s*)?([a-z /]{1,30}):", lead)
            if heading and heading.group(1).strip() in self.phrases.home_program_headings:
                return True  # "HEP: hopscotch in driveway"
        clause = re.split(r"[;]|\band then\b|\bthen\b|\band (?:his|her|their)\b", text[max(sent.start_char, ent.start_char - 60):min(sent.end_char, ent.end_char + 60)].lower())
        local = next((c for c in clause if ent.text.lower() in c), "")
        if _has_any(local, self.phrases.test_names) and not (
                any(ent.text.lower() in t and t in local for t in self.phrases.test_names) and SETS_OF_REPS.search(span_text(sent))):
            return True  # "mCTSIB cond 4 (EC foam) 12 s"; not "Y balance reach ..., 3 set of 5 each direction"
        if _has_any(local, self.phrases.home_program_cues) and not DRILL_DOSE.search(local):
            return True  # "Mom's going to keep up the sensory diet before school"
        return self._under_other_code(doc, ent)

    def _under_other_code(self, doc: Doc, ent: Span) -> bool:
        """'Therapeutic activities was simulated grocery shopping', 'GT 97116 x 15 min -
        hallway w/ cones': a sentence about another timed code describes that code's work."""
        sent = sent_of(ent)
        if self._line_headed_by_other_code(doc, ent):
            return True  # "- Gait trng: 180 and 360 deg turns" under a line naming 97112 and 97116
        if self._after_other_codes_time(doc, ent):
            return True  # "Ther act 24 min. Turning in the kitchen ..., stepping over a strip of tape"
        listed = self._listed_under_other_code(doc, ent)
        if listed is not None:
            return listed
        codes = [e for e in ents_of(doc) if e.label_ == "CPT" and sent.start <= e.start < ent.start]
        if not codes or any(c.id_ == "97112" for c in ents_of(doc) if c.label_ == "CPT" and sent.start <= c.start < sent.end):
            return False
        first = codes[0]
        if len(sent) > LONG_SENTENCE_TOKENS and ent.start - codes[-1].end > RUN_ON_CUE_TOKENS:
            return False  # a run-on goes on past the other code's work: "... tub transfers ... her last therapist had her on a wobble board"
        lead = text_of(doc)[sent.start_char:first.start_char]
        # "97535 Self Care - 15 min: buttoning on button board": the code's number and name, then its work
        named = codes[1] if len(codes) > 1 and codes[1].id_ == first.id_ and re.fullmatch(r"\s*", text_of(doc)[first.end_char:codes[1].start_char]) else first
        after = text_of(doc)[named.end_char:ent.start_char]
        # "then twelve minutes of therapeutic exercise, seated marching ...": the time first
        lead = re.sub(r"^\s*(?:and\s+|then\s+)*\d+\s*(?:minutes?|mins?)\s+(?:of\s+)?", "", lead, flags=re.I)
        return len(lead.split()) <= 2 and bool(re.match(
            r"\s*(?:\(?\s*\d{5}\s*\)?\s*)?(?:x\s*\d+\s*(?:min|minutes)?\s*)?(?:for\s+)?(?:\d+\s*(?:min|minutes)\s*)?"
            r"(?:(?:in|on|at|through|down|around|outside)\s+(?:the\s+)?[a-z]+(?:\s+[a-z]+)?\s*)?"  # "Gait training in the hallway, big steps"
            r"(?:was|were|included|includes|consisted of|practicing|practising|doing|working on|:|-|,)", after, re.I)
            # "Gait training in the parallel bars": where the other code's work was done
            or re.fullmatch(r"\s*(?:\d{5}\s*)?(?:in|on|at|with|using|between|through)\s+(?:the\s+|a\s+)?", after, re.I) is not None
            # "Therapeutic activities twelve minutes practicing turning at the fridge": its time, then its work
            or re.fullmatch(r"\s*(?:x\s*)?\d+\s*(?:min|mins|minutes)\s*,?\s*", after, re.I) is not None)

    def _after_other_codes_time(self, doc: Doc, ent: Span) -> bool:
        """Whether an undosed drill's sentence follows, on the same line, a sentence that is
        only another timed code and its minutes ("Ther act 24 min.")."""
        text = text_of(doc)
        sent = sent_of(ent)
        if sent.start == 0 or DRILL_DOSE.search(span_text(sent)):
            return False
        prev = doc[sent.start - 1].sent
        if "\n" in text[prev.start_char:sent.start_char].rstrip():
            return False
        codes = [c for c in ents_of(doc) if c.label_ == "CPT" and prev.start <= c.start < prev.end]
        return (len(codes) == 1 and codes[0].id_ != NEURO_REED_CODE and self.timed.get(codes[0].id_, True)
                and CODE_TIME_ONLY.fullmatch(text[prev.start_char:codes[0].start_char] + "|" + text[codes[0].end_char:prev.end_char]) is not None)

    def _line_headed_by_other_code(self, doc: Doc, ent: Span) -> bool:
        """Whether `ent`'s line opens with another timed code's name and a colon or dash."""
        text = text_of(doc)
        start = text.rfind("\n", 0, ent.start_char) + 1
        lead = LIST_ITEM.match(text, start)
        first = lead.end() if lead else start
        first += len(text[first:ent.start_char]) - len(text[first:ent.start_char].lstrip())
        code = next((c for c in ents_of(doc) if c.label_ == "CPT" and c.start_char == first), None)
        return (code is not None and code.id_ != NEURO_REED_CODE and self.timed.get(code.id_, True)
                and re.match(r"\s*(?:\(?\d{5}\)?\s*)?[:\-\u2013]", text[code.end_char:ent.start_char]) is not None)

    def _listed_under_other_code(self, doc: Doc, span: Span) -> bool | None:
        """For a bulleted line under a line naming codes ("97110 Ther ex - 16 min\n - Lateral
        step-downs 6\" step 2x10"), whether those codes are timed codes other than 97112;
        None when the line is no list item or its heading names no code."""
        heading = self._list_heading(doc, span)
        if heading is None:
            return None
        here = [c for c in self._code_mentions(doc) if heading[0] <= c[0] < heading[1]]
        if not here:
            return None
        return all(code != NEURO_REED_CODE and self.timed.get(code, True) for _, _, code in here)

    @staticmethod
    def _list_heading(doc: Doc, ent: Span) -> tuple[int, int] | None:
        """The (start, end) of the line a bulleted line sits under, if `ent` is on one."""
        text = text_of(doc)
        start = text.rfind("\n", 0, ent.start_char) + 1
        if not LIST_ITEM.match(text, start):
            return None
        while start > 0:
            prev = text.rfind("\n", 0, start - 1) + 1
            if not LIST_ITEM.match(text, prev):
                return prev, start - 1
            start = prev
        return None

    def _scored_drill(self, doc: Doc, ent: Span) -> str | None:
        """The measure a drill's name stands for when a score follows it: 'Single leg
        stance on the floor was 8 seconds on the right' is a test result, not a drill."""
        measure = self.drill_measures.get(ent.text.lower())
        if measure is None:
            return None
        rest = text_of(doc)[ent.end_char:sent_of(ent).end_char]
        if DRILL_DOSE.search(rest) and not re.search(r"\d+\s*(?:seconds?|secs?|s)\b", rest[:60]):
            return None
        if re.match(r"[^.\d]{0,40}?\b(?:was|is|were|of|measured|timed at|held for|held|holds|lasted|managed|maintained|today|=|:)\s*(?:at\s+|about\s+|only\s+)?\d"
                    r"|\s*[,:]?\s*(?:\w+,?\s+){0,6}\d+(?:\.\d+)?\s*(?:seconds?|secs?|s)\b", rest, re.I) \
                and not re.search(r"\b(?:sets?|holds?|reps?|trials?|times|x)\b|\d\s*(?:by|x)\s*\d", rest[:50], re.I) \
                and not (re.search(r"\bfor\s+\d", rest[:50]) and not re.search(r"\b(?:today|was|were|at eval\w*|last\s+\w+)\b", rest[:90], re.I)):
            return measure
        return None

    def _describes_deficit(self, doc: Doc, ent: Span) -> bool:
        """'decreased left knee proprioception', 'slumped sitting posture', 'heel to shin
        is dysmetric', 'Impairments: dynamic balance': a deficit, not a drill."""
        before = doc[max(sent_of(ent).start, ent.start - 4): ent.start].text.lower()
        after = doc[ent.end: min(sent_of(ent).end, ent.end + 1)].text.lower()
        if after in ("deficit", "deficits", "impairment", "impairments", "dysfunction", "problems", "concerns", "issues"):
            return True
        modifier = ent._.modifier
        if modifier is not None and modifier.start >= ent.end and ent._.status in ("not_performed", "planned") \
                and not getattr(ent._, "negated", False):
            return False  # "... with poor coordination the step taps to the step we skipped today": a drill
        if modifier is not None and modifier.end <= ent.start and ent.start - modifier.end <= 1 and ent._.status == "planned":
            return False  # "next time I want to add kicking a ball to a target": a drill to add
        if DEFICIT_SENTENCE.match(span_text(sent_of(ent))) and not DRILL_DOSE.search(span_text(sent_of(ent))):
            return True  # "Deficits in trunk and lower extremity motor control and sitting and standing balance."
        following = text_of(doc)[ent.end_char: sent_of(ent).end_char].lower()
        near = following if len(sent_of(ent)) <= LONG_SENTENCE_TOKENS else \
            doc[ent.end:min(sent_of(ent).end, ent.end + RUN_ON_CUE_TOKENS)].text.lower()  # a run-on's later minutes are another's
        code = next((c for c in ents_of(doc) if c.label_ == "CPT" and ent.end <= c.start < sent_of(ent).end), None)
        if code is not None:  # "impairments are ... standing balance today neuro re-ed 35 minutes": the code's minutes
            near = near[:max(0, code.start_char - ent.end_char)]
        if DRILL_DOSE.search(near):
            return False  # "difficulty with tandem stance, 3 x 30 sec": the drill was done
        if _has_any(before, self.phrases.impairment_modifiers) and not (
                re.search(r"\b(?:forward|backward|lateral|sideways)\s*$", before) and DIRECTED_DRILL.search(ent.text)):
            return True  # but "add forward step taps onto the bottom step" is a drill's direction
        sent = sent_of(ent)
        if any(i.label_ == "IMPAIRMENT" and sent.start <= i.start and i.end <= ent.start for i in ents_of(doc)) \
                and not DRILL_DOSE.search(span_text(sent)) and not DID.search(span_text(sent)) \
                and not any(c.label_ == "CPT" and sent.start <= c.start < sent.end for c in ents_of(doc)):
            return True  # "Her coordination is poor, especially anything bilateral like skipping"
        # "his ankle proprioception and single leg balance are still down"
        if _terms(tuple(self.phrases.deficit_predicates),
                  r"\s*(?:(?:and|\+|&|/)\s+(?:[\w-]+\s+){0,4})?(?:(?:at|in|of|on)\s+(?:the\s+|her\s+|his\s+|both\s+)?(?:[\w-]+\s+){1,2})?(?:\w+\s+)?",
                  r"(?![a-z])").match(following):  # "joint position sense at the great toes is impaired"
            return True
        sent_text = span_text(sent_of(ent))
        offset = ent.start_char - sent_of(ent).start_char
        for lst in (PROBLEM_LIST_AFTER.search(sent_text), PROBLEM_LIST_BEFORE.search(sent_text)):
            if lst and lst.start("items") <= offset < lst.end("items"):
                return True  # "her main deficits are trunk motor control and standing balance"
        line_start = text_of(doc).rfind("\n", 0, ent.start_char) + 1
        sent_lead = text_of(doc)[sent_of(ent).start_char:ent.start_char]
        # "... hemiparesis more than L. Deficits: motor control R LE": a full stop the parser read as an initial's
        for lead in (text_of(doc)[line_start:ent.start_char], sent_lead, re.split(r"\.\s+", sent_lead)[-1]):
            heading = re.match(r"\s*(?:[-*]\s*)?([a-z ]{1,24}):", lead.lower())
            if heading and heading.group(1).strip() in self.phrases.deficit_headings:
                return True
        return False

    def _technique_spans(self, doc: Doc) -> list[Span]:
        """Mentions of distinct drills, after the rules that join or drop names."""
        raw = [self._as_drill(doc, e) if e.label_ == "MEASURE" else e for e in ents_of(doc)]
        raw = [e for e in raw if e.label_ == "TECHNIQUE" and not self._describes_deficit(doc, e)
               and self._scored_drill(doc, e) is None and not self._not_todays_drill(doc, e)]
        raw = [e for e in raw if not (COUNTED.search(text_of(doc)[max(0, e.start_char - 12):e.start_char]) and any(
            o.end_char <= e.start_char and sent_of(o).start == sent_of(e).start for o in raw))]
        raw = [e for e in raw if not _in_patients_words(text_of(doc), e.start_char, e.end_char)]
        # "19 yo F, D1 volleyball": a college division, not a PNF diagonal
        raw = [e for e in raw if not (e.text.lower() in ("d1", "d2") and SPORT_AFTER.match(text_of(doc), e.end_char))]
        # "4 bouts x 45 sec; bouts 1-2 seated, bouts 3-4 standing on foam pad": a variation of the drill's bouts
        raw = [e for e in raw if not BOUTS_OF.search(text_of(doc)[max(0, e.start_char - 20):e.start_char])]
        # "BAPS lvl 3 seated then standing for R ankle proprioception 2x20": the purpose of the drill before
        raw = [e for e in raw if not (
            PURPOSE_NAME.search(e.text) and PURPOSE_FOR.search(text_of(doc)[max(sent_of(e).start_char, e.start_char - 20):e.start_char])
            and any(o.label_ in ("TECHNIQUE", "EQUIPMENT") and sent_of(o).start == sent_of(e).start and o.end_char <= e.start_char
                    for o in ents_of(doc)))]
        spans: list[Span] = []
        heading: Span | None = None
        for e in raw:
            if heading is not None and sent_of(heading).start != sent_of(e).start:
                heading = None
            gap = text_of(doc)[spans[-1].end_char:e.start_char] if spans else None
            if spans and re.fullmatch(r"[ \t-]*(?:(?:style|type|based)[ \t]+)?", gap or "x", re.I):
                prev = spans.pop()
                # adjacent names of one drill ("PNF rhythmic stabilization") are one
                # mention; of two categories ("virtual reality optokinetic training")
                # the first names the drill
                merged = Span(doc, prev.start, e.end, label="TECHNIQUE", span_id=prev.id_)
                merged._.status = prev._.status if prev._.status != "performed" else e._.status
                spans.append(merged)
                if re.match(r"\s*(?:training|activities|drills|exercises|work|program)?\s*:", text_of(doc)[merged.end_char:merged.end_char + 14], re.I) \
                        and any(o.start > merged.end and sent_of(o).start == sent_of(merged).start for o in raw):
                    heading = spans.pop()  # "Dual-task standing balance: semi-tandem while naming animals"
                continue
            if re.match(r"\s*(?:training|activities|drills|exercises|work|program)?\s*(?:(?:r|l|rt|lt|right|left|b|bil)\s+)?(?:hand|hands|ue|le|arm|leg|foot|feet)?\s*:",
                        text_of(doc)[e.end_char:e.end_char + 24], re.I) and any(
                o.start > e.end and sent_of(o).start == sent_of(e).start for o in raw
            ):
                heading = e  # "Proprioceptive drills: single leg balance on the BOSU, ..."
                continue
            if heading is not None and e.id_ != heading.id_:
                relabelled = Span(doc, e.start, e.end, label="TECHNIQUE", span_id=heading.id_)
                relabelled._.status = e._.status
                e = relabelled
            head = text_of(doc)[sent_of(e).start_char:e.start_char]
            opener = HEADING_WORD.fullmatch(head)
            category = self.intent.headings.get(opener.group(1).lower()) if opener else None
            if category and category != e.id_:  # "Coordination, alternating toe taps to cones"
                relabelled = Span(doc, e.start, e.end, label="TECHNIQUE", span_id=category)
                relabelled._.status = e._.status
                e = relabelled
            if category:
                doc.user_data.setdefault("scribe_headed", set()).add((e.start_char, e.end_char))
            # "we started in the parallel bars with lateral weight shifts": a place holds no drill inside it
            anchors = [a for a in [*spans[-1:], *[x for x in ents_of(doc) if x.label_ == "EQUIPMENT" and x.text.lower() in self.implies
                                                  and not IN_A_PLACE.search(text_of(doc)[max(0, x.start_char - 12):x.start_char])]]
                       if sent_of(a).start == sent_of(e).start and a.end_char <= e.start_char]
            anchor = max(anchors, key=lambda a: a.end_char) if anchors else None
            head = text_of(doc)[sent_of(e).start_char:e.start_char]
            nested = re.search(r"\b(?:in|during|with|w/|while|from|for|on)\s+(?:the\s+|a\s+|an\s+)?(?:standing\s+|seated\s+|sitting\s+)?$", head, re.I) \
                or (spans and re.search(r"\b(?:with|w/)\s+(?:an?\s+|the\s+)?[a-z]+\s+[a-z]+\s+$", text_of(doc)[spans[-1].end_char:e.start_char], re.I)
                    and not re.search(r"[,;]|\d|\b(?:then|and)\b", text_of(doc)[spans[-1].end_char:e.start_char], re.I)) \
                or re.search(r"\b(?:with|w/)\s+(?:[a-z']+\s+){0,2}(?:giving|applying|providing|adding|doing)\s+(?:the\s+|some\s+)?$", head, re.I) \
                or (spans and spans[-1].id_ == e.id_ and re.search(r"\bto\s+(?:the\s+)?$", head, re.I)) \
                or (spans and spans[-1].id_ in DEVICE_CATEGORIES and e.id_ not in DEVICE_CATEGORIES
                    and re.search(r"\b(?:with|w/|paired with|timed with)\s+(?:active(?:ly)?[\s-]+)?(?:assisted\s+)?$", head, re.I))
                # "NMES ... ten seconds on ten off with active assisted grasp and release": the device's work
            # FES given during another drill ("Lokomat ... with FES to both tibialis anterior")
            # is a second modality, not the place of the first
            where = e.id_ != "functional_electrical_stimulation"
            if anchor is not None and nested and where and not re.search(r"[;]|\bthen\b(?!\s+(?:in\s+)?(?:standing|sitting|kneeling|supine|prone))", text_of(doc)[anchor.end_char:e.start_char]):
                if e.id_ == "perturbation_training" and spans and spans[-1].id_ != e.id_ and sent_of(spans[-1]).start == sent_of(e).start \
                        and (anchor is spans[-1] or anchor.label_ == "EQUIPMENT"):
                    spans.pop()  # "quadruped on physioball w/ perturbations": the perturbations are the drill
                    spans.append(e)
                elif e.id_ in DEVICE_CATEGORIES and spans and anchor is spans[-1] and anchor.id_ not in DEVICE_CATEGORIES \
                        and re.search(r"\bon\s+(?:the\s+|a\s+|an\s+)?$", head, re.I):
                    # "weight shifting on the Biodex balance system": a drill done on a
                    # device is the device's work (LABELLING.md, rule 2)
                    relabelled = Span(doc, anchor.start, anchor.end, label="TECHNIQUE", span_id=e.id_)
                    relabelled._.status = anchor._.status
                    spans[-1] = relabelled
                if WHERE_STOOD.search(e.text):  # "VR headset reaching game in standing at the parallel bars"
                    _bars_go_to(doc, anchor)
                continue  # "perturbations in tandem stance": the stance is where, not what
            spans.append(e)
        for e in ents_of(doc):
            category = self.implies.get(e.text.lower()) if e.label_ == "EQUIPMENT" else None
            if category is None:
                continue  # only equipment that names a drill on its own can add one
            e_sent = sent_of(e).start
            before = [t for t in spans if sent_of(t).start == e_sent and t.end <= e.start]
            # equipment that names a drill on its own ("... and the BAPS board, 2 sets of 20")
            beside = [t for t in spans if t.id_ == category and (
                t.start_char <= e.start_char < t.end_char
                or (t.start_char >= e.end_char and re.fullmatch(r"[\s-]{0,3}", text_of(doc)[e.end_char:t.start_char]))
            )]
            # "No loss of balance on the BOSU": the BOSU of a drill named before, no new drill
            again = any(
                o.label_ == "EQUIPMENT" and o.id_ == e.id_ and o.end_char <= e.start_char
                and any(sent_of(t).start == sent_of(o).start for t in spans)
                for o in ents_of(doc)
            ) and not DRILL_DOSE.search(text_of(doc)[e.end_char:sent_of(e).end_char]) and not (
                # but "Plan: add foam stance w/ eyes closed next wk" is another drill, for later
                e._.status == "planned" and any(sent_of(c).start == e_sent for c in spans_of(doc, "plan_cues")))
            strength_next = any(o.start_char >= e.end_char and o.start_char - e.end_char <= 2
                                for o in spans_of(doc, "strength"))  # "BOSU squats"
            strength_next = strength_next or any(  # "mini squats on foam for quad strength"
                o.end_char <= e.start_char and re.fullmatch(r"\s*(?:on|standing on)\s+(?:the\s+|a\s+)?", text_of(doc)[o.end_char:e.start_char], re.I)
                for o in spans_of(doc, "strength"))
            tested = any(  # "Ten meter walk in the bars 0.21 m/s": where a test was done
                o.label_ == "MEASURE" and self._as_drill(doc, o).label_ == "MEASURE" and o.end_char <= e.start_char and re.fullmatch(
                    r"\s*(?:test\s+)?(?:was\s+)?(?:(?:in|on|with|using|at)\s+(?:the\s+|a\s+)?)?", text_of(doc)[o.end_char:e.start_char], re.I)
                for o in ents_of(doc)) and not DRILL_DOSE.search(text_of(doc)[e.end_char:sent_of(e).end_char])
            varied = BOUTS_ON.search(text_of(doc)[max(0, e.start_char - 45):e.start_char])  # "bouts 3-4 standing on foam pad"
            if category and (strength_next or tested or varied or self._describes_deficit(doc, e) or self._not_todays_drill(doc, e)):
                category = None  # "BOSU squats" is strength work; "A: ... on compliant surface" a deficit
            # "stance on foam EC, feet together, 4 x 30s": the surface of the drill named next
            surface = any(t.start_char >= e.end_char and sent_of(t).start == sent_of(e).start
                          and not re.search(r"[\d;]|\bthen\b", text_of(doc)[e.end_char:t.start_char]) for t in spans)
            if category in DEVICE_CATEGORIES and surface and not strength_next:
                # "We used the EMG biofeedback on the wrist extensors, grasp and release of blocks":
                # a drill done on a device is the device's work (LABELLING.md, rule 2)
                i, t = next((i, t) for i, t in enumerate(spans) if t.start_char >= e.end_char and sent_of(t).start == sent_of(e).start)
                if t.id_ not in DEVICE_CATEGORIES and any(d.id_ == category and sent_of(d).start == sent_of(e).start and d.end_char <= e.start_char
                                                          and (d._.status or "performed") == (t._.status or "performed") for d in spans):
                    spans.pop(i)  # "FES to R wrist extensors ... with the stim unit, triggered grasp and release of cones": one FES entry
                elif t.id_ not in DEVICE_CATEGORIES:
                    relabelled = Span(doc, t.start, t.end, label="TECHNIQUE", span_id=category)
                    relabelled._.status = t._.status
                    spans[i] = relabelled
                continue
            # "5 x 10 second holds at the parallel bars": where the drill was done
            located = re.search(r"\b(?:at|(?<!bring )(?<!brought )(?<!bringing )in|between|inside|using|holding|from|(?:support|hold|hands?|hand support)\s+on|hovering\s+over|hands?\s+over|,\s*(?:standing|sitting|seated|kneeling)\s+on)\s+(?:the\s+|a\s+)?$",
                                text_of(doc)[sent_of(e).start_char:e.start_char], re.I)  # "... 2x15 with UE support on the parallel bars"
            if category in DEVICE_CATEGORIES and before and before[-1].id_ == category \
                    and (before[-1]._.status or "performed") == (e._.status or "performed") \
                    and not re.search(r"[.;]|\bthen\b", text_of(doc)[before[-1].end_char:e.start_char]):
                category = None  # "NMES to the wrist extensors for 12 minutes, stimulation unit set ten seconds on"
            if category and not beside and not again and not surface and not located and (
                not before
                # a dose between ("... and the BAPS board, 2 sets of 20"), not a weight ("w/ 2 kg med ball on foam")
                or re.search(r"\d+(?![\d.])(?!\s*(?:kg|lbs?|pounds?|kilos?|inch(?:es)?|in\b|cm|feet|ft|foot)\b)", text_of(doc)[before[-1].end_char:e.start_char])
                or (before[-1]._.status or "performed") != (e._.status or "performed")
            ):
                span = Span(doc, e.start, e.end, label="TECHNIQUE", span_id=category)
                span._.status = e._.status
                spans.append(span)
        # a generic category word ("balance training") beside a specific drill of the
        # same category in its sentence is the same work; elsewhere in the note too, when
        # nothing (no dose, no equipment) is said of it: "We focused on standing balance."
        spans = self._appositions(doc, sorted(spans, key=lambda s: s.start_char))
        spans = self._joined_pairs(doc, spans)
        # "NMES to the wrist extensors, 12 minutes, with functional grasp and release during the on
        # cycle": the task done with the device is the device's entry (LABELLING.md rule 2)
        spans = [s for s in spans if not (
            s.id_ not in DEVICE_CATEGORIES and WITH_DEVICE.search(text_of(doc)[sent_of(s).start_char:s.start_char])
            and any(d.id_ in DEVICE_CATEGORIES and sent_of(d).start == sent_of(s).start and d.end_char <= s.start_char
                    and (d._.status or "performed") == (s._.status or "performed") for d in spans))]
        spans = self._where_stood(doc, spans)
        # "Staggered stance, ant/post pelvic perturbations by PT, 2 x 10": the stance is where the perturbations were given
        spans = [s for i, s in enumerate(spans) if not (
            i + 1 < len(spans) and s.id_ == "balance_training" and re.search(r"\bstance$", s.text, re.I)
            and spans[i + 1].id_ == "perturbation_training" and sent_of(spans[i + 1]).start == sent_of(s).start
            and re.fullmatch(r",\s*(?:[\w/-]+\s+){0,3}", text_of(doc)[s.end_char:spans[i + 1].start_char]))]
        keep = []
        for s in spans:
            specific = [o for o in spans if o is not s and o.id_ == s.id_ and o.text.lower() not in self.generic]
            # "doing gaze stabilization and smooth pursuit exercises": two exercises listed, not a heading
            listed = any(re.fullmatch(r"\s+(?:and|&)\s+", text_of(doc)[s.end_char:o.start_char]) for o in specific
                         if o.start_char >= s.end_char) and s._.status in ("historical", "planned")
            if s.text.lower() in self.generic and not listed and (
                any(sent_of(o).start == sent_of(s).start and o._.status == s._.status for o in specific)
                or (not self._said_of(doc, s, spans)
                    and any((o._.status or "performed") == (s._.status or "performed") for o in specific))
            ):
                continue
            keep.append(s)
        return sorted(keep, key=lambda s: s.start_char)

    @staticmethod
    def _where_stood(doc: Doc, spans: list[Span]) -> list[Span]:
        """'Standing in the parallel bars' said beside a drill is where the drill was done, not
        a second drill; the bars go to that drill (`_bars_go_to`)."""
        text = text_of(doc)
        keep: list[Span] = []
        for i, s in enumerate(spans):
            nxt = spans[i + 1] if i + 1 < len(spans) and sent_of(spans[i + 1]).start == sent_of(s).start else None
            prev = spans[i - 1] if i > 0 and sent_of(spans[i - 1]).start == sent_of(s).start else None
            target = None
            if WHERE_STOOD.fullmatch(s.text) and nxt is not None and (
                    # "Then standing in the parallel bars, I gave unexpected nudges at the shoulders, 2 sets of 10"
                    (nxt.id_ != s.id_ and re.fullmatch(r",?\s*(?:(?:i|we)\s+(?:gave|did|added|applied|provided)\s+)?(?:[a-z]+\s+){0,2}",
                                                       text[s.end_char:nxt.start_char], re.I))
                    # "she did standing in the parallel bars alternating toe taps to a 4 inch step"
                    or re.fullmatch(r"\s+(?:doing\s+|with\s+|and\s+)?(?:[a-z]+\s+)?", text[s.end_char:nxt.start_char], re.I)):
                target = nxt
            elif WHERE_STOOD.fullmatch(s.text) and prev is not None and (
                    # "nudges at the pelvis while he stood at the parallel bars, two sets of ten"
                    re.search(r"\b(?:while|as)\s+(?:he|she|they|the pt|pt)?\s*$", text[max(0, s.start_char - 16):s.start_char], re.I)
                    # "the Wii Fit balance board, the ski slalom game, twelve minutes, standing in the parallel bars, min assist"
                    or (DRILL_DOSE.search(text[prev.end_char:s.start_char]) and re.search(r",\s*$", text[prev.end_char:s.start_char])
                        and not DRILL_DOSE.search(text[s.end_char:nxt.start_char if nxt is not None else sent_of(s).end_char]))):
                target = prev
            if target is None:
                keep.append(s)
            else:
                _bars_go_to(doc, target)
        return keep

    def _appositions(self, doc: Doc, spans: list[Span]) -> list[Span]:
        """A second name for the same drill is one drill: 'Prone extension over the therapy
        ball, superman, 5 holds of 15 seconds' (the later name, given before the dose,
        stays); 'Hopscotch (SL hops + 2-foot landings) 5 rounds' (the name in brackets
        explains the first); 'Sensory integration, standing on foam with eyes closed'
        (a category word heads the drill that follows and gives it its category)."""
        text = text_of(doc)
        out: list[Span] = []
        skip: set[int] = set()
        for i, s in enumerate(spans):
            if i in skip:
                continue
            nxt = spans[i + 1] if i + 1 < len(spans) else None
            if nxt is None or sent_of(nxt).start != sent_of(s).start or (nxt._.status or "performed") != (s._.status or "performed"):
                out.append(s)
                continue
            gap = text[s.end_char:nxt.start_char]
            if re.fullmatch(r"\s*(?:[a-z]+(?:/[a-z]+)+\s*)?\(\s*", gap, re.I) or (nxt.id_ == s.id_ and re.fullmatch(r"\s*(?:w/|with)\s+[a-z0-9 '-]{1,30}\(\s*", gap, re.I)):
                # "Tandem walk w/ serial 7s (dual task), 4 passes": the bracket names the same drill
                out.append(s)
                skip.add(i + 1)
                continue
            if s.text.lower() in self.generic and HEADING_GAP.fullmatch(gap) and nxt.text.lower() not in self.generic:
                heading = Span(doc, nxt.start, nxt.end, label="TECHNIQUE", span_id=s.id_)
                heading._.status = nxt._.status
                out.append(heading)
                skip.add(i + 1)
                continue
            if re.search(r"\b(?:obstacle course|course|circuit)$", s.text, re.I) \
                    and (re.match(r"\s*(?:(?:in|at|on|around)\s+(?:the\s+)?[a-z]+\s*)?[,:-]", gap, re.I)
                         or re.fullmatch(r"\s*(?:(?:in|at|on|around)\s+(?:the\s+)?[a-z]+\s*)?", gap, re.I) and re.match(r"[a-z]+ing\b", nxt.text, re.I)) \
                    and not re.search(r"[;\d]|\bthen\b", gap, re.I):
                # "the obstacle course, crawling through the tunnel and stepping over the
                # noodles, four rounds": the drills named after it make up the course
                out.append(s)
                j = i + 1
                while j < len(spans) and sent_of(spans[j]).start == sent_of(s).start \
                        and not re.search(r"[;\d]|\bthen\b", text[s.end_char:spans[j].start_char], re.I):
                    skip.add(j)
                    j += 1
                continue
            if nxt.id_ == s.id_ == "postural_retraining" and SURFACE_GAP.fullmatch(gap) \
                    and DRILL_DOSE.search(text[nxt.end_char:min(sent_of(nxt).end_char, nxt.end_char + 30)]):
                continue  # "prone extension on the scooter board superman holds 4 times 10 seconds": its other name
            before_comma = gap.split(",", 1)[0] if "," in gap else gap
            if nxt.id_ == s.id_ and gap.count(",") <= 2 and len(gap) <= 45 and re.fullmatch(r"[^;]*,(?:\s*[a-z/'-]+){0,3}\s*[\"\u201c]?\s*", gap, re.I) \
                    and not any(o.label_ in ("MEASURE", "TECHNIQUE") and s.end_char <= o.start_char and o.end_char <= nxt.start_char for o in ents_of(doc)) \
                    and not (re.search(r"[a-z]", before_comma, re.I) and self._in_a_list(doc, s, nxt, spans, out)) \
                    and not re.search(r"\b(?:and|then|or|also)\b", before_comma, re.I) and not DRILL_DOSE.search(gap) \
                    and not re.match(r"\s*(?:and|then|next|also|after that)\b", gap.rsplit(",", 1)[-1], re.I):  # ", and then tandem stance": a new drill
                if WHERE_STOOD.search(s.text):  # "Static standing in parallel bars, feet together, 3 x 30 sec": the bars go on
                    _bars_go_to(doc, nxt)
                continue
            out.append(s)
        return out

    def _in_a_list(self, doc: Doc, s: Span, nxt: Span, spans: list[Span], kept: list[Span]) -> bool:
        """Whether s and nxt are items of a list of drills ('tandem stance on foam, SLS at
        counter, lateral weight shifts'), not one drill named twice: another drill is named
        after nxt before any dose, or a kept drill before s is separated from it by a comma
        and no dose."""
        text = text_of(doc)
        rest = text[nxt.end_char:sent_of(nxt).end_char]
        dose = DRILL_DOSE.search(rest)
        limit = nxt.end_char + (dose.start() if dose else len(rest))
        return any(o is not nxt and nxt.end_char <= o.start_char < limit for o in spans) or any(
            o.end_char <= s.start_char and sent_of(o).start == sent_of(s).start and "," in text[o.end_char:s.start_char]
            and not DRILL_DOSE.search(text[o.end_char:s.start_char]) for o in kept)

    def _joined_pairs(self, doc: Doc, spans: list[Span]) -> list[Span]:
        """Two drills of one category joined by 'and' before one dose are one drill:
        'finger to nose and finger to target, 3 sets of 10'; so are two words for one
        perturbation drill, and the reaching done in a position named just before it."""
        text = text_of(doc)
        out: list[Span] = []
        for s in spans:
            prev = out[-1] if out else None
            between = text[prev.end_char:s.start_char] if prev is not None else ""
            same = prev is not None and sent_of(prev).start == sent_of(s).start \
                and (prev._.status or "performed") == (s._.status or "performed")
            if same and prev.id_ == s.id_ and re.fullmatch(r"\s*,?\s*(?:progressing|progressed|advancing|advanced)\s+to\s+(?:full\s+)?", between, re.I):
                continue  # "semi tandem progressing to full tandem, three holds": one drill, made harder
            if same and COURSE.search(prev.text) and not re.search(r"\d|;|\bthen\b", WEIGHT.sub("", between), re.I):
                course = Span(doc, prev.start, s.end, label="TECHNIQUE", span_id=prev.id_)
                course._.status = prev._.status
                out[-1] = course  # "an obstacle course crawl through the tunnel ... and walk the balance beam 5 rounds": its stations
                continue
            if same and prev.id_ == "balance_training" and s.id_ == "perturbation_training" and STANCE.search(prev.text) \
                    and re.search(r"\bwhile\s+(?:i|we|the\s+therapist|pt)\b", between, re.I) and not re.search(r"\d|;|\bthen\b", between):
                out[-1] = s  # "single leg stance on the foam pad while I gave random pushes at the hip, 3 bouts": one perturbation drill
                continue
            if same and prev.id_ == s.id_ and POSITION_ONLY.fullmatch(prev.text) and len(between) <= 40 \
                    and not re.search(r"\d|;|\bthen\b|\band\b", between, re.I):
                out[-1] = s  # "Quadruped on the floor with alternating bird dogs, 3 x 8": the position the drill was done in
                continue
            if same and prev.id_ == s.id_ and re.fullmatch(r"\s+(?:(?:forward|backward|backwards|sideways|laterally|fwd|bwd)\s+)?", between, re.I):
                continue  # "Walked the balance beam forward heel to toe, 5 passes": how the drill was done
            if same and prev.id_ == "perturbation_training" and s.id_ == "balance_training" and STANCE.search(s.text) \
                    and len(between) <= 40 and not re.search(r"\d|;|\bthen\b|\band\b", between):
                continue  # "Perturbations on BOSU, R SL stance, therapist taps at pelvis": one perturbation entry (rule 4)
            if same and prev.id_ == s.id_ == "perturbation_training" and len(between) <= 60 and not re.search(r";|\bthen\b", between) \
                    and not DRILL_DOSE.search(text[s.end_char:sent_of(s).end_char]):
                continue  # "perturbations in sitting, two rounds of one minute, pushes in all directions"
            if same and len(between) <= 60 and not re.search(r"\d|;|\bthen\b", between) and (
                    (prev.id_ == s.id_ == "perturbation_training")  # "perturbations in standing, I gave ... pushes at the pelvis"
                    or (re.match(r"reach", s.text, re.I) and not re.search(r"\band\b", between))  # "tall kneeling at the bench, reaching up for stickers"
                    # "tall kneeling on the mat catching a ball for upright trunk control, three bouts"
                    or (re.match(r"(?:catch|throw|toss|kick)", s.text, re.I) and not re.search(r"\band\b|,", between))):
                continue
            if prev is not None and prev.id_ == s.id_ and sent_of(prev).start == sent_of(s).start \
                    and (prev._.status or "performed") == (s._.status or "performed") \
                    and re.fullmatch(r"\s*(?:\s(?:and|&)\s|\+)\s*", text[prev.end_char:s.start_char]) \
                    and DRILL_DOSE.search(text[s.end_char:sent_of(s).end_char]):
                joined = Span(doc, prev.start, s.end, label="TECHNIQUE", span_id=s.id_)
                joined._.status = prev._.status
                out[-1] = joined
                continue
            out.append(s)
        return out

    def _intended_category(self, doc: Doc, span: Span, spans: list[Span]) -> str:
        """A general drill's category as its stated purpose names it (rules/intent.json)."""
        later = [o.start_char for o in spans if o.start_char > span.start_char and sent_of(o).start == sent_of(span).start]
        earlier = [o.end_char for o in spans if o.end_char <= span.start_char and sent_of(o).start == sent_of(span).start]
        end = min([sent_of(span).end_char, *later])
        clause = SIDE_WORDS.sub("", text_of(doc)[span.start_char:end].lower())  # "for R knee proprio"
        clause = re.split(r"\bthen\b", clause)[0]  # "four passes and then for coordination, toe taps": the next drill's
        lead = text_of(doc)[max([sent_of(span).start_char, *earlier]):span.start_char]
        # back to the previous dose or list item only, and in a run-on to the clause that opens the drill
        lead = re.split(r"[;:]|\d|\b(?:we|i)\s+(?:started|began|did|worked)\b", lead, flags=re.I)[-1]
        drill = SIDE_WORDS.sub("", (lead + re.split(r"\bthen\b", text_of(doc)[span.start_char:end], flags=re.I)[0]).lower())
        # "for the ankle position sense", "for her hip proprioception": the purpose without its article
        clause, drill = (re.sub(r"\b(for|on|work on)\s+(?:the|his|her|their)\s+", r"\1 ", x) for x in (clause, drill))
        # "marching in place 2 x 20, verbal cues for upright posture": what a cue asked for is no purpose
        clause, drill = (CUE_REQUEST.sub(" ", x) for x in (clause, drill))
        if (span.start_char, span.end_char) in doc.user_data.get("scribe_headed", ()):
            return span.id_  # "Dynamic balance, walking with head turns": the heading decides (LABELLING.md rule 1)
        # "For timing and coordination, marching in place to the metronome": the purpose said first
        purpose_first = LEADING_PURPOSE.match(text_of(doc)[sent_of(span).start_char:span.start_char])
        if purpose_first:
            clause = purpose_first.group(1).lower() + " " + clause
        generic, category = span_text(span).lower() in self.generic, span.id_
        for rule in self.intent.rules:
            if category not in rule.from_ or (rule.scope == "drill" and generic):
                continue  # "Balance training in tandem stance ... while catching a ball": the heading decides
            words = drill if rule.scope == "drill" else clause
            if _has_any(words, rule.cues) and not _has_any(words, rule.unless):
                return rule.to
        return category

    def _said_of(self, doc: Doc, span: Span, spans: list[Span]) -> bool:
        """Whether a dose or equipment follows a drill's name before the next drill."""
        later = [o.start_char for o in spans if o.start_char > span.start_char and sent_of(o).start == sent_of(span).start]
        stop = min([sent_of(span).end_char, *later])
        rest = text_of(doc)[span.end_char:stop]
        if DRILL_DOSE.search(rest) or VAGUE_DOSE.search(rest):
            return True  # "standing balance at the counter with feet together, ..., some reps"
        return any(e.label_ == "EQUIPMENT" and span.end_char <= e.start_char < stop for e in ents_of(doc))

    def _attach(self, spans: list[Span], start: int, end: int, doc: Doc, previous_sentence: bool = False) -> Span | None:
        """The technique a parameter or piece of equipment at start..end belongs to.

        The drill named right after it ('3 sets of 10 of weight shifts'), else the last
        one before it in the sentence, else the first after it; a sentence that names
        no drill ('Three sets of thirty seconds.') continues the previous sentence.
        """
        if not spans:
            return None
        inside = [s for s in spans if s.start_char <= start and end <= s.end_char]
        if inside:
            return inside[0]
        follows = re.match(r"\s*(?:of|on|with|doing|for|in)\s+(?:the\s+|a\s+)?", text_of(doc)[end:end + 20], re.I)
        same_sent = [s for s in spans if _holds(sent_of(s), start)]
        if follows:
            nxt = [s for s in same_sent if s.start_char >= end and s.start_char - end <= follows.end() + 1]
            if nxt:
                return nxt[0]
        before = [s for s in same_sent if s.end_char <= start]
        other = [o for o in spans_of(doc, "strength") if o.end_char <= start and sent_of(o).start_char <= start < sent_of(o).end_char]
        if before and (re.search(r"\b(?:during|while)\b", text_of(doc)[before[-1].end_char:start], re.I) or (
                before[-1].id_ in DEVICE_CATEGORIES and re.search(r"\b(?:for|with)\b", text_of(doc)[before[-1].end_char:start], re.I)
                and not re.search(r"\bthen\b|;", text_of(doc)[before[-1].end_char:start], re.I))):  # "the Lokomat and then mini squats ... 2 x 10"
            # "NMES to the tibialis anterior during sit to stands and step-ups, ten minutes";
            # "EMG biofeedback on the right quad for quad sets, three sets of ten": the device's dose
            other = []
        if other and (not before or other[-1].start_char > before[-1].end_char) and not re.search(
            r"[.;]|\bthen\b", text_of(doc)[other[-1].end_char:start]
        ):
            return None  # "Then mini squats, three sets of ten": the dose of strength work
        if before:
            return before[-1]
        after = [s for s in same_sent if s.start_char >= end]
        between = text_of(doc)[end:after[0].start_char] if after else ""
        if after and (not re.search(r"\d", between)
                      # "carried the weighted ball across the gym, six trips, for proprioceptive input"
                      or (PURPOSE_AFTER_DOSE.search(between) and not re.search(r"\b(?:then|and)\b", between, re.I))):
            return after[0]
        if not previous_sentence:
            return None
        sent = doc.char_span(start, end, alignment_mode="expand")
        if sent is None:
            return None
        sent = sent_of(sent)
        if any(e.label_ in ("MEASURE", "CPT", "TECHNIQUE") for e in sent.ents):
            return None
        if len(re.findall(r"[A-Za-z]+", text_of(doc)[sent.start_char:start])) > 2:
            return None  # "Then mini squats, three sets of ten": a dose of something unnamed
        prev = [s for s in spans if sent_of(s).end_char <= sent.start_char]
        if prev and sent_of(prev[-1]).end == sent.start:
            return prev[-1]
        return None

    def _sharing(self, doc: Doc, e: Span, spans: list[Span]) -> list[Span]:
        """The drills a setting said once for all of them applies to, or [] when it is
        said of one drill: "Today's neuro re-ed, all in the parallel bars. Static standing
        ... Then lateral weight shifting ..." and "neuro re-ed twenty five minutes in the
        parallel bars, static standing ..., weight shifting ..." (each performed drill after
        it: in its sentence, else in the run of drill sentences that follows); "static
        standing and lateral wt shifts, both in parallel bars" (each drill before it)."""
        sent = sent_of(e)
        head = text_of(doc)[sent.start_char:e.start_char]
        performed = lambda group: [s for s in group if (s._.status or "performed") == "performed"]  # noqa: E731
        here_before = [s for s in spans if sent.start_char <= s.start_char and s.end_char <= e.start_char]
        if SHARED_BEFORE.search(head) and len(here_before) > 1:
            return performed(here_before)
        code_setting = any(sent.start_char <= c_start and CODE_SETTING.fullmatch(text_of(doc)[c_end:e.start_char])
                           for c_start, c_end, _ in self._code_mentions(doc))
        if not (code_setting or SHARED_SETTING.search(head)) or here_before:
            return []
        out = performed([s for s in spans if e.end_char <= s.start_char < sent.end_char])
        if out and not SHARED_SETTING.search(head):
            return out
        for later in sentences(doc):
            if later.start_char < sent.end_char:
                continue
            inside = [s for s in spans if later.start_char <= s.start_char < later.end_char]
            if not inside:
                break
            out += performed(inside)
        return out

    def _share_doses(self, doc: Doc, spans: list[Span], params, found: dict[int, dict]) -> None:
        """A dose said once for several drills: "Romberg on foam and single leg stance, 3 x 30
        seconds each" (each drill before it in its sentence); "two rounds of the circuit:
        single leg stance catching, lateral hops, Y-balance reaches" (each drill after it)."""
        text = text_of(doc)
        undosed = lambda s: all(found[id(s)][k] is None for k in ("sets", "reps", "duration"))  # noqa: E731
        status = lambda s: s._.status or "performed"  # noqa: E731
        doses: dict[tuple[int, int], list] = {}
        for p in params:  # "3 x 30 seconds" is two parameters of one dose
            doses.setdefault((p.start, p.end), []).append(p)
        for (start, end), dose in doses.items():
            at = doc.char_span(start, end, alignment_mode="expand")
            if at is None:
                continue
            sent = sent_of(at)
            if EACH_AFTER_DOSE.match(text, end):
                owner = next((s for s in reversed(spans) if sent.start_char <= s.start_char and s.end_char <= start), None)
                if owner is None or any(found[id(owner)].get(p.kind) != p.value for p in dose):
                    continue
                sharing = [s for s in spans if sent.start_char <= s.start_char and s.end_char <= owner.start_char
                           and undosed(s) and status(s) == status(owner)]
            elif CIRCUIT_AFTER_DOSE.match(text, end):
                sharing = [s for s in spans if end <= s.start_char < sent.end_char and undosed(s)]
            else:
                continue
            for s in sharing:
                for p in dose:
                    found[id(s)][p.kind] = p.value
                    found[id(s)]["ev"][p.kind] = (p.start, p.end)

    def _unnamed_drills(self, doc: Doc, spans: list[Span], params) -> list[Span]:
        """Drills described in the therapist's own words, with a dose that no named drill
        owns: 'Then he stood on a couch cushion catching a beach ball, 3 rounds of 10
        catches' (rules/unnamed.json gives the category from the clause's words)."""
        text = text_of(doc)
        out: list[Span] = []
        for p in params:
            known = sorted(spans + out, key=lambda s: s.start_char)
            if self._attach(known, p.start, p.end, doc, previous_sentence=True) is not None:
                continue
            at = doc.char_span(p.start, p.end, alignment_mode="expand")
            if at is None or RESPONSE_COUNT.search(text[max(0, p.start - 20):p.start]):
                continue  # "pt took 2-3 steps to recover": how the patient responded, no dose
            sent = sent_of(at)
            # a run-on's words far from the dose speak of other things ("... cones in the gym 5 laps verbal cues to look ahead DGI 20")
            near = run_on_window(at, RUN_ON_CUE_TOKENS, 2)
            # "the card I held up": held in the hand, not a held drill
            if GOAL_LINE.match(span_text(sent)) or _has_any(HELD_IN_HAND.sub(" ", span_text(near).lower()), self.unnamed.not_a_drill) \
                    or _has_any(span_text(near).lower(), self.phrases.test_names) \
                    or _has_any(span_text(near).lower(), [d for d in self.phrases.deficit_predicates if " " in d or d in ("poor", "impaired")]):
                continue  # "His reactive balance is really poor, ... he went retropulsive twice"
            if any(near.start <= e.start < near.end and (e.label_ == "MEASURE" or (e.label_ == "CPT" and e.id_ != "97112"))
                   for e in ents_of(doc)):
                continue  # a test's result, or another code's work
            line_start = text.rfind("\n", 0, p.start) + 1
            line_codes = [e for e in ents_of(doc) if e.label_ == "CPT" and line_start <= e.start_char < p.start]
            if line_codes and line_codes[-1].id_ != "97112" and re.fullmatch(r"\s*(?:[-*]\s*)?", text[line_start:line_codes[0].start_char]) \
                    and len(line_codes) == 1:
                continue  # "TherAct 10 min: sit <> stand x 6; stand pivot w/c <> bed x 2": the line's code is another
            if any(sent.start_char <= s.start_char < sent.end_char for s in spans_of(doc, "strength")) \
                    or self._listed_under_other_code(doc, at):
                continue
            if not re.search(r"[.!?;:\n]\s*$", text[:sent.start_char] or ".") and any(
                    s.end_char <= sent.start_char and sent_of(s).end == sent.start for s in known):
                continue  # a run-on "... clock yourself, she's standing at the counter and we're stepping out ..."
            before = [s.end_char for s in known if sent.start_char <= s.end_char <= p.start]
            lead = text[max([sent.start_char, *before]):p.start]
            pieces = [x for x in re.split(r"[,;:(]", lead) if len(re.findall(r"[A-Za-z]{2,}", x)) >= 2]
            if not pieces:
                continue
            category = next((g.category for g in self.unnamed.groups if _has_any(lead.lower(), g.cues)), None)
            if category is None:
                continue
            piece = next(x for x in pieces if _has_any(x.lower(), [c for g in self.unnamed.groups if g.category == category for c in g.cues]))
            piece = pieces[0] if len(pieces[0]) <= UNNAMED_MAX_CHARS and pieces[0] is not piece and HEAD_NOUN.search(pieces[0]) else piece
            offset = p.start - len(lead) + lead.find(piece)
            trimmed = UNNAMED_LEAD.match(piece)
            start, end = offset + trimmed.end(), offset + len(piece.rstrip(" \t-"))
            if end - start > UNNAMED_MAX_CHARS:
                start = end - UNNAMED_MAX_CHARS
            if any(e.label_ in ("TECHNIQUE", "MEASURE") and e.start_char < end and start < e.end_char for e in ents_of(doc)):
                continue  # a named drill or test the rules above already judged not today's work
            span = doc.char_span(start, end, alignment_mode="contract")
            if span is None or not span.text.strip():
                continue
            drill = Span(doc, span.start, span.end, label="TECHNIQUE", span_id=category)
            drill._.status = "performed"
            out.append(drill)
        return out

    def _techniques(self, doc: Doc, ev, used: list[tuple[int, int]]) -> list[Technique]:
        spans = self._technique_spans(doc)
        # "A: Gaze stability improving: VOR x1 now 60 sec": the assessment speaks of a drill noted above
        assessed = [(s, e) for s, e in plan_sections(text_of(doc), ASSESSMENT_SECTION)]
        in_assessment = lambda span: any(s <= span.start_char < e for s, e in assessed)  # noqa: E731
        spans = [s for s in spans if not (in_assessment(s) and any(
            o.id_ == s.id_ and not in_assessment(o) for o in spans))]
        params = find_params(text_of(doc), self._blocked(doc, used))
        spans = sorted(spans + self._unnamed_drills(doc, spans, params), key=lambda s: s.start_char)
        found: dict[int, dict] = {id(s): {"sets": None, "reps": None, "duration": None, "ev": {}} for s in spans}
        for p in params:
            owner = self._attach(spans, p.start, p.end, doc, previous_sentence=True)
            if owner is None:
                continue
            slot = found[id(owner)]
            if slot[p.kind] is None:
                slot[p.kind] = p.value
                slot["ev"][p.kind] = (p.start, p.end)
        self._share_doses(doc, spans, params, found)
        codes = self._code_mentions(doc)
        for s in spans:  # "NMES to the wrist extensors, attended, twelve minutes, 97032": the device's time is its code's
            slot = found[id(s)]
            if s.id_ in DEVICE_CATEGORIES and slot["sets"] is None and slot["reps"] is None and slot["duration"] is None:
                if any(sent_of(s).start_char <= c_start and c_end <= s.start_char and code == NEURO_REED_CODE for c_start, c_end, code in codes):
                    continue  # "Neuro re-ed for the Lokomat twenty-five minutes": the code's time, said again
                later = [o.start_char for o in spans if o.start_char > s.start_char and sent_of(o).start == sent_of(s).start]
                m = MINUTES.search(text_of(doc), s.end_char, min([sent_of(s).end_char, *later]))
                taken = [r for o in found.values() for r in o["ev"].values()]
                if m and not re.search(r"\btotal\b", text_of(doc)[s.end_char:m.start()], re.I) \
                        and not any(a < m.end() and m.start() < b for a, b in taken):
                    slot["duration"] = float(int(m.group(1)) * SECONDS_PER_MINUTE)
                    slot["ev"]["duration"] = (m.start(), m.end())
        equipment: dict[int, list[str]] = {id(s): [] for s in spans}
        assist: dict[int, str] = {}
        cues: dict[int, list[str]] = {id(s): [] for s in spans}
        for e in ents_of(doc):
            if e.label_ not in ("EQUIPMENT", "ASSIST", "CUE"):
                continue
            if RETRACTED.match(text_of(doc)[e.end_char:sent_of(e).end_char]):
                continue  # "on the therapy ball, no, scratch that, on the mat"
            if e.label_ == "EQUIPMENT" and e.text.lower() == "foam" and NOT_A_PAD.match(text_of(doc), e.end_char):
                continue  # "stepping over the foam rolls": an obstacle, not a surface
            if e.label_ == "EQUIPMENT" and re.search(r"\b(?:out\s+of|away\s+from|outside(?:\s+of)?)\s+$", text_of(doc)[max(0, e.start_char - 14):e.start_char], re.I):
                continue  # "then out of the bars at the counter weight shifting": the drill left the bars
            shared = self._sharing(doc, e, spans) if e.label_ == "EQUIPMENT" else []
            for s in shared:
                if e.id_ not in equipment[id(s)]:
                    equipment[id(s)].append(e.id_)
            owner = None if shared else self._attach(spans, e.start_char, e.end_char, doc)
            if owner is None:
                continue
            if e.label_ == "EQUIPMENT" and e.id_ == "hallway_targets" and "hallway" not in e.text.lower() \
                    and not WALKING.search(text_of(doc)[min(owner.start_char, e.start_char):max(owner.end_char, e.end_char)]):
                continue  # "VOR x1 with a business card target on the wall": a target, not the hallway's
            if e.label_ == "EQUIPMENT" and e.id_ not in equipment[id(owner)]:
                equipment[id(owner)].append(e.id_)
            elif e.label_ == "ASSIST":
                assist.setdefault(id(owner), e.id_)
            elif e.label_ == "CUE" and e.id_ not in cues[id(owner)]:
                cues[id(owner)].append(e.id_)
        for s in spans:  # "standing in the parallel bars alternating toe taps": the bars are the drill's
            if s.start_char in doc.user_data.get(BARS_FOR, ()) and "parallel_bars" not in equipment[id(s)]:
                equipment[id(s)].append("parallel_bars")
        for s in spans:  # equipment named inside the drill's name ("balance beam walking")
            name = s.text
            if not self.any_equipment_word.search(name):
                continue
            for pattern, equipment_id in self.equipment_words + self.technique_equipment:
                if pattern.search(name) and equipment_id not in equipment[id(s)]:
                    equipment[id(s)].append(equipment_id)
        for s in spans:  # "Wii Fit soccer heading on the balance board": the Wii's board
            if "wii_board" in equipment[id(s)] and "balance_board" in equipment[id(s)]:
                equipment[id(s)].remove("balance_board")
        merged: dict[tuple[str, str], Technique] = {}
        for s in spans:
            slot = found[id(s)]
            if slot["reps"] is not None and slot["duration"] is None and slot["reps"] >= STATIC_HOLD_MIN_SECONDS \
                    and STATIC_HOLD.search(s.text) and not MOVING.search(s.text) and "reps" in slot["ev"] \
                    and re.fullmatch(r"\d+\s*(?:x|×|by)\s*\d+", text_of(doc)[slot["ev"]["reps"][0]:slot["ev"]["reps"][1]].strip(), re.I) \
                    and not re.match(r"\s*[a-z]", text_of(doc)[slot["ev"]["reps"][1]:slot["ev"]["reps"][1] + 3], re.I):
                slot["duration"], slot["reps"] = float(slot["reps"]), None  # "Tandem on foam, three by thirty": 30-second holds
                slot["ev"]["duration"] = slot["ev"].pop("reps")
            status = Status(s._.status or "performed")
            tech = Technique(
                category=self._intended_category(doc, s, spans),
                name=s.text,
                status=status,
                sets=int(slot["sets"]) if slot["sets"] is not None else None,
                reps=int(slot["reps"]) if slot["reps"] is not None else None,
                duration_seconds=slot["duration"],
                equipment=equipment[id(s)],
                assist_level=assist.get(id(s)),
                cues=cues[id(s)],
                evidence=ev(s.start_char, s.end_char),
                parameter_evidence={
                    ("duration_seconds" if k == "duration" else k): ev(*v) for k, v in slot["ev"].items()
                },
            )
            key = (tech.category, s.text.lower(), tech.status)
            if key in merged and tech.has_parameters and merged[key].has_parameters:
                key = (*key, s.start_char)  # "SL stance on BOSU 3 x 45s, SL stance on airex 3 x 20s": two drills
            if key in merged:
                merged[key] = _merge(merged[key], tech)
            else:
                merged[key] = tech
        techniques = list(merged.values())
        # "VOR x1 horiz 3 x 45 sec ... P: progress VOR x1 to busy background": the drill done
        # today, to be progressed; one entry
        progressed = {s.text.lower() for s in spans if PROGRESSION.search(text_of(doc)[max(0, s.start_char - 30):s.start_char])}
        # (or deferred today and named again in the plan: "VOR x2 deferred ... P: Add VOR x2 once sx < 3/10")
        done = {(t.category, t.name.lower()) for t in techniques if t.status in (Status.performed, Status.not_performed)}
        techniques = [t for t in techniques if not (
            t.status is Status.planned and not t.has_parameters and (t.category, t.name.lower()) in done
            and (not t.equipment or t.name.lower() in progressed))]
        # "Static standing on foam deferred, BP 88/52 ... P: Resume standing balance on foam once BP
        # within parameters": the drill held today, resumed later; one entry
        held = {t.category for t in techniques if t.status is Status.not_performed}
        resumed = {s.text.lower() for s in spans if RESUMED.search(text_of(doc)[sent_of(s).start_char:s.start_char])}
        techniques = [t for t in techniques if not (
            t.status is Status.planned and not t.has_parameters and t.category in held and t.name.lower() in resumed)]
        # "VOR x1 3 x 60 s ... Plan: Continue gaze stabilization progressions": today's work, carried on
        performed = {t.category for t in techniques if t.status is Status.performed}
        continued = {s.text.lower() for s in spans if CONTINUED.search(text_of(doc)[max(0, s.start_char - 30):s.start_char])}
        techniques = [t for t in techniques if not (
            t.status is Status.planned and not t.has_parameters and not t.equipment
            and t.category in performed and t.name.lower() in continued)]
        return _merge_back_references(techniques)

    # -- measures -----------------------------------------------------------------------
    def _measures(self, doc: Doc, ev, used: list[tuple[int, int]]) -> list[Measure]:
        ents = []
        for e in ents_of(doc):
            if e.label_ == "MEASURE" and self._as_drill(doc, e).label_ == "TECHNIQUE":
                continue
            if e.label_ == "TECHNIQUE" and (measure := self._scored_drill(doc, e)):
                status, e = e._.status, Span(doc, e.start, e.end, label="MEASURE", span_id=measure)
                e._.status = status
            if e.label_ == "MEASURE" and not (e.text == "tug" and re.search(r"\b(?:a|brisk|gentle|quick|little|small|light)\s+$",
                                                                            text_of(doc)[max(0, e.start_char - 10):e.start_char])):
                ents.append(e)  # but "I gave a brisk tug at the pelvis" is a pull, not the Timed Up and Go
        out: list[Measure] = []
        for i, ent in enumerate(ents):
            sent = sent_of(ent)
            prefix = text_of(doc)[sent.start_char:ent.start_char].lower()
            line_lead = text_of(doc)[text_of(doc).rfind("\n", 0, ent.start_char) + 1:ent.start_char]
            goal_sentence = bool(
                re.match(r"\s*(?:[-*]\s*)?(?:goals?|ltg|stg)\s*:", line_lead, re.I)  # "Goal: walk in the community ...; TUG under 11.5 sec"
                or re.match(r"\s*(?:p:\s*)?(?:our\s+|the\s+|his\s+|her\s+|their\s+|long[- ]term\s+|short[- ]term\s+)?(?:goals?|ltg|stg)\b", prefix)
                or re.search(r"\b(?:goals?|ltg|stg|target|aiming for|aim for|hoping for)\b(?:\s+(?:is|was|of|for|to))*(?:\s+(?:a|an|the|her|his|to\s+get|l|r|b|left|right|bilateral))*\s*$", prefix)
            )
            if ent._.status in ("planned", "not_performed") and not goal_sentence \
                    and not re.match(r"\s*(?:today|this visit|this session)\b", text_of(doc)[ent.end_char:ent.end_char + 20], re.I):
                continue  # "reassess with FGA next visit" is not a score (but "... next time I want to start X FGA today 21/30" is)
            # "up from 36 at his re-eval, goal 48": a visit named as the time of a score ends nothing
            later = [e.start_char for e in sent.ents if e.start_char >= ent.end_char and e.label_ in ("MEASURE", "TECHNIQUE", "CPT")
                     and not (e.label_ == "CPT" and e.id_ in EVALUATION_CODES
                              and re.search(r"\b(?:at|on|since|from|by|after)\s+(?:the\s+|his\s+|her\s+|their\s+|last\s+|initial\s+)*$",
                                            text_of(doc)[max(sent.start_char, e.start_char - 20):e.start_char], re.I))]
            rest = text_of(doc)[ent.end_char:sent.end_char]
            # "SLS R 18 sec (6 sec at IE; goal 30 sec)": a semicolon inside brackets does not end the clause
            # nor one before the other side's value ("SLS R 30 sec; L 45 sec")
            clause = next((m for m in re.finditer(r";|\bthen\b", rest) if rest.count("(", 0, m.start()) <= rest.count(")", 0, m.start())
                           and not OTHER_SIDE_VALUE.match(rest, m.end())), None)
            stop = min([sent.end_char, *later] + ([ent.end_char + clause.start()] if clause else []))
            window = text_of(doc)[ent.end_char:stop]
            base = ent.end_char
            # not a figure already read as minutes, a total or a modifier ("... 68 minutes 59 modifier")
            values = [v for v in _score_values(window) if not any(a <= base + v[0] < b for a, b in used)]
            if not values:
                prev_end = ents[i - 1].end_char if i > 0 else sent.start_char
                start = max(sent.start_char, prev_end)
                window = text_of(doc)[start:ent.start_char]
                base = start
                # not a score the measure before already took ("Mini-BEST is 17/28 and gait speed on the 10MWT is 0.82")
                values = [v for v in _score_values(window)
                          if not any(a < base + v[1] and base + v[0] < b for a, b in used)][-1:]
            out += self._read_values(ent, window, base, values, ev, used, goal_sentence=goal_sentence)
        out += self._continued_measures(doc, ents, ev, used)
        return _dedupe_measures(out)

    def _continued_measures(self, doc: Doc, ents: list[Span], ev, used) -> list[Measure]:
        """Scores in the sentences after a measure that refer back to it ('It was 38 at
        his evaluation. Goal of 50.')."""
        out: list[Measure] = []
        last: Span | None = None  # the measure the sentences so far speak of
        for sent in sentences(doc):
            named = [e for e in ents if sent.start <= e.start < sent.end]
            if named:
                last = named[-1]
                continue
            if last is None or any(e.label_ in ("MEASURE", "TECHNIQUE", "CPT") for e in sent.ents) or not CONTINUES.match(span_text(sent)):
                last = None
                continue
            text = span_text(sent)
            if re.match(r"\s*(?:\w+\s+)?goal\b", text, re.I):  # "Goal of 22 or higher, so he can ..."
                text = re.split(r"[,;]|\bso\b|\bto\b|\band\b", text, maxsplit=1)[0]
            values = list(_score_values(text))
            out += self._read_values(last, text, sent.start_char, values, ev, used, quote_name=False)
        return out

    def _read_values(self, ent: Span, window: str, base: int, values, ev, used, *,
                     goal_sentence: bool = False, quote_name: bool = True) -> list[Measure]:
        """Measures of `ent` from the scores found in `window` (which starts at `base`)."""
        definition = measure_table().get(ent.id_)
        out: list[Measure] = []
        previous_end = 0
        for k, (s, e, value, maximum, unit) in enumerate(values):
            before = window[previous_end:s].lower()
            aside = ")" in before  # "R 8 sec (4 sec at IE), L 22 sec": the bracketed value is an aside
            before = before[before.rfind(")") + 1:]
            after = window[e: values[k + 1][0] if k + 1 < len(values) else len(window)].lower()
            previous_end = e
            if _is_change(window[max(0, s - 20):s].lower(), self.phrases):
                continue
            if re.search(r"\bafter\s*~?\s*$", before):
                continue  # "still losing balance on BOSU after ~20 sec": when it happened, not a score
            if re.match(r"\s*(?:\w+\s+)?(?:cut-?\s?off|threshold|norms?|normative|cutoff score)\b", after, re.I):
                continue  # "(TUG > 11.5 s PD cutoff)": a reference value, not the patient's
            if re.search(r"\b(?:below|above|under|over)\s*$", before) and re.match(r"\s*,?\s*(?:indicating|which indicates|indicative of|the cut-?\s?off)\b", after, re.I):
                continue  # "DGI still below 19, indicating continued fall risk": the cutoff, not a score
            if maximum is not None and re.search(r"\bon\s*$", window[max(0, s - 4):s], re.I) and value <= 12 and maximum <= 31:
                continue  # "(prior 0.21 m/s on 2/3)": a date, not a score
            timepoint = _timepoint(before, after, self.phrases)
            if k > 0 and re.fullmatch(r"\s*(?:today\s*)?(?:[,;(]\s*(?:and\s+)?(?:(?:at|on|in)\s+(?:[a-z/-]+\s+){1,4}?)?|(?:at|on|in)\s+(?:[a-z/-]+\s+){1,4}?)"
                                      r"(?:i think\s+|i believe\s+)?(?:it\s+|that\s+|she\s+|he\s+|they\s+)?(?:was|were)\s*", before):
                # "Mini BESTest 17 out of 28, was 14"; "..., at start of care she was 19 seconds";
                # "16.2 seconds today at start of care it was 21"; "left 7 seconds, they were 5 and 4 at the eval"
                timepoint = Timepoint.prior
            if k > 0 and re.fullmatch(r"\s*(?:(?:on the\s+)?(?:right|left|r|l)\s*)?(?:and|,|or|&|/)\s*(?:(?:right|left|r|l)\b\s*)?", before) and out and not aside and timepoint is Timepoint.current \
                    and _timepoint("", after, self.phrases) is Timepoint.current:
                timepoint = out[-1].timepoint  # "up from 4 and 3 in September"
            if goal_sentence and timepoint is Timepoint.current:
                timepoint = Timepoint.goal  # "Goals: Berg 45, TUG under 15 seconds"
            if k == 0 and timepoint is Timepoint.current and quote_name and PRIOR_BEFORE_NAME.search(
                    _after_last_value(text_of(ent.doc)[max(sent_of(ent).start_char, ent.start_char - 30):ent.start_char])):
                timepoint = Timepoint.prior  # "admission Berg was 31"; "his last in clinic TUG was 14.1"
            if unit == "percent" and definition and definition.unit != "percent":
                continue  # "5xSTS: 10.4 s. ODI 32%": a percent is another scale's score
            unit = unit or definition.unit
            start, end = base + s, base + e
            if quote_name:
                start, end = min(ent.start_char, start), max(ent.end_char, end)
            out.append(Measure(
                measure=ent.id_, value=value, max=maximum, unit=unit, timepoint=timepoint,
                valid=_in_range(definition, value, maximum, unit), evidence=ev(start, end),
            ))
            used.append((base + s, base + e))
        return out

    # -- minutes ------------------------------------------------------------------------
    def _code_mentions(self, doc: Doc) -> list[tuple[int, int, str]]:
        """(start, end, code) of every CPT code named or numbered in the dictation (once per doc)."""
        if "scribe_codes" in doc.user_data:
            return doc.user_data["scribe_codes"]
        out = [(e.start_char, e.end_char, e.id_) for e in ents_of(doc) if e.label_ == "CPT"]
        covered = [(s, e) for s, e, _ in out]
        for m in CODE_NUMBER.finditer(text_of(doc)):
            if not any(s <= m.start() < e for s, e in covered):
                out.append((m.start(), m.end(), m.group()))
        for m in SHORT_CODE.finditer(text_of(doc)):
            code = CPT_FAMILY + m.group(1) + m.group(2)
            if code in self.timed and not any(s <= m.start(1) < e for s, e in covered):
                out.append((m.start(1), m.end(2), code))
        for m in LINE_CODE_ABBREVIATION.finditer(text_of(doc)):  # "TA 10 min: toilet transfer training"
            out.append((m.start(1), m.end(1), LINE_CODE_ABBREVIATIONS[m.group(1).lower()]))
        doc.user_data["scribe_codes"] = sorted(out)
        return doc.user_data["scribe_codes"]

    def _minutes(self, doc: Doc, ev, used: list[tuple[int, int]]) -> tuple[list[CodeMinutes], list[BilledUnits]]:
        text = text_of(doc)
        codes = self._code_mentions(doc)
        total_spans = [(s.start_char, s.end_char) for s in spans_of(doc, "total_time")]
        total_spans += [(s.start_char, s.end_char) for s in spans_of(doc, "timed_total")]
        out: list[tuple[int, int, CodeMinutes]] = []  # (start, end) in the normalized text
        activities: set[int] = set()  # minutes said of an activity named after the code
        for m in MINUTES.finditer(text):
            # "neuromuscular re-education thirty eight minutes total today": the code's total
            named = any(e <= m.start() and re.fullmatch(r"[\s,:-]*(?:was|for|x)?\s*(?:about|approximately|approx\.?|around|roughly)?\s*", text[e:m.start()], re.I)
                        and not any(e2 <= b and b - e2 < 25 for _, e2, _ in codes)  # "Ther act and neuro re-ed, 45 minutes total"
                        for b, e, _ in codes)
            # "Neuro re-ed total thirty five minutes": the code's own total
            code_total = any(CODE_TOTAL.fullmatch(text[e:m.start()]) for _, e, _ in codes if e <= m.start())
            # "forty five minutes total, thirty minutes of neuro re-ed": the code is named right after its minutes
            code_total = code_total or any(b >= m.end() and MINUTES_OF_CODE.fullmatch(text[m.end():b]) for b, _, _ in codes)
            if not code_total and (any(s <= m.start() and m.start() - e <= 12 and not re.search(r"[.;]|\d{5}", text[e:m.start()]) for s, e in total_spans) or re.search(
                r"\btotal\b[^.;]{0,12}$", text[max(0, m.start() - 15):m.start()], re.I
            ) or (not named and re.match(r"\s*(?:total|in total|timed|overall)\b(?!\s*(?:(?:treatment|tx|visit|session)\s+)?(?:time\s+|of\s+|was\s+|is\s+)?\d)", text[m.end():m.end() + 30], re.I))):
                continue
            code = self._code_for(m.start(), m.end(), codes, text)
            if code is None:
                continue
            c_start, c_end, c = code
            activity = c_end <= m.start() and re.search(
                r":\s*\w|\b(?!(?:was|were|for|at|about|of|approximately|another|an|additional|extra)\b)[a-z]{3,}\b",
                text[c_end:m.start()], re.I,
            )
            if activity and any(x[2].code == c for x in out):
                continue  # "Therapeutic exercise: recumbent bike 8 minutes": an activity's time, the code's is known
            used.append((m.start(), m.end()))
            s, e = min(c_start, m.start()), max(c_end, m.end())
            out.append((s, e, CodeMinutes(code=c, minutes=int(m.group(1)), timed=self.timed.get(c, True), evidence=ev(s, e))))
            if activity:
                activities.add(id(out[-1]))
        for m in EMR_MINUTES.finditer(text):  # "Intervention: Neuromuscular Re-education (97112) | Minutes: 25"
            line_start = text.rfind("\n", 0, m.start()) + 1
            here = [c for c in codes if line_start <= c[0] < m.start()]
            if here and not any(s < m.end(1) and m.start(1) < e for s, e in used):
                c_start, _, c = here[-1]
                used.append((m.start(1), m.end(1)))
                out.append((c_start, m.end(1), CodeMinutes(code=c, minutes=int(m.group(1)), timed=self.timed.get(c, True),
                                                          evidence=ev(c_start, m.end(1)))))
        bare = self._bare_minutes(doc, codes, ev, used, total_spans)
        # "therapeutic exercise twelve, sorry, fourteen ... Therapeutic exercise was the upper
        # body ergometer ten minutes": the code's time was said first, bare
        out = [x for x in out if id(x) not in activities or not any(b[2].code == x[2].code and b[0] < x[0] for b in bare)]
        out += bare
        out += self._sentence_pairs(doc, codes, out, ev, used)
        minutes = self._restated(doc, out)
        billed: list[BilledUnits] = []
        for u in UNITS.finditer(text):
            if re.match(r"\s*(?:in\s+)?total\b", text[u.end():u.end() + 12], re.I) or UNITS_BREAKDOWN.match(text, u.end()):
                used.append((u.start(), u.end()))  # "one ther ex, four units total": the visit's units
                billed.append(BilledUnits(code=None, units=int(u.group(1)), evidence=ev(u.start(), u.end() + 6)))
                continue
            code = self._code_for(u.start(), u.end(), codes, text)
            if code:
                used.append((u.start(), u.end()))
                billed.append(BilledUnits(code=code[2], units=int(u.group(1)), evidence=ev(min(code[0], u.start()), max(code[1], u.end()))))
            else:
                billed += self._units_without_code(doc, u, codes, minutes, ev, used)
        billed += self._billed_by_count(doc, codes, ev, used)
        return minutes, billed

    def _all_one_code(self, doc: Doc, total: int, total_ev: Evidence, ev) -> list[CodeMinutes]:
        """'Whole session was 35 minutes and it was all neuro re-ed': the total is one code's."""
        text = text_of(doc)
        for c_start, c_end, code in self._code_mentions(doc):
            if self.timed.get(code, True) and re.search(r"\b(?:all|entirely|all of it|all of that|only)\s+(?:was\s+|as\s+)?(?:spent\s+on\s+|in\s+)?$",
                                                        text[max(0, c_start - 30):c_start], re.I):
                return [CodeMinutes(code=code, minutes=total, timed=True, evidence=ev(c_start, c_end))]
        return []

    def _restated(self, doc: Doc, minutes: list[tuple[int, int, CodeMinutes]]) -> list[CodeMinutes]:
        """'neuro re-ed 30 minutes ... wait, no, ... so neuro re-ed 33': a code's minutes said
        again after a correction replace the first figure instead of adding to it; the same
        figure for the same code said again (a summary at the end) is counted once."""
        text = text_of(doc).lower()
        cue = re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(c) for c in self.phrases.correction + ["actually", "let me think"]) + r")(?![a-z])")
        keep: list[tuple[int, int, CodeMinutes]] = []
        for item in sorted(minutes, key=lambda x: x[0]):
            earlier = [k for k in keep if k[2].code == item[2].code]
            if earlier and cue.search(text[earlier[-1][1]:item[0]]):
                keep.remove(earlier[-1])
            elif any(k[2].minutes == item[2].minutes for k in earlier):
                continue  # "Last 15 minutes was self-care ... self-care training 15 minutes": said again in a summary
            keep.append(item)
        return [m for _, _, m in keep]

    def _sentence_pairs(self, doc: Doc, codes, found, ev, used) -> list[tuple[int, int, CodeMinutes]]:
        """'Self-care training 97535, lower body dressing in long sitting, ..., twenty minutes';
        'Exertion training on the bike, 12 minutes ..., billed as 97110': a sentence with one
        timed code still without minutes and one minutes figure still without a code."""
        text = text_of(doc)
        timed_codes = {x[2].code for x in found}
        out: list[tuple[int, int, CodeMinutes]] = []
        for sent in sentences(doc):
            here = [c for c in codes if sent.start_char <= c[0] < sent.end_char]
            if len({c[2] for c in here}) != 1 or here[0][2] in timed_codes:
                continue
            if not self.timed.get(here[0][2], True) and not BILLING_WORDS.search(span_text(sent)):
                continue  # an untimed code only where it is billed: "NMES ..., 15 minutes, unattended, we bill this one as 97014"
            free = [m for m in MINUTES.finditer(text, sent.start_char, sent.end_char)
                    if not any(s < m.end() and m.start() < e for s, e in used)
                    and not re.search(r"\btotal\b", text[max(sent.start_char, m.start() - 20):min(sent.end_char, m.end() + 10)], re.I)]
            if len(free) != 1:
                continue
            m, (c_start, c_end, code) = free[0], here[0]
            used.append((m.start(), m.end()))
            s, e = min(c_start, m.start()), max(c_end, m.end())
            out.append((s, e, CodeMinutes(code=code, minutes=int(m.group(1)), timed=self.timed.get(code, True), evidence=ev(s, e))))
            timed_codes.add(code)
        return out

    def _bare_minutes(self, doc: Doc, codes, ev, used, total_spans) -> list[tuple[int, int, CodeMinutes]]:
        """Minutes said without the word right after a service, in a dictation that gives
        time in minutes: 'neuro re-ed thirty one minutes, gait training nine, total forty'."""
        text = text_of(doc)
        if not MINUTES.search(text) and not re.search(r"\btotal\b|\bminutes\b", text, re.I):
            return []  # "Minutes, neuro re-ed twenty-five and gait thirteen": time is given in minutes
        out: list[tuple[int, int, CodeMinutes]] = []
        for c_start, c_end, code in codes:
            if UNITS_LINE.search(text[text.rfind("\n", 0, c_start) + 1:c_start]):
                continue  # "Units billed: 97112: 2 | 97116: 0": units, not minutes
            m = BARE_MINUTES.match(text, c_end)
            if not m:  # "thirty minutes of neuro re-ed and fifteen of therapeutic activities"
                m = BARE_MINUTES_BEFORE.search(text[max(0, c_start - 20):c_start])
                if m and not any(s < c_start and c_start - e <= 60 for s, e in used):
                    m = None  # only in a list of minutes said just before
                if m:
                    at = c_start - len(text[max(0, c_start - 20):c_start]) + m.start(1)
                    if any(s < at + len(m.group(1)) and at < e for s, e in used):
                        continue
                    used.append((at, at + len(m.group(1))))
                    out.append((at, c_end, CodeMinutes(code=code, minutes=int(m.group(1)), timed=self.timed.get(code, True),
                                                       evidence=ev(at, c_end))))
                continue
            if any(s < m.end(1) and m.start(1) < e for s, e in used):
                continue
            used.append((m.start(1), m.end(1)))
            out.append((c_start, m.end(1), CodeMinutes(code=code, minutes=int(m.group(1)), timed=self.timed.get(code, True),
                                                       evidence=ev(c_start, m.end(1)))))
        return out

    def _units_without_code(self, doc: Doc, u, codes, minutes: list[CodeMinutes], ev, used) -> list[BilledUnits]:
        """'One unit each', 'neuro re-ed 22 minutes, billing two units' (the one code of
        the sentence), 'I'm billing four units' (the visit's total)."""
        text = text_of(doc)
        n = int(u.group(1))
        span = doc.char_span(u.start(), u.end(), alignment_mode="expand")
        if span is None:
            return []
        sent = sent_of(span)
        if re.match(r"\s*(?:of\s+(?:it|them)\s+)?each\b", text[u.end():u.end() + 16], re.I):
            used.append((u.start(), u.end()))
            return [BilledUnits(code=m.code, units=n, evidence=ev(u.start(), u.end() + 5)) for m in minutes if m.timed]
        if not BILLING_WORDS.search(span_text(sent)) or re.search(r"\b(?:per|a|each)\s+(?:day|week|visit)\b", text[u.end():u.end() + 12], re.I):
            return []
        timed_here = {c for s, e, c in codes if sent.start_char <= s < sent.end_char and self.timed.get(c, True)}
        used.append((u.start(), u.end()))
        if len(timed_here) == 1:
            code = timed_here.pop()
            return [BilledUnits(code=code, units=n, evidence=ev(sent.start_char, u.end()))]
        return [BilledUnits(code=None, units=n, evidence=ev(u.start(), u.end()))]

    def _billed_by_count(self, doc: Doc, codes, ev, used: list[tuple[int, int]]) -> list[BilledUnits]:
        """Units dictated as a count beside a code in a billing sentence: 'Billing: 97112 x2,
        97530 x1', 'billing four units, two neuro re-ed, one ther ex and one manual'."""
        out: list[BilledUnits] = []
        for sent in sentences(doc):
            if not BILLING_WORDS.search(span_text(sent)):
                continue
            for c_start, c_end, code in codes:
                if not sent.start_char <= c_start < sent.end_char or any(s < c_end and c_start < e for s, e in used):
                    continue
                after = BILLED_AFTER.match(text_of(doc), c_end)
                before = BILLED_BEFORE.search(text_of(doc)[max(sent.start_char, c_start - 8):c_start])
                if after and not any(s < after.end() and after.start() < e for s, e in used):
                    n, s, e = int(after.group(1)), c_start, after.end()
                elif before:
                    n, s, e = 1 if before.group(1).lower() == "one" else int(before.group(1)), c_start - len(before.group()), c_end
                else:
                    continue
                used.append((s, e))
                out.append(BilledUnits(code=code, units=n, evidence=ev(s, e)))
        return out

    def _code_for(self, start: int, end: int, codes, text: str):
        """The code a minutes figure at start..end is dictated with, if any."""
        after = [c for c in codes if c[0] >= end and c[0] - end <= CODE_GAP_AFTER_CHARS]
        for c in after:
            between = text[end:c[0]]
            if "\n" in between:
                continue  # "97112 x 25'\nTE x 14'": the next line is another entry
            if OWN_MINUTES.match(text, c[1]):
                # "ther act sit to stand ... and toilet transfer practice thirteen minutes neuro re-ed twenty
                # five minutes": the next code has its own; these are the code's before, in a run-on
                run = [b for b in codes if b[1] <= start and start - b[1] <= RUN_ON_CODE_GAP_CHARS
                       and not re.search(r"[.;\d]", text[b[1]:start])]
                if run:
                    return run[-1]
            if re.fullmatch(r"\s*(?:(?:one[- ]on[- ]one|individual(?:ly)?)(?:\s+with\s+(?:me|the\s+therapist|the\s+pt|the\s+ot))?\s*,?)?"
                            r"\s*\(?\s*(?:of|for|in|on|doing|spent on|spent in|performing|were|was|billed as|under|as|of (?:that|it|those|this) (?:was|were)|of (?:that|it) (?:was|were) spent on)?\s*(?:the\s+)?(?:code\s+)?(?:cpt\s+)?", between, re.I):
                # "twelve minutes one on one with me, 97112": the time said with the one-on-one code
                return c
        # "97150 group (w/c safety & fall prevention education): 30 min": the aside does not count
        before = [c for c in codes if c[1] <= start and len(PARENTHETICAL.sub("", text[c[1]:start])) <= CODE_GAP_BEFORE_CHARS]
        for c in reversed(before):
            # "gait training down the hallway with her quad cane fifteen minutes": the device is no other service
            between = BODY_PARTS.sub(" ", WITH_DEVICE_AID.sub(" ", text[c[1]:start]))  # "moist hot pack R hand and forearm 10 min"
            if re.fullmatch(r"\s*,?\s*(?:and\s+)?(?:that|it|this)\s+(?:ran|lasted|took|was|were|totaled|totalled)(?:\s+for)?\s*", between, re.I):
                return c  # "neuro re-ed and that ran 27 minutes"
            if re.fullmatch(r"\s*,?\s*(?:was|is)\s+(?:of\s+)?", between, re.I):
                return c  # "the neuro re-education, 97112, was of thirty-five minutes"
            if re.fullmatch(r"\s*(?:x|×)\s*\d+\s*(?:u|units?)\s*[(,]\s*", between, re.I):
                return c  # "97112 x 2u (30 min)"
            if re.fullmatch(r"\s*\d+\s*(?:min|mins|minutes|')\s*(?:x|×)\s*", between, re.I):
                return c  # "97112 40 min x 2u"
            if re.fullmatch(r"\s*\)?\s*(?:\(\s*\d{5}\s*\)\s*)?\|\s*(?:minutes|mins?)\s*:\s*", between, re.I):
                return c  # "Intervention: Neuromuscular Re-education (97112) | Minutes: 25"
            if re.fullmatch(r"\s*(?:x|×)\s*\d+\s*(?:(?:on\s+the\s+)?(?:r|l|rt|lt|right|left|bil|bilat|bilateral)\b)?\s*,\s*", between, re.I):
                return c  # "Epley x2 R, 10 min": the manoeuvre's repeats and side, then its time
            if re.search(r"[.;]|\b(?:and|then|plus|also|with|including|of|other|remaining|rest)\b|\d", between, re.I):
                continue  # "billing three units of 97112, the other five minutes was vitals": not the code's
            return c
        return None

    def _total_time(self, doc: Doc, ev, used: list[tuple[int, int]]) -> tuple[int | None, Evidence | None]:
        text = text_of(doc)
        session = SESSION_LENGTH.search(text) or TOGETHER_TOTAL.search(text)  # "Thirty minute session in the sensory room"
        group = 1 if session and session.group(1) else 2
        # the session's length may also be its one code's minutes ("Pull-out session ..., 30 minutes, all billed as 97112")
        whole = session is not None and session.re is TOGETHER_TOTAL and session.group(0).lower().startswith("pull")
        if session and (whole or not any(s < session.end(group) and session.start(group) < e for s, e in used)):
            used.append((session.start(group), session.end(group)))
            return int(session.group(group)), ev(session.start(), session.end())
        code_ends = [e for _, e, _ in self._code_mentions(doc)]
        code_starts = [b for b, _, _ in self._code_mentions(doc)]
        # "Total treatment time 55 min" before a bare "180 steps total, min A"
        named_first = sorted(spans_of(doc, "total_time"), key=lambda t: not TOTAL_NAMED.search(t.text))
        for span in named_first:
            if any(t.start_char <= span.start_char < t.end_char or span.start_char <= t.start_char < span.end_char for t in spans_of(doc, "timed_total")):
                continue
            if any(e <= span.start_char and re.fullmatch(r"[ \t]*(?:was[ \t]+)?", text[e:span.start_char]) for e in code_ends):
                continue  # "Neuro re-ed total thirty five minutes": that code's total, not the visit's
            tail = text[span.end_char: span.end_char + 40]
            m = re.match(r"[^.;\d]{0,25}?(\d{1,3})(?!\d)(?:\s*(?:minutes?|mins?)\b|'|(?=\s*(?:[,.;)]|$|and\b|that\b|which\b|with\b|including\b|includ))"
                         r"|(?=\s+(?:we|i|then|today)\b)|(?=[ \t]*(?:\n|\|)))", tail, re.I)  # "... 20 minutes total 45 we started on the swing"
            if m and any(s <= span.end_char + m.start(1) < e for s, e in used) and any(
                    MINUTES_OF_CODE.fullmatch(text[span.end_char + m.end():b]) for b in code_starts):
                m = None  # "45 minutes total, 30 minutes of neuro re-ed": the figure after is a code's
            if m and not re.search(r"\btimed\b", tail[: m.start(1)], re.I):
                used.append((span.end_char + m.start(1), span.end_char + m.end()))
                return int(m.group(1)), ev(span.start_char, span.end_char + m.end())
            head = text[max(0, span.start_char - 20): span.start_char]
            # "Neuro re-ed 25 minutes, ther ex 13 minutes, 38 total": a bare number before "total" too
            m = re.search(r"(\d+)\s*(?:minutes?|mins?)\s*$|(?<=[,;:] )(\d+)\s*$", head, re.I)
            if m and m.group(1) is None and (int(m.group(2)) < MINUTES_BEFORE_BARE_TOTAL or not span.text.lower().startswith("total")
                                             or re.match(r"\s*(?:reps?|units?|steps?|feet|ft|laps?|trials?)\b", text[span.end_char:], re.I)):
                m = None
            drill_before = any(e.label_ == "TECHNIQUE" and sent_of(e).start == sent_of(span).start and e.end_char <= span.start_char
                               for e in ents_of(doc))  # "Wii Fit balance games 10 minutes total": the game's time
            if m and span.text.lower().startswith(("total", "minutes total")) and not drill_before:
                s = span.start_char - (len(head) - m.start())
                used.append((s, span.start_char))
                return int(m.group(1) or m.group(2)), ev(s, span.end_char)
        return None, None

    # -- telehealth, mentions, statements ------------------------------------------------
    def _telehealth(self, doc: Doc, ev) -> Telehealth:
        tele = [e for e in ents_of(doc) if e.label_ == "TELEHEALTH" and not e._.negated]
        if not tele:
            return Telehealth()
        mod = list(spans_of(doc, "telehealth_modifier"))
        pos = list(spans_of(doc, "place_of_service"))
        cov = [c for c in spans_of(doc, "coverage_confirmed") if not NOT_CONFIRMED.search(span_text(sent_of(c)))]
        if not cov:  # "telehealth coverage for physical therapy was confirmed with the payer"
            for sent in sentences(doc):
                said = COVERAGE_CONFIRMED.search(span_text(sent))
                if said and not NOT_CONFIRMED.search(span_text(sent)):
                    cov = [doc.char_span(sent.start_char + said.start(), sent.start_char + said.end(), alignment_mode="expand")]
                    break
        modifier = None
        if mod:
            modifier = re.search(r"95|gt|93", mod[0].text, re.I).group().upper()
        place = None
        if pos:
            digits = re.search(r"\d+|zero two", pos[0].text, re.I).group()
            place = "02" if digits in ("02", "2", "zero two") else "10"
        evidence = [ev(s.start_char, s.end_char) for s in [tele[0], *mod[:1], *pos[:1], *cov[:1]]]
        return Telehealth(telehealth=True, modifier=modifier, place_of_service=place, coverage_confirmed=bool(cov), evidence=evidence)

    def _mentions(self, doc: Doc, label: str, ev, drop_negated: bool = False, skip_goals: bool = False) -> list[Mention]:
        out: list[Mention] = []
        for e in ents_of(doc):
            if e.label_ != label:
                continue
            if skip_goals and (GOAL_LINE.match(span_text(sent_of(e))) or GOAL_LINE.match(_full_sentence_before(text_of(doc), e.start_char))
                               or re.search(r"\bgoals?\s+(?:is|are|:)", text_of(doc)[sent_of(e).start_char:e.start_char], re.I)):
                continue  # "Goal: indep stairs", "Goals: BBS 45/56; amb w/ RW mod I": a target, not today
            negated = bool(e._.negated) or (label == "IMPAIRMENT" and e._.status == "not_performed")
            if drop_negated and negated:
                continue
            if label == "IMPAIRMENT" and CUE_TARGET.search(text_of(doc)[sent_of(e).start_char:e.start_char]):
                continue  # "verbal cues for trunk lean": what the cue corrected, said of the drill
            out.append(Mention(id=e.id_, text=e.text, negated=negated, evidence=ev(e.start_char, e.end_char)))
            if label == "IMPAIRMENT":  # "impaired proprioception + balance": the deficit word reaches the list
                more = IMPAIRMENT_LIST.match(text_of(doc), e.end_char)
                if more and _has_any(e.text.lower(), self.phrases.impairment_modifiers + ["impaired", "decreased", "poor", "reduced", "trouble", "difficulty"]):
                    word = more.group(1).lower()
                    s = e.end_char + more.start(1)
                    out.append(Mention(id=IMPAIRMENT_WORDS[word], text=more.group(1), evidence=ev(s, s + len(word))))
            if label == "CUE":  # "verbal and tactile cues": the first kind is named without "cues"
                head = text_of(doc)[max(sent_of(e).start_char, e.start_char - 30):e.start_char]
                listed = re.search(r"(?:\b(?:verbal|tactile|visual)\b\s*(?:,|and|&|/|or)\s*)+$", head, re.I)
                for m in re.finditer(r"verbal|tactile|visual", listed.group() if listed else "", re.I):
                    s = e.start_char - len(head) + listed.start() + m.start()
                    out.append(Mention(id=m.group().lower(), text=m.group(), evidence=ev(s, s + len(m.group()))))
        return out


    def _deficit_lists(self, doc: Doc, ev) -> list[Mention]:
        """'Deficits are dynamic standing balance and LE coordination', 'posture and balance
        are still the main deficits': every deficit word of a stated problem list."""
        out: list[Mention] = []
        for sent in sentences(doc):
            text = span_text(sent)
            if not IMPAIRMENT_NOUNS.search(text):
                continue
            for m in [*PROBLEM_LIST_AFTER.finditer(text), *PROBLEM_LIST_BEFORE.finditer(text), *DEFICIT_LIST.finditer(text)]:
                phrase = m.group("items")
                base = sent.start_char + m.start("items")
                for word in IMPAIRMENT_NOUNS.finditer(phrase):
                    impairment = next(i for w, i in DEFICIT_WORDS if w in word.group().lower())
                    out.append(Mention(id=impairment, text=word.group(), evidence=ev(base + word.start(), base + word.end())))
        return out

    def _deficit_mentions(self, doc: Doc, ev) -> list[Mention]:
        """Drill names used for a deficit ('impaired single leg balance', 'Impairments:
        dynamic balance, gaze stability') are impairments of the patient."""
        out: list[Mention] = []
        for e in ents_of(doc):
            if e.label_ != "TECHNIQUE" or e._.negated or not self._describes_deficit(doc, e):
                continue
            text = e.text.lower()
            impairment = next((i for word, i in DEFICIT_WORDS if word in text), DEFICIT_OF_CATEGORY.get(e.id_))
            if impairment:
                out.append(Mention(id=impairment, text=e.text, evidence=ev(e.start_char, e.end_char)))
        return out

    def _diagnoses(self, doc: Doc, ev) -> list[Mention]:
        """One mention per diagnosis group (the first; a side from any mention)."""
        out: list[Mention] = []
        for m in self._mentions(doc, "DIAGNOSIS", ev, drop_negated=True):
            same = next((d for d in out if d.id == m.id), None)
            if m.id == "stroke":
                window = text_of(doc).lower()[max(0, m.evidence.start - 30): m.evidence.end + 30]
                side = re.search(r"\b(left|right|l|r)\b", window)
                if side:
                    m.side = "left" if side.group(1) in ("left", "l") else "right"
            if same is None:
                out.append(m)
            elif same.side is None:
                same.side = m.side
        return out

    def _group(self, doc: Doc, group: str, ev) -> list[Mention]:
        spans = list(spans_of(doc, group))
        if group == "strength":  # "Goal is riding his bike": a goal, not strength work done today
            spans = [s for s in spans if not GOAL_LINE.match(span_text(sent_of(s)))
                     # "... and his goal is to ride his bike without training wheels"
                     and not GOAL_BEFORE.search(text_of(doc)[sent_of(s).start_char:s.start_char])
                     # "verbal cues for active hip flexion during swing": what a cue asked for
                     and not CUE_TARGET.search(text_of(doc)[sent_of(s).start_char:s.start_char])
                     # "Impairments are LE motor control, especially hip flexion": a deficit
                     and not DEFICIT_SENTENCE.match(span_text(sent_of(s)))
                     # "therapeutic activities 22 minutes for ... getting on and off the bike": that code's work
                     and not self._other_codes_work(doc, s)
                     # "he can't ride his bike yet": the child's own bicycle, not the clinic's stationary bike
                     and not (s.text.lower() in ("bike", "bicycle") and re.search(r"\b(?:his|her|their|my|ride|riding|rode)\s+(?:own\s+|new\s+)?$",
                                                                               text_of(doc)[max(0, s.start_char - 20):s.start_char], re.I))
                     # "made it across the platform bridge": a playground bridge, not bridges
                     and not (s.text.lower() == "bridge" and re.search(r"\b(?:across|over|on|onto|platform|rope|wobbly|suspension)\s+(?:the\s+)?(?:\w+\s+)?$",
                                                                        text_of(doc)[max(0, s.start_char - 30):s.start_char], re.I))]
        if group == "vague":  # "fine motor", "Okay, this is for ...": not vague wording
            text = text_of(doc).lower()
            spans = [s for s in spans if not any(
                text.startswith(n, s.start_char) and len(n) > len(s.text) for n in self.phrases.vague_not
            ) and not (s.text.lower() in ("ok", "okay") and s.start == sent_of(s).start)]
        return [Mention(id=group, text=s.text, evidence=ev(s.start_char, s.end_char)) for s in spans]

    def _other_codes_work(self, doc: Doc, span: Span) -> bool:
        """Whether the code named last before `span` in its sentence is one other than
        97112 and 97110 (work described under it is that code's, not 97112's)."""
        sent = sent_of(span)
        before = [c for c in self._code_mentions(doc) if sent.start_char <= c[0] and c[1] <= span.start_char]
        return bool(before) and before[-1][2] not in ("97112", "97110") and self.timed.get(before[-1][2], True)

    def _statements(self, doc: Doc, ev):
        drills = [e for e in ents_of(doc) if e.label_ in ("TECHNIQUE", "CPT", "MEASURE")]

        def has(group: str, sent: Span) -> bool:
            # a functional word inside a drill's or test's name ("walking with head turns",
            # "timed up and go") says nothing about function
            return any(sent.start <= s.start and s.end <= sent.end
                       and not any(d.start <= s.start < d.end for d in drills)
                       and not (group == "functional" and any(n.start <= s.start and s.end <= n.end for n in spans_of(doc, "functional_not")))
                       for s in spans_of(doc, group))

        goals, changes, limitations, responses, plan = [], [], [], [], []
        for sent in sentences(doc):
            st = Statement(text=span_text(sent).strip(), evidence=ev(sent.start_char, sent.end_char))
            if not st.text:
                continue
            functional = has("functional", sent)
            # "Goals: FGA 25/30; walk on uneven trail w/o LOB": a goal list goes on past a semicolon
            goal = functional and (has("goal_cues", sent) or bool(GOAL_LINE.match(_full_sentence_before(text_of(doc), sent.start_char))))
            if goal:
                goals.append(st)
            elif functional and has("change_cues", sent):
                changes.append(st)
            elif functional and has("limitation_cues", sent):
                limitations.append(st)
            if has("response_cues", sent):
                responses.append(st)
            if has("plan_cues", sent) and not goal:  # a goal is shown once, under Goals
                plan.append(st)
        return goals, changes, limitations, responses, plan


# the patient's own words in quotes: '(declined: "not a video game person")',
# 'she said "I don't do the Wii"'; a quoted drill name alone ('"clock" reaches') is the drill
PATIENTS_WORDS = re.compile(r'["\u201c]([^"\u201d\n]{3,160})["\u201d]')
FIRST_PERSON = re.compile(r"\b(?:i|i'm|im|me|my|not|don't|can't|won't)\b", re.I)


def _holds(sent: Span, at: int) -> bool:
    """Whether character `at` is in `sent`."""
    return sent.start_char <= at < sent.end_char


def _in_patients_words(text: str, start: int, end: int) -> bool:
    for m in PATIENTS_WORDS.finditer(text, max(0, start - 160), min(len(text), end + 160)):
        if m.start(1) <= start and end <= m.end(1) and FIRST_PERSON.search(m.group(1)):
            return True
    return False


def _full_sentence_before(text: str, at: int) -> str:
    """From the start of the sentence or line holding `at` (semicolons do not end it)."""
    start = max([text.rfind("\n", 0, at), *(m.end() - 1 for m in re.finditer(r"[.!?](?=\s)", text[:at]))]) + 1
    return text[start:at].lstrip()


def _merge(a: Technique, b: Technique) -> Technique:
    """One drill mentioned twice: the stronger status wins, parameters fill the gaps."""
    first, second = (a, b) if STATUS_PRIORITY[a.status.value] <= STATUS_PRIORITY[b.status.value] else (b, a)
    data = first.model_dump()
    for key in ("sets", "reps", "duration_seconds", "assist_level"):
        if data[key] is None:
            data[key] = getattr(second, key)
            if key in second.parameter_evidence:
                data["parameter_evidence"][key] = second.parameter_evidence[key].model_dump()
    data["equipment"] = list(dict.fromkeys(first.equipment + second.equipment))
    data["cues"] = list(dict.fromkeys(first.cues + second.cues))
    return Technique.model_validate(data)


def _words_of(name: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", name.lower()))


def _merge_back_references(techniques: list[Technique]) -> list[Technique]:
    """'Brandt Daroff habituation ... after the habituation sets': a later, shorter name
    of a drill already named (its words a subset, no parameters of its own) is that drill."""
    out: list[Technique] = []
    for t in techniques:
        words = _words_of(t.name)
        target = next(
            (o for o in out if o.category == t.category and o.status == t.status
             and words and words <= _words_of(o.name) and not t.has_parameters),
            None,
        )
        if target is None:
            out.append(t)
        else:
            out[out.index(target)] = _merge(target, t)
    return out


def _score_values(window: str):
    """(start, end, value, max, unit) of each number in a measure's window."""
    for m in SCORE.finditer(window):
        if re.search(r"\b(?:wk|wks|week|day|visit|session|trial|#)\s*$", window[max(0, m.start() - 8):m.start()], re.I) \
                and not re.search(r"\b(?:last|past|this|previous|prior)\s+(?:wk|week|day|visit|session)\s*,?\s*$", window[max(0, m.start() - 20):m.start()], re.I):
            continue  # "(85 m wk 1)": the week, not a score; "last week 9 seconds" is a score
        if re.search(r"\b\d+\s*(?:x|×|by)\s*$", window[max(0, m.start() - 8):m.start()], re.I):
            continue  # "SLS on floor, taps at hips, 3 x 30 sec": the dose of a drill
        if m.group(1) is not None:
            value, maximum, unit = float(m.group(1)), float(m.group(2)), None
            if re.match(r"\s*[a-z]", window[m.end():m.end() + 3], re.I) and maximum == value and value < 5:
                continue  # "2/2 weakness" is "secondary to", not a score
            if "/" in m.group() and 1 <= value <= 12 and 1 <= maximum <= 31 and (
                    maximum < value or re.match(r"0\d", m.group(1)) or re.match(r"0\d", m.group(2))):
                continue  # "(29/56 at eval 10/09)", "at IE 02/12": a month and day, not a score
        else:
            value, maximum = float(m.group(3)), None
            unit = UNIT_CANON.get((m.group(4) or "").lower())
            if unit is None and re.match(r"[a-z]", window[m.end():m.end() + 1], re.I):
                continue  # "TUG 16.4 s w/ 4WW": a four-wheeled walker, not a score
            after = window[m.end():m.end() + 10]
            if (re.match(r"\s*(?:x|×|sets?|reps?|times|by\s+\d)\b", after, re.I) and unit != "feet") or (
                    re.match(r"\s*(?:minutes?|mins?|units?|weeks?|wks?|days?|months?|years?|visits?|sessions?|ft|feet|wheeled|wheel|point|pronged|prong|steps?|stairs|curbs?|flights?)\b", after, re.I)
                    and unit in (None, "points", "percent")):  # "85 m wk 1": a distance, then the week it was
                continue
        yield m.start(), m.end(), value, maximum, unit


def _distinct(mentions: list[Mention]) -> list[Mention]:
    """One mention per deficit and place: found by two rules, it is still one."""
    out: list[Mention] = []
    for m in mentions:
        if not any(k.id == m.id and k.evidence.start < m.evidence.end and m.evidence.start < k.evidence.end for k in out):
            out.append(m)
    return out


@lru_cache(maxsize=None)
def _terms(terms: tuple[str, ...], before: str, after: str) -> re.Pattern:
    """One compiled alternation per phrase list (one regex per term overflows re's cache)."""
    alternation = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(before + "(?:" + alternation + ")" + after)


def _ends_with_any(text: str, terms: list[str]) -> bool:
    return bool(terms) and bool(_terms(tuple(terms), r"(?<![a-z])", r"\s*$").search(text))


def _last_at(text: str, terms: list[str]) -> int:
    """Where the last of `terms` in `text` starts, or -1."""
    found = list(_terms(tuple(terms), r"(?<![a-z])", r"(?![a-z])").finditer(text)) if terms else []
    return found[-1].start() if found else -1


def _has_any(text: str, terms: list[str]) -> bool:
    return bool(terms) and bool(_terms(tuple(terms), r"(?<![a-z])", r"(?![a-z])").search(text))


def _starts_with_any(text: str, terms: list[str]) -> bool:
    head = re.sub(r"^\s*(?:(?:points?|pts|seconds?|secs?|percent)\b)?\s*", "", text)
    return bool(terms) and bool(_terms(tuple(terms), "", r"(?![a-z])").match(head))


def _is_change(before: str, ph) -> bool:
    """'BBS up 5 pts', 'FGA +6', 'improved by 4': a difference between scores, not a score."""
    return bool(_terms(tuple(ph.measure_change), r"(?:^|[^a-z])", "$").search(before.rstrip()))


BARS_FOR = "scribe_bars_for"  # doc.user_data key: where the drills start that the parallel bars go to


def _bars_go_to(doc: Doc, drill: Span) -> None:
    """Record that 'standing in the parallel bars', said beside `drill`, gives it the bars."""
    doc.user_data.setdefault(BARS_FOR, set()).add(drill.start_char)


def _after_last_value(lead: str) -> str:
    """The words before a measure's name, less a value said before them with its own cue
    ("up from 14 at initial eval ABC 71": "at initial eval" is the 14's)."""
    last = re.search(r"\d[^\d]*$", lead)
    return lead if last is None or re.search(r"[.;,]", last.group()) else ""


def _timepoint(before: str, after: str, ph) -> Timepoint:
    """Whether a score was today's, an earlier one or a goal, from the words around it."""
    after_head = re.split(r"[,;]|\band\b|\bwith\b", after, maxsplit=1)[0]
    if _has_any(before[-25:], ph.measure_goal):
        return Timepoint.goal
    if re.search(r"\btoday\s*(?:is|was|:)?\s*$", before[-20:], re.I):
        return Timepoint.current  # "Tinetti today 19 out of 28 at start of care 15": the cue after is the next value's
    if re.match(r"\s*(?:\(\s*)?(?:at|on)\s+(?:the\s+|her\s+|his\s+)?[a-z]{2,5}\s+(?:eval|evaluation|ie|initial\s+eval(?:uation)?|admission)\b", after_head, re.I):
        return Timepoint.prior  # "(17/56 at IRF eval)": an earlier setting's evaluation
    # "38 at evaluation", "35 (IE)": the cue right after the number
    inner = re.match(r"\s*\(\s*[a-z][a-z .-]{0,20}?\s*\d+(?:\.\d+)?(?:\s*/\s*(\d+))?", after_head, re.I)
    next_values_cue = inner is not None and (inner.group(1) is None or int(inner.group(1)) > 31)  # "22/56 (adm 12/56)", not a date
    if _starts_with_any(after_head, [t for t in ph.measure_prior if t not in ("from", "was", "before")]) and not next_values_cue:
        return Timepoint.prior
    if re.match(r"\s*(?:at|@)\s+(?:the\s+)?\d+\s*(?:wk|wks|week|weeks|mo|mos|months?)\b(?:\s+(?:re-?eval|eval|evaluation|ie|progress note|visit)|\s*\)?\s*\.?\s*$)", after_head, re.I):
        return Timepoint.prior  # "(9 sec at 8 wk re-eval)"
    if re.match(r"\s*on\s+\d{1,2}/\d{1,2}\b", after_head):
        return Timepoint.prior  # "Berg 32/56 (28/56 on 3/2)": the value on an earlier date
    if re.match(r"\s*(?:on\s+(?:him|her|them)\s+)?(?:last|this past)\s+(?:week|month|visit|session|time|monday|tuesday|wednesday|thursday|friday)\b"
                r"|\s*on\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", after_head, re.I):  # "14 out of 28 on Monday"
        return Timepoint.prior  # "His PT got a Berg of 47 on him last week"
    if AGO.match(after_head):
        return Timepoint.prior  # "it was 9 seconds 2 weeks ago" (numbers are digits by now)
    near = before[-20:]
    current_at = _last_at(near, ph.measure_current)
    prior_at = _last_at(near, [t for t in ph.measure_prior if t != "was"])
    if prior_at > current_at >= 0:
        return Timepoint.prior  # "7 inches today, before was 4 inches"
    if current_at >= 0 and not re.search(r"\bfrom\s*$", near):
        return Timepoint.current
    if _has_any(near, [t for t in ph.measure_prior if t != "was"]):
        return Timepoint.prior
    return Timepoint.current


def _in_range(definition, value: float, maximum: float | None, unit: str) -> bool:
    high = definition.max
    if unit == "cm" and definition.unit == "inches":
        high = definition.max * 2.54
    if unit == "feet" and definition.unit == "meters":
        high = definition.max * 3.281
    if maximum is not None and definition.unit == "points" and maximum != definition.max:
        return False
    return definition.min <= value <= high


def _dedupe_measures(measures: list[Measure]) -> list[Measure]:
    seen: set[tuple] = set()
    out = []
    for m in measures:
        key = (m.measure, m.value, m.timepoint)
        if key in seen:
            continue
        seen.add(key)
        out.append(m)
    return out
