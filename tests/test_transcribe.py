"""Transcription: invented-text and lost-speech guards, mis-hearings, writers, and (marked
`whisper`) the real model on real speech, silence, and with no network."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scribe import transcribe as tr
from scribe.errors import NoSpeechError
from scribe.schema import AudioGap, Transcript
from scribe.transcribe import RawSegment, RawWord

# real human speech (the openai/whisper test clip, public domain); a copy ships in tests/
JFK = Path(__file__).resolve().parent / "jfk.flac"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
SR = tr.SAMPLE_RATE


def words(text: str, start: float = 0.0, step: float = 0.4, prob: float = 0.9) -> list[RawWord]:
    return [RawWord(" " + w, start + i * step, start + (i + 1) * step, prob) for i, w in enumerate(text.split())]


def seg(text: str, start: float = 0.0, **kw) -> RawSegment:
    ws = words(text, start)
    return RawSegment(start=start, end=ws[-1].end if ws else start, text=" " + text, words=ws,
                      avg_logprob=kw.get("avg_logprob", -0.2), no_speech_prob=kw.get("no_speech_prob", 0.01),
                      compression_ratio=kw.get("compression_ratio", 1.2))


class FakeEngine:
    """An engine that returns canned segments (what Whisper would have written)."""

    engine, model = "fake", "fake"

    def __init__(self, segments: list[RawSegment]):
        self.segments = segments
        self.calls: list[dict] = []

    def decode(self, audio, *, prompt, clips):
        self.calls.append({"prompt": prompt, "clips": clips})
        return self.segments


def speechy(seconds_silence: float = 1.0, seconds_speech: float = 2.0) -> np.ndarray:
    """Silence, a loud noise burst (the energy detector calls it speech), silence."""
    rng = np.random.default_rng(0)
    quiet = np.zeros(int(seconds_silence * SR), dtype=np.float32)
    loud = (0.1 * rng.standard_normal(int(seconds_speech * SR))).astype(np.float32)
    return np.concatenate([quiet, loud, quiet])


def wer(ref: str, hyp: str) -> float:
    r, h = (re.sub(r"[^a-z0-9' ]", " ", s.lower()).split() for s in (ref, hyp))
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
    return d[len(h)] / len(r)


# --- invented text --------------------------------------------------------------------------------


def test_stock_phrase_over_silence_is_removed_and_recorded():
    kept, removed = tr.remove_invented([seg("Thank you for watching!", 5.0)], regions=[(0.0, 2.0)])
    assert kept == [] and removed[0].text == "Thank you for watching!" and "silence" in removed[0].reason


def test_stock_phrase_over_speech_with_confidence_is_kept():
    kept, _ = tr.remove_invented([seg("Thank you.", 0.0)], regions=[(0.0, 2.0)])
    assert [s.text for s in kept] == [" Thank you."]


def test_phrase_loop_keeps_the_first_saying_only():
    text = "three sets of ten " * 5 + "with cues"
    kept, removed = tr.remove_invented([seg(text.strip())], regions=None)
    assert "".join(w.text for w in kept[0].words).strip() == "three sets of ten with cues"
    assert removed[0].reason == "repetition loop" and removed[0].text.count("three sets of ten") == 4


@pytest.mark.parametrize("text", ["no, no, no, that was ten", "ten ten ten ten reps", "left left right"])
def test_a_few_repeated_words_are_speech_not_a_loop(text):
    kept, removed = tr.remove_invented([seg(text)], regions=None)
    assert removed == [] and kept[0].text.strip() == text


def test_same_segment_again_and_again_is_a_loop():
    segs = [seg("Patient tolerated well.", 0), seg("Patient tolerated well.", 2), seg("Patient tolerated well.", 4)]
    kept, removed = tr.remove_invented(segs, regions=None)
    assert len(kept) == 1 and len(removed) == 2


def test_silent_window_whisper_itself_doubts_is_removed():
    kept, removed = tr.remove_invented([seg("you", no_speech_prob=0.9, avg_logprob=-1.5)], regions=None)
    assert kept == [] and "no-speech" in removed[0].reason


def test_only_invented_text_raises_no_speech_naming_the_file():
    # the noise burst at 1-3 s is "speech" to the energy detector; the phrases lie outside it
    engine = FakeEngine([seg("Thank you for watching.", 0.0), seg("Thank you for watching.", 3.2)])
    with pytest.raises(NoSpeechError) as exc:
        tr.transcribe(speechy(), engine, source="visit.m4a")
    msg = str(exc.value)
    assert msg.startswith("visit.m4a: no speech found") and msg.endswith("[E008]") and "\n" not in msg
    assert "Thank you for watching" in msg


@pytest.mark.parametrize("audio", [np.zeros(5 * SR, dtype=np.float32),
                                   (1e-3 * np.random.default_rng(1).standard_normal(5 * SR)).astype(np.float32)])
def test_silence_or_steady_noise_raises_before_decoding(audio):
    engine = FakeEngine([seg("Thank you.")])
    with pytest.raises(NoSpeechError, match="silence or steady noise"):
        tr.transcribe(audio, engine, source="quiet.wav")
    assert engine.calls == []


# --- lost speech ------------------------------------------------------------------------------------


def test_speech_with_no_words_is_a_gap():
    ws = [w for w in tr.build_transcript([seg("Berg 44 of 56", 0.0)]).segments[0].words]
    gaps = tr.find_gaps([(0.0, 5.0), (8.0, 8.5)], ws)
    assert gaps == [AudioGap(start=1.8, end=5.0)]  # 0.5 s at 8 s is too short to be sure


def test_transcript_records_speech_seconds_and_gaps():
    engine = FakeEngine([seg("tandem stance", 1.0)])  # 0.8 s of words over 3 s of speech
    t = tr.transcribe(speechy(seconds_speech=3.0), engine, source="a.wav")
    assert t.speech_seconds == pytest.approx(3.0, abs=0.1)
    assert len(t.gaps) == 1 and t.gaps[0].start == pytest.approx(2.0, abs=0.05)
    assert engine.calls[0]["prompt"] == tr.mishearings().prompt


def test_a_long_gap_is_decoded_again_and_what_it_holds_is_added():
    class TwoPass(FakeEngine):
        def decode(self, audio, *, prompt, clips):
            self.calls.append({"prompt": prompt, "clips": clips})
            if len(self.calls) == 1:  # Whisper jumped from 1.8 s to the end of the window
                return [seg("tandem stance", 1.0)]
            # the gap on its own: its words, and one that repeats a word already there
            return [seg("stance on foam three sets", 1.6)]

    engine = TwoPass([])
    t = tr.transcribe(speechy(seconds_speech=3.0), engine, source="a.wav")
    assert engine.calls[1]["clips"] == pytest.approx([1.5, 4.5], abs=0.05)  # the gap 2-4 s, 0.5 s either side
    assert t.text == "tandem stance on foam three sets"
    assert [s.text for s in t.segments] == ["tandem stance", "on foam three sets"]
    assert t.gaps == []


def test_long_silences_are_not_decoded_short_ones_are():
    assert tr.decode_clips([(0.5, 3.0), (4.0, 6.0)], 7.0) == []  # the whole file
    assert tr.decode_clips([(0.5, 3.0), (20.0, 22.0)], 40.0) == [0.0, 3.5, 19.5, 22.5]
    # a clip that reaches the end is left open (a clip end past the last frame loops forever)
    assert tr.decode_clips([(10.0, 12.0), (30.0, 39.9)], 40.0) == [9.5, 12.5, 29.5]


# --- mis-hearings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "heard, said",
    [
        ("Word balance scale was 44 out of 56.", "Berg Balance Scale was 44 out of 56."),
        ("Bird balance 44.", "Berg Balance 44."),
        ("Gate training with a walker,", "Gait training with a walker,"),
        ("then gate training.", "then gait training."),
        ("Time up and go was 14 seconds.", "Timed Up and Go was 14 seconds."),
        ("Bridges, free sets of ten.", "Bridges, three sets of ten."),
        ("Gateway training is not a mis-hearing.", "Gateway training is not a mis-hearing."),
        ("Continue your muscular re-education.", "Continue neuromuscular re-education."),
        ("The NF patterns, NPNF diagonals.", "The PNF patterns, PNF diagonals."),
    ],
)
def test_known_mishearings_are_corrected(heard, said):
    t = tr.build_transcript([seg(heard)])
    assert t.text == said


def test_a_correction_keeps_what_was_heard_and_the_offsets_stay_true():
    t = tr.build_transcript([seg("Warm up. Then Time up and go, 14 seconds."), seg("Word balance scale 44.", 9.0)])
    changed = [w for s in t.segments for w in s.words if w.heard]
    assert [w.text for w in changed] == ["Timed", "Up", "and", "Go,", "Berg", "Balance", "Scale"]
    assert {w.heard for w in changed} == {"Time up and go,", "Word balance scale"}
    for s in t.segments:
        assert t.text[s.char_start:s.char_end] == s.text
        for w in s.words:
            assert t.text[w.char_start:w.char_end] == w.text
    untouched = [w for s in t.segments for w in s.words if not w.heard]
    assert all(w.probability == 0.9 for w in untouched + changed)


def test_mishearing_file_is_validated():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        tr.Mishearings.model_validate({"prompt": "p", "corrections": [{"heard": [], "say": "x", "seen": "s"}]})
    with pytest.raises(ValidationError, match="keep it to 40"):
        tr.Mishearings.model_validate({"prompt": "word " * 60, "corrections": []})
    with pytest.raises(ValidationError):
        tr.Mishearings.model_validate({"prompt": "p", "corrections": [], "typo": 1})
    twice = [{"heard": ["gate training"], "say": "gait training", "seen": "s"},
             {"heard": ["Gate-training"], "say": "gate training", "seen": "s"}]
    with pytest.raises(ValidationError, match="in two corrections"):
        tr.Mishearings.model_validate({"prompt": "p", "corrections": twice})
    rules = tr.mishearings()
    assert len(rules.prompt.split()) <= 40 and "Berg Balance Scale" in rules.prompt


# --- writers ----------------------------------------------------------------------------------------


def _two_segments() -> Transcript:
    return tr.build_transcript([seg("Tandem stance on foam.", 0.0), seg("Berg 44.", 3661.5)])


def test_srt_and_vtt_formats():
    t = _two_segments()
    assert tr.format_transcript(t, "srt") == (
        "1\n00:00:00,000 --> 00:00:01,600\nTandem stance on foam.\n\n"
        "2\n01:01:01,500 --> 01:01:02,300\nBerg 44.\n"
    )
    assert tr.format_transcript(t, "vtt") == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.600\nTandem stance on foam.\n\n"
        "01:01:01.500 --> 01:01:02.300\nBerg 44.\n"
    )
    assert tr.format_transcript(t, "txt") == "Tandem stance on foam. Berg 44.\n"
    assert Transcript.model_validate_json(tr.format_transcript(t, "json")) == t


def test_cli_transcribe_missing_file_is_one_line():
    r = subprocess.run([sys.executable, "-m", "scribe", "transcribe", "nope.wav"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "nope.wav" in r.stderr


# --- the real model (converted tiny.en / the default model) -----------------------------------------


@pytest.fixture(scope="session")
def whisper_home(tmp_path_factory):
    """A models folder shared by the whole session: the model is converted once."""
    return tmp_path_factory.mktemp("whisper-home")


def _load_once(home: Path, model: str | None):
    old = os.environ.get("SCRIBE_HOME")
    os.environ["SCRIBE_HOME"] = str(home)
    try:
        return tr.load_engine(model)
    finally:
        if old is None:
            os.environ.pop("SCRIBE_HOME")
        else:
            os.environ["SCRIBE_HOME"] = old


@pytest.fixture(scope="session")
def engine(whisper_home):
    """The default model on the default engine, loaded once for the session."""
    return _load_once(whisper_home, None)


@pytest.fixture(scope="session")
def tiny_engine(whisper_home):
    return _load_once(whisper_home, "tiny.en")


@pytest.mark.whisper
def test_jfk_is_transcribed_word_for_word(engine):
    t = tr.transcribe_file(JFK, engine)
    assert wer(JFK_TEXT, t.text) <= 0.10, t.text
    ws = [w for s in t.segments for w in s.words]
    assert len(ws) >= 20 and all(w.probability is not None and 0 <= w.probability <= 1 for w in ws)
    assert all(0 <= w.start <= w.end <= t.duration_seconds + 0.5 for w in ws)
    assert all(t.text[w.char_start:w.char_end] == w.text for w in ws)
    s = t.segments[0]
    assert s.avg_logprob is not None and s.no_speech_prob is not None and s.compression_ratio is not None
    assert t.gaps == [] and t.removed == [] and t.speech_seconds > 5
    assert (t.engine, t.model) == ("openai-whisper", tr.models.resolve(None))


def _quiet(kind: str) -> np.ndarray:
    if kind == "zeros":
        return np.zeros(8 * SR, dtype=np.float32)
    return (0.003 * np.random.default_rng(2).standard_normal(8 * SR)).astype(np.float32)


@pytest.mark.whisper
@pytest.mark.parametrize("kind", ["zeros", "low noise"])
def test_silence_gives_no_speech_not_text(engine, kind):
    with pytest.raises(NoSpeechError, match="no speech found"):
        tr.transcribe(_quiet(kind), engine, source=f"{kind}.wav")


@pytest.mark.whisper
@pytest.mark.parametrize("kind", ["zeros", "low noise"])
def test_whisper_itself_finds_no_speech_without_the_detector(tiny_engine, kind):
    # vad=False: Whisper's no-speech probability and the invented-text checks decide.
    # (tiny.en: base runs every fallback temperature on noise, a minute or more on 2 cores)
    with pytest.raises(NoSpeechError, match="no speech found"):
        tr.transcribe(_quiet(kind), tiny_engine, source=f"{kind}.wav", vad=False)


@pytest.mark.whisper
def test_faster_whisper_engine_gives_the_same_transcript_shape(whisper_home, monkeypatch):
    pytest.importorskip("faster_whisper", reason="the optional 'fast' extra is not installed")
    monkeypatch.setenv("SCRIBE_HOME", str(whisper_home))
    t = tr.transcribe_file(JFK, tr.load_engine(engine="faster-whisper"))
    assert wer(JFK_TEXT, t.text) <= 0.10, t.text
    ws = [w for s in t.segments for w in s.words]
    assert ws and all(w.probability is not None and t.text[w.char_start:w.char_end] == w.text for w in ws)
    assert t.engine == "faster-whisper"


def _offline_prefix() -> list[str] | None:
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn"]
    return None


BLOCK_SOCKETS = (
    "import socket, sys, runpy\n"
    "def refuse(*a, **k): raise OSError('network access attempted')\n"
    "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
    "sys.argv = ['scribe'] + sys.argv[1:]\n"
    "runpy.run_module('scribe', run_name='__main__')\n"
)


@pytest.mark.whisper
def test_cli_transcribes_with_no_network(engine, whisper_home, tmp_path):
    prefix = _offline_prefix()
    cmd = [*prefix, sys.executable, "-m", "scribe"] if prefix else [sys.executable, "-c", BLOCK_SOCKETS]
    out = tmp_path / "jfk.json"
    env = dict(os.environ, SCRIBE_HOME=str(whisper_home))
    r = subprocess.run([*cmd, "transcribe", str(JFK), "--format", "json", "-o", str(out)],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    t = Transcript.model_validate(json.loads(out.read_text()))
    assert wer(JFK_TEXT, t.text) <= 0.10
