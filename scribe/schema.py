"""The pydantic models every stage of Scribe speaks.

Transcript -> SessionFacts -> (Finding, UnitsResult) -> Note. Every extracted fact
carries an Evidence span: character offsets into the transcript text (and, for audio,
the seconds it was said), so a reviewer can see the words behind each line of a note.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Base for every Scribe model: unknown keys are an error, not silently kept."""

    model_config = ConfigDict(extra="forbid")


# --- transcript --------------------------------------------------------------------


class Word(Model):
    text: str
    start: float = Field(description="audio seconds")
    end: float = Field(description="audio seconds")
    probability: float | None = None
    char_start: int | None = Field(None, description="offset of the word in Transcript.text")
    char_end: int | None = None
    heard: str | None = Field(
        None, description="what Whisper wrote for the phrase this word corrects (None: not corrected)")


class Segment(Model):
    start: float = Field(description="audio seconds")
    end: float = Field(description="audio seconds")
    text: str
    char_start: int = Field(description="offset of the segment in Transcript.text")
    char_end: int
    words: list[Word] = []
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None


class AudioGap(Model):
    """Seconds of audio that sound like speech but gave no transcribed word."""

    start: float = Field(description="audio seconds")
    end: float = Field(description="audio seconds")


class RemovedText(Model):
    """Text Whisper produced that Scribe removed as invented (a loop, a stock phrase over
    silence), kept so a reviewer can see it."""

    start: float = Field(description="audio seconds")
    end: float = Field(description="audio seconds")
    text: str
    reason: str


class Transcript(Model):
    """What was said. For a typed or .txt transcript, `segments` is empty."""

    text: str
    source: str | None = None
    language: str | None = None
    duration_seconds: float | None = None
    engine: str | None = None
    model: str | None = None
    segments: list[Segment] = []
    speech_seconds: float | None = Field(None, description="seconds of speech the voice-activity detector heard")
    gaps: list[AudioGap] = Field(default_factory=list, description="speech with no transcribed words")
    removed: list[RemovedText] = Field(default_factory=list, description="invented text taken out")

    def confidence(self, start: int, end: int) -> float | None:
        """The lowest probability of the words covering characters start..end (None for text)."""
        probs = [w.probability for s in self.segments for w in s.words
                 if w.char_start is not None and w.probability is not None and w.char_end > start and w.char_start < end]
        return round(min(probs), 3) if probs else None

    def audio_span(self, start: int, end: int) -> tuple[float | None, float | None]:
        """Audio seconds covering the characters start..end, or (None, None) for text."""
        words = [w for s in self.segments for w in s.words if w.char_start is not None]
        hit = [w for w in words if w.char_end > start and w.char_start < end]
        if hit:
            return hit[0].start, hit[-1].end
        segs = [s for s in self.segments if s.char_end > start and s.char_start < end]
        if segs:
            return segs[0].start, segs[-1].end
        return None, None


class Evidence(Model):
    """The words a fact came from: offsets into Transcript.text (end exclusive)."""

    text: str
    start: int
    end: int
    audio_start: float | None = None
    audio_end: float | None = None
    confidence: float | None = Field(
        None, description="lowest word probability Whisper gave these words (None: typed text)")


# --- facts ---------------------------------------------------------------------------


class Status(str, Enum):
    performed = "performed"
    planned = "planned"
    not_performed = "not_performed"
    historical = "historical"


class Timepoint(str, Enum):
    current = "current"
    prior = "prior"
    goal = "goal"


class Technique(Model):
    category: str = Field(description="technique category ID (DOMAIN.md)")
    name: str = Field(description="the activity as dictated, e.g. 'tandem stance'")
    status: Status
    sets: int | None = None
    reps: int | None = None
    duration_seconds: float | None = None
    equipment: list[str] = []
    assist_level: str | None = None
    cues: list[str] = []
    evidence: Evidence
    parameter_evidence: dict[str, Evidence] = Field(
        default_factory=dict, description="parameter name -> the words it came from"
    )

    @property
    def has_parameters(self) -> bool:
        return any(v is not None for v in (self.sets, self.reps, self.duration_seconds))


