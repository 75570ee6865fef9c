"""scribe.audio: decoding every format to 16 kHz mono float32, clear rejections, and the
energy-based voice-activity helpers. Fixtures are encoded with PyAV into tmp_path."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from scribe import audio
from scribe.audio import (
    AUDIO_EXTENSIONS,
    MIN_SECONDS,
    SAMPLE_RATE,
    SILENCE_DBFS,
    is_audio_path,
    load_audio,
    probe_duration,
    rms_dbfs,
    speech_regions,
    speech_seconds,
)
from scribe.errors import AudioError

REPO = Path(__file__).resolve().parents[1]
JFK = [REPO / "tests" / "jfk.flac", REPO.parent / "shared" / "audio" / "jfk.flac"]

# (extension, encoder, container format, encoder rate in Hz)
FORMATS = [
    ("wav", "pcm_s16le", "wav", 44100),
    ("flac", "flac", "flac", 22050),
    ("mp3", "libmp3lame", "mp3", 44100),
    ("ogg", "libopus", "ogg", 48000),
    ("opus", "libopus", "ogg", 16000),
    ("m4a", "aac", "mp4", 44100),
    ("aac", "aac", "adts", 22050),
    ("webm", "libopus", "webm", 48000),
]
TONE_HZ = 440.0
TONE_AMPLITUDE = 0.5  # -9 dBFS RMS


def tone(seconds: float, rate: int, *, hz: float = TONE_HZ, amplitude: float = TONE_AMPLITUDE):
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def encode(path: Path, channels: np.ndarray, rate: int, codec: str, container_format: str) -> Path:
    """(channels, samples) float32 -> `path` with the given FFmpeg encoder; skips if missing."""
    try:
        av.codec.Codec(codec, "w")
    except av.codec.codec.UnknownCodecError:
        pytest.skip(f"PyAV's FFmpeg has no {codec} encoder")
    channels = np.atleast_2d(channels).astype(np.float32)
    layout = "mono" if len(channels) == 1 else "stereo"
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = layout
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout=layout, rate=rate
        )
        interleaved = channels.T.reshape(1, -1)
        step = 4096 * len(channels)
        for i in range(0, interleaved.shape[1], step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(interleaved[:, i : i + step]), format="flt", layout=layout
            )
            frame.sample_rate = rate
            for out in resampler.resample(frame):
                container.mux(stream.encode(out))
        for out in resampler.resample(None):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def dominant_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)[np.argmax(spectrum)])


def rejected(path, **kwargs) -> AudioError:
    with pytest.raises(AudioError) as info:
        load_audio(path, **kwargs)
    err = info.value
    assert err.code == "E006" and err.exit_status == 2
    text = str(err)
    assert "\n" not in text and text.startswith(f"{path}: ") and text.endswith("[E006]")
    return err


# --- decoding --------------------------------------------------------------------------


@pytest.mark.parametrize("ext,codec,container_format,rate", FORMATS, ids=[f[0] for f in FORMATS])
def test_each_format_decodes_to_16k_mono_float32(tmp_path, ext, codec, container_format, rate):
    path = encode(tmp_path / f"tone.{ext}", tone(3.0, rate), rate, codec, container_format)
    x = load_audio(path)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(len(x) / SAMPLE_RATE - 3.0) < 0.15  # aac and opus add encoder priming
    assert abs(dominant_hz(x) - TONE_HZ) < 2  # resampled to the right rate
    assert abs(rms_dbfs(x) - (-9.03)) < 1.0
    declared = probe_duration(path)
    assert declared is None or abs(declared - 3.0) < 0.5


def test_stereo_44k_is_averaged_to_mono(tmp_path):
    left = tone(2.0, 44100)
    both = encode(tmp_path / "both.wav", np.stack([left, left]), 44100, "pcm_s16le", "wav")
    one = encode(tmp_path / "one.wav", np.stack([left, 0 * left]), 44100, "pcm_s16le", "wav")
    x, y = load_audio(both), load_audio(one)
    assert len(x) == 2 * SAMPLE_RATE
    assert abs(rms_dbfs(x) - rms_dbfs(left)) < 0.1  # identical channels keep their level
    assert abs(rms_dbfs(y) - (rms_dbfs(left) - 6.02)) < 0.1  # one silent channel halves it
    assert abs(dominant_hz(x) - TONE_HZ) < 2


def test_probe_duration_reads_the_header(tmp_path):
    path = write_wav(tmp_path / "a.wav", tone(4.0, SAMPLE_RATE))
    assert probe_duration(path) == pytest.approx(4.0, abs=0.01)
    with pytest.raises(AudioError, match="no such file"):
        probe_duration(tmp_path / "missing.wav")


@pytest.mark.parametrize(
    "name,expected",
    [("visit.M4A", True), ("a.wav", True), ("b.ogg", True), ("c.webm", True), ("d.aac", True),
     ("note.txt", False), ("noext", False), ("movie.mkv", False)],
)
def test_is_audio_path(name, expected):
    assert is_audio_path(name) is expected
    assert all(e.startswith(".") and e == e.lower() for e in AUDIO_EXTENSIONS)


def test_real_speech_jfk():
    path = next((p for p in JFK if p.exists()), None)
    if path is None:
        pytest.skip("jfk.flac not found in tests/ or ../shared/audio/")
    x = load_audio(path)
    assert abs(len(x) / SAMPLE_RATE - 11.0) < 0.1
    assert 6.0 < speech_seconds(x) <= 11.0


# --- rejections ---------------------------------------------------------------------------


def _truncate(path: Path, fraction: float = 0.5) -> Path:
    data = path.read_bytes()
    cut = path.with_name(f"cut_{path.name}")
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


def test_missing_directory_and_empty_files(tmp_path):
    assert "no such file" in rejected(tmp_path / "gone.m4a").message
    (tmp_path / "folder.wav").mkdir()
    assert "is a directory" in rejected(tmp_path / "folder.wav").message
    (tmp_path / "empty.mp3").write_bytes(b"")
    assert "is empty (0 bytes)" in rejected(tmp_path / "empty.mp3").message


@pytest.mark.parametrize(
    "name,content,expected",
    [
        ("transcript.wav", b"Neuro re-ed twenty minutes.\n", "is a text file, not audio"),
        ("zeros.m4a", bytes(4096), "is not an audio file"),
        ("picture.mp3", b"\x89PNG\r\n\x1a\n" + bytes(4000), "no audio stream"),
    ],
)
def test_files_that_are_not_audio(tmp_path, name, content, expected):
    (tmp_path / name).write_bytes(content)
    assert expected in rejected(tmp_path / name).message


@pytest.mark.parametrize(
    "ext,codec,container_format,expected",
    [
        ("m4a", "aac", "mp4", "'moov' box) is missing"),  # phone cut before it saved its index
        ("flac", "flac", "flac", "truncated or damaged"),  # decoder fails, or header mismatch
        ("mp3", "libmp3lame", "mp3", "its header declares 8.0 s"),  # Xing frame count
        ("webm", "libopus", "webm", "its header declares 8.0 s"),
        ("aac", "aac", "adts", "decoding failed after"),
    ],
)
def test_truncated_files_are_refused(tmp_path, ext, codec, container_format, expected):
    signal = tone(8.0, SAMPLE_RATE) * (0.6 + 0.4 * np.sin(np.linspace(0, 40, 8 * SAMPLE_RATE)))
    whole = encode(tmp_path / f"a.{ext}", signal, SAMPLE_RATE, codec, container_format)
    assert abs(len(load_audio(whole)) / SAMPLE_RATE - 8.0) < 0.15
    assert expected in rejected(_truncate(whole)).message


def test_truncated_wav_is_caught_from_its_riff_header(tmp_path):
    whole = write_wav(tmp_path / "a.wav", tone(6.0, SAMPLE_RATE))
    err = rejected(_truncate(whole))
    assert "header declares 6.0 s but only 3.0 s could be decoded" in err.message


def test_zero_length_audio(tmp_path):
    path = write_wav(tmp_path / "nothing.wav", np.zeros(0, np.float32))
    assert "contains no audio" in rejected(path).message


def test_shorter_than_a_second(tmp_path):
    path = write_wav(tmp_path / "blip.wav", tone(0.3, SAMPLE_RATE))
    err = rejected(path)
    assert "only 0.30 s long" in err.message and f"{MIN_SECONDS:g} s" in err.message
    assert len(load_audio(write_wav(tmp_path / "ok.wav", tone(1.0, SAMPLE_RATE)))) == SAMPLE_RATE


def test_too_long_is_refused_from_the_header_without_decoding(tmp_path, monkeypatch):
    path = write_wav(tmp_path / "long.wav", tone(40.0, SAMPLE_RATE))

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded a file its header already showed was too long")

    monkeypatch.setattr(audio, "_decode", no_decoding)
    err = rejected(path, max_seconds=10)
    assert "is 40.0 s long; the limit is 10.0 s" in err.message


def test_too_long_stops_decoding_at_the_limit(tmp_path):
    # declared 12 s is within the header tolerance of an 11.8 s limit, so decoding decides
    path = write_wav(tmp_path / "long.wav", tone(12.0, SAMPLE_RATE))
    assert "longer than the limit of 11.8 s" in rejected(path, max_seconds=11.8).message
    assert len(load_audio(path, max_seconds=12.0)) == 12 * SAMPLE_RATE


def test_long_files_use_minutes_in_messages(tmp_path):
    path = write_wav(tmp_path / "long.wav", tone(200.0, 8000), rate=8000)
    assert "is 3.3 min long; the limit is 2.0 min" in rejected(path, max_seconds=120).message


# --- level and voice activity ---------------------------------------------------------------


def voice_like(seconds: float, *, amplitude: float = 0.3) -> np.ndarray:
    """A buzzy 150 Hz tone with harmonics and a syllable-rate wobble, like a vowel train."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    buzz = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 6))
    wobble = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return (amplitude * buzz * wobble / 2).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def test_rms_dbfs():
    assert rms_dbfs(tone(1.0, SAMPLE_RATE, amplitude=1.0)) == pytest.approx(-3.01, abs=0.01)
    assert rms_dbfs(np.full(100, 0.5, np.float32)) == pytest.approx(-6.02, abs=0.01)
    assert rms_dbfs(silence(1.0)) == SILENCE_DBFS
    assert rms_dbfs(np.zeros(0, np.float32)) == SILENCE_DBFS


