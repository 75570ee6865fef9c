"""Rule files of the extractor, each validated on load (file and line on error).

- techniques.jsonl, equipment.jsonl, clinical.jsonl, care.jsonl: EntityRuler patterns
- context.jsonl: ConText modifiers (category, direction, scope)
- phrases.json: phrase groups (vague wording, maintenance, strength work, cues ...)
- numbers.json: spoken-number exceptions and spoken CPT prefixes
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...datafiles import cpt_table, load_json, load_jsonl, measure_table

PACKAGE = "scribe.extract.rules"

Label = Literal["TECHNIQUE", "EQUIPMENT", "IMPAIRMENT", "DIAGNOSIS", "ASSIST", "CUE", "TELEHEALTH"]


class EntityPattern(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label
    pattern: str | list[dict[str, Any]]
    id: str
    implies: str | None = None  # equipment that names a technique on its own (BAPS board)
    generic: bool = False  # a category word ("balance training") dropped beside a specific drill
    equipment: str | None = None  # a drill whose name is its equipment ("Wii Fit": wii_board)


class ContextRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    literal: str
    category: Literal["NOT_PERFORMED", "PLANNED", "HISTORICAL", "NEGATED", "TERMINATE", "PSEUDO"]
    direction: Literal["forward", "backward", "bidirectional", "terminate", "pseudo"]
    max_scope: int | None = None


class Phrases(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vague: list[str]
    maintenance: list[str]
    skilled_maintenance: list[str]
    strength: list[str]
    functional: list[str]
    goal_cues: list[str]
    change_cues: list[str]
    limitation_cues: list[str]  # "deficit limiting UB dressing": a function the deficit limits
    response_cues: list[str]
    plan_cues: list[str]
    correction: list[str]
    telehealth_modifier: list[str]
    place_of_service: list[str]
    coverage_confirmed: list[str]
    measure_prior: list[str]
    measure_goal: list[str]
    measure_current: list[str]
    total_time: list[str]
    timed_total: list[str]
    rest_time: list[str]
    impairment_modifiers: list[str]
    deficit_predicates: list[str]  # "heel to shin is dysmetric": an observed deficit, not a drill
    deficit_headings: list[str]  # "Impairments: dynamic balance, ...": a problem list, not drills
    measure_change: list[str]  # "BBS up 5 pts", "FGA +6": a change, not a score
    not_a_drill_before: list[str]  # "stepping instead of hopping": the drill was not done
    test_names: list[str]  # "mCTSIB cond 4 (EC foam) 12 s": a test, not a drill
    vague_not: list[str]  # "fine motor", "Okay, ...": the vague word in a phrase that is not vague
    # a drill named with no dose in a sentence that says it was not done, done before, or
    # is for later: "Tried to get her on the Wii ... she said 'I don't play video games' so we skipped it"
    sentence_not_performed: list[str]
    sentence_historical: list[str]
    sentence_planned: list[str]
    functional_not: list[str]  # "blurred vision when he turns his head": a symptom's trigger, not a function
    home_program_cues: list[str]  # "Mom's going to keep up the sensory diet before school": homework
    home_program_headings: list[str]  # "HEP: hopscotch in driveway": homework, not today's drill


# the 97112 technique categories of DOMAIN.md (samples/LABELLING.md)
TECHNIQUE_CATEGORIES = frozenset({
    "balance_training", "proprioceptive_training", "postural_retraining", "motor_control", "sensory_integration",
    "vestibular_training", "perturbation_training", "virtual_reality", "biofeedback",
    "functional_electrical_stimulation", "robotic_assisted"})



def _check_categories(names: set[str]) -> None:
    """Rule files may only name the technique categories of DOMAIN.md."""
    unknown = sorted(names - TECHNIQUE_CATEGORIES)
    if unknown:
        raise ValueError(f"unknown technique categories: {', '.join(unknown)}")


class IntentRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_: list[str] = Field(alias="from")
    to: str
    cues: list[str]
    unless: list[str] = []  # words in the clause that keep the drill's own category
    # "clause": from the drill's name to the next drill; "drill": also the words before the
    # name back to the previous drill ("catching a ball while standing on one leg")
    scope: Literal["clause", "drill"] = "clause"


class IntentRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    rules: list[IntentRule]
    headings_source: str = ""
    headings: dict[str, str] = {}  # sentence-opening category word -> technique category

    @model_validator(mode="after")
    def _known_categories(self) -> "IntentRules":
        _check_categories({c for r in self.rules for c in [*r.from_, r.to]} | set(self.headings.values()))
        return self


class UnnamedGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str
    cues: list[str] = Field(min_length=1)

    @field_validator("category")
    @classmethod
    def _known(cls, v: str) -> str:
        _check_categories({v})
        return v


class UnnamedDrills(BaseModel):
    """Cues that give a described but unnamed drill its category (rules/unnamed.json)."""

    model_config = ConfigDict(extra="forbid")
    source: str
    groups: list[UnnamedGroup] = Field(min_length=1)
    not_a_drill: list[str]  # words of a clause that is not 97112 work (other codes, strength, goals, plans)


ENTITY_FILES = ("techniques.jsonl", "equipment.jsonl", "clinical.jsonl", "care.jsonl")


@lru_cache(maxsize=None)
def entity_patterns() -> tuple[EntityPattern, ...]:
    """Every EntityRuler pattern: the rule files plus CPT names and measure aliases."""
    out: list[EntityPattern] = []
    for name in ENTITY_FILES:
        out.extend(load_jsonl(PACKAGE, name, EntityPattern))
    return tuple(out)


def ruler_patterns() -> list[dict[str, Any]]:
    """Patterns in spaCy's EntityRuler format (label, pattern, id)."""
    pats: list[dict[str, Any]] = [
        {"label": p.label, "pattern": p.pattern, "id": p.id} for p in entity_patterns()
    ]
    for code in cpt_table().codes:
        pats.append({"label": "CPT", "pattern": code.code, "id": code.code})
        pats.extend({"label": "CPT", "pattern": s, "id": code.code} for s in code.spoken)
    for m in measure_table().measures:
        pats.extend({"label": "MEASURE", "pattern": a, "id": m.id} for a in m.aliases)
    return pats


@lru_cache(maxsize=None)
def context_rules() -> tuple[ContextRule, ...]:
    return tuple(load_jsonl(PACKAGE, "context.jsonl", ContextRule))


@lru_cache(maxsize=None)
def phrases() -> Phrases:
    return load_json(PACKAGE, "phrases.json", Phrases)


@lru_cache(maxsize=None)
def intent_rules() -> IntentRules:
    return load_json(PACKAGE, "intent.json", IntentRules)


@lru_cache(maxsize=None)
def unnamed_drills() -> UnnamedDrills:
    return load_json(PACKAGE, "unnamed.json", UnnamedDrills)