class Measure(Model):
    measure: str = Field(description="outcome measure ID (DOMAIN.md)")
    value: float
    max: float | None = None
    unit: str
    timepoint: Timepoint
    side: Literal["left", "right"] | None = None
    valid: bool = Field(True, description="False when the value is outside the measure's range")
    evidence: Evidence


class CodeMinutes(Model):
    code: str
    minutes: int
    timed: bool
    evidence: Evidence


class BilledUnits(Model):
    """Units the therapist said were billed (checked against the minutes)."""

    code: str | None = Field(None, description="None: the visit's total ('billing four units')")
    units: int
    evidence: Evidence


class Mention(Model):
    """A vocabulary hit: an impairment, diagnosis, assist level, cue ..."""

    id: str
    text: str
    negated: bool = False
    side: Literal["left", "right"] | None = None
    evidence: Evidence


class Statement(Model):
    """A sentence quoted from the dictation (goal, functional change, response, plan)."""

    text: str
    evidence: Evidence


class Telehealth(Model):
    telehealth: bool = False
    modifier: str | None = None
    place_of_service: str | None = None
    coverage_confirmed: bool = False
    evidence: list[Evidence] = []


class SessionMeta(Model):
    """Who, when and for whom. Nothing here is ever guessed: unknown stays None."""

    patient: str | None = None
    date_of_service: date | None = None
    therapist: str | None = None
    credentials: str | None = None
    payer: str | None = None
    diagnosis_codes: list[str] = []


class SessionFacts(Model):
    techniques: list[Technique] = []
    measures: list[Measure] = []
    minutes: list[CodeMinutes] = []
    billed_units: list[BilledUnits] = []
    total_treatment_minutes: int | None = None
    total_treatment_evidence: Evidence | None = None
    telehealth: Telehealth = Telehealth()
    impairments: list[Mention] = []
    diagnoses: list[Mention] = []
    assist_levels: list[Mention] = []
    cues: list[Mention] = []
    negated_findings: list[Mention] = []
    goals: list[Statement] = []
    functional_changes: list[Statement] = []
    # "impaired R UE motor control limiting UB dressing": what the deficit keeps the patient from
    functional_limitations: list[Statement] = []
    responses: list[Statement] = []
    plan: list[Statement] = []
    strength_work: list[Mention] = []
    vague_phrases: list[Mention] = []
    maintenance_phrases: list[Mention] = []
    skilled_maintenance: bool = False
    audio_gaps: list[AudioGap] = Field(default_factory=list, description="speech with no transcribed words")
    sentence_starts: list[int] = Field(
        default_factory=list, description="offsets into Transcript.text where the extractor's sentences begin")

    def timed_minutes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.minutes:
            if m.timed:
                out[m.code] = out.get(m.code, 0) + m.minutes
        return out

    def untimed_minutes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.minutes:
            if not m.timed:
                out[m.code] = out.get(m.code, 0) + m.minutes
        return out


# --- billing and checks --------------------------------------------------------------


class Method(str, Enum):
    cms = "cms"
    ama = "ama"


class UnitsResult(Model):
    method: Method
    total_timed_minutes: int
    total_units: int
    units: dict[str, int]


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"


class Finding(Model):
    rule: str
    severity: Severity
    message: str
    fix: str
    evidence: list[Evidence] = []


# --- the note ------------------------------------------------------------------------


class Note(Model):
    """A draft daily note: everything a template needs, and nothing invented."""

    meta: SessionMeta = SessionMeta()
    transcript: Transcript
    facts: SessionFacts
    units: UnitsResult | None = None
    findings: list[Finding] = []
    scribe_version: str