def test_speech_regions_find_bursts_between_silences():
    x = np.concatenate([silence(1.0), voice_like(1.0), silence(1.0), voice_like(0.5), silence(1.5)])
    regions = speech_regions(x)
    assert len(regions) == 2
    for (start, end), (want_start, want_end) in zip(regions, [(1.0, 2.0), (3.0, 3.5)]):
        assert abs(start - want_start) <= 0.03 and abs(end - want_end) <= 0.03
    assert speech_seconds(x) == pytest.approx(1.5, abs=0.06)
    assert all(isinstance(v, float) for region in regions for v in region)


def test_speech_regions_in_steady_noise():
    rng = np.random.default_rng(0)
    x = np.concatenate([silence(1.0), voice_like(2.0), silence(1.0), voice_like(1.0), silence(1.0)])
    noise = rng.standard_normal(len(x)).astype(np.float32)
    noise *= 10 ** ((rms_dbfs(voice_like(1.0)) - 15) / 20)  # 15 dB below the voice
    regions = speech_regions(x + noise)
    assert [(round(s), round(e)) for s, e in regions] == [(1, 3), (4, 5)]
    assert speech_regions(noise) == []  # steady noise alone is not speech


def test_silence_clicks_and_short_gaps():
    assert speech_regions(silence(5.0)) == [] and speech_seconds(silence(5.0)) == 0.0
    rng = np.random.default_rng(1)
    quiet = rng.standard_normal(5 * SAMPLE_RATE).astype(np.float32) * 10 ** (-70 / 20)
    assert speech_seconds(quiet) == 0.0  # room tone well under VAD_MIN_DBFS
    click = np.concatenate([silence(1.0), voice_like(0.06), silence(1.0)])
    assert speech_regions(click) == []  # under VAD_MIN_SPEECH_S
    gap = np.concatenate(
        [silence(0.5), voice_like(1.0), silence(0.2), voice_like(1.0), silence(0.5)]
    )
    assert len(speech_regions(gap)) == 1  # a 0.2 s pause stays inside one region
    assert speech_regions(np.zeros(0, np.float32)) == []


def test_speech_regions_rejects_multichannel_arrays():
    with pytest.raises(ValueError, match="mono"):
        speech_regions(np.zeros((2, 100), np.float32))
