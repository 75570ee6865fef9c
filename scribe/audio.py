"""Decode any dictation file to 16 kHz mono float32, and reject bad audio clearly.

PyAV (the `av` package, which bundles FFmpeg's libraries, so no ffmpeg program is
needed) reads m4a, mp3, wav, flac, ogg/opus, webm and aac. Decoding streams frame by
frame into one growing buffer; the declared length is checked before decoding, so an
over-long file is refused without being decoded, and decoding stops at the limit.

A damaged or truncated file is refused, never transcribed in part, because a note
built from half a dictation looks complete. Three signs are used:
- FFmpeg cannot open the file at all (an m4a cut before its index, the usual case);
- the decoder fails mid-stream (flac, aac and damaged packets);
- less audio decodes than the header declares (flac, m4a/mp4, webm/mkv, mp3 with a
  Xing/Info/VBRI length header, and wav, whose RIFF header is read directly).
Ogg files, raw ADTS aac and mp3 files without a length header only estimate their
length from the data present, so a cut there reads as a shorter, valid recording.

Channels are averaged to mono (so identical channels keep their level), then
resampled by FFmpeg's resampler. The energy-based voice-activity helpers below are
pure numpy; they tell silence and lost speech apart, they are not a speech detector.
"""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np

from .errors import AudioError

SAMPLE_RATE = 16000  # Hz: what Whisper listens at
DEFAULT_MAX_SECONDS = 30 * 60  # s: the longest dictation accepted unless told otherwise
MIN_SECONDS = 1.0  # s: anything shorter is a slip of the record button, not a dictation
AUDIO_EXTENSIONS = frozenset(
    {".m4a", ".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".webm", ".aac"}
)

# Truncation: decoded audio may fall short of the declared length by encoder priming
# and rounding; a shortfall larger than both of these means the file was cut.
TRUNCATION_TOLERANCE_S = 1.0  # s
TRUNCATION_TOLERANCE_FRACTION = 0.02  # of the declared length
# A declared length over the limit by more than this is refused before decoding
# (headers of some formats only estimate it; decoding then enforces the exact limit).
OVERLENGTH_TOLERANCE_FRACTION = 0.05  # of the limit
# FFmpeg demuxer names whose header states the exact length (FLAC STREAMINFO, MP4 moov,
# Matroska Duration); mp3 only with a length header, wav through its RIFF header.
EXACT_LENGTH_FORMATS = frozenset({"flac", "mov", "mp4", "m4a", "matroska", "webm"})
MP3_LENGTH_TAGS = (b"Xing", b"Info", b"VBRI")
MP3_FIRST_FRAME_BYTES = 4096  # bytes after the ID3v2 tag searched for a length tag
SNIFF_BYTES = 4096  # bytes read to tell a text file from audio

# Voice activity (energy based).
VAD_FRAME_MS = 30  # ms: analysis frame (and hop)
VAD_MIN_DBFS = -50.0  # dBFS: a frame quieter than this is never speech
VAD_MARGIN_DB = 8.0  # dB: speech stands at least this far above the noise floor
VAD_NOISE_PERCENTILE = 10.0  # %: the quietest frames estimate the noise floor
VAD_MIN_SPEECH_S = 0.2  # s: shorter bursts are clicks and bumps, not words
VAD_MAX_GAP_S = 0.3  # s: pauses this short stay inside one region
SILENCE_DBFS = -120.0  # dBFS: reported for digital silence instead of -inf


def is_audio_path(path: str | Path) -> bool:
    """True when the file name has one of AUDIO_EXTENSIONS (case-insensitive)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def probe_duration(path: str | Path) -> float | None:
    """Seconds of audio the container declares (no decoding), or None when it does not say.

    Raises AudioError for a file that is missing, empty or not audio.
    """
    p = _checked_file(path)
    with _open(p) as container:
        return _declared_seconds(container, _audio_stream(container, p))


def load_audio(path: str | Path, *, max_seconds: float = DEFAULT_MAX_SECONDS) -> np.ndarray:
    """The whole file as a 1-D float32 array at SAMPLE_RATE, mono (normally within [-1, 1]).

    Raises AudioError (one line, naming the file) for anything that is not a usable
    dictation: missing, empty, not audio, damaged, truncated, shorter than MIN_SECONDS
    or longer than `max_seconds`.
    """
    p = _checked_file(path)
    with _open(p) as container:
        stream = _audio_stream(container, p)
        declared = _declared_seconds(container, stream)
        if declared is not None and declared > max_seconds * (1 + OVERLENGTH_TOLERANCE_FRACTION):
            raise AudioError(
                f"is {_span(declared)} long; the limit is {_span(max_seconds)}", path=str(p)
            )
        exact = _exact_seconds(p, container, declared)
        audio = _decode(container, stream, p, max_seconds=max_seconds, expected=declared)

    seconds = len(audio) / SAMPLE_RATE
    if exact is not None and exact - seconds > max(
        TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_FRACTION * exact
    ):
        raise AudioError(
            f"is truncated or damaged: its header declares {_span(exact)} "
            f"but only {_span(seconds)} could be decoded",
            path=str(p),
        )
    if len(audio) == 0:
        raise AudioError("contains no audio (zero samples decoded)", path=str(p))
    if seconds < MIN_SECONDS:
        raise AudioError(
            f"is only {seconds:.2f} s long; a dictation needs at least {MIN_SECONDS:g} s",
            path=str(p),
        )
    return audio


# --- opening and checking ---------------------------------------------------------


def _checked_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise AudioError("no such file", path=str(p))
    if p.is_dir():
        raise AudioError("is a directory, expected an audio file", path=str(p))
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise AudioError(f"cannot be read: {exc.strerror}", path=str(p)) from exc
    if size == 0:
        raise AudioError("is empty (0 bytes)", path=str(p))
    return p


def _open(p: Path) -> av.container.InputContainer:
    try:
        return av.open(str(p), mode="r")
    except av.error.InvalidDataError as exc:
        raise AudioError(_not_audio(p), path=str(p)) from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise AudioError(f"cannot be opened as audio: {_reason(exc)}", path=str(p)) from exc


def _audio_stream(container: av.container.InputContainer, p: Path) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise AudioError(_not_audio(p, "it has no audio stream"), path=str(p))
    return container.streams.audio[0]


def _not_audio(p: Path, why: str = "FFmpeg cannot read it") -> str:
    """Why FFmpeg refused the file, as precisely as its first bytes tell."""
    try:
        with p.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        return f"cannot be read: {_reason(exc)}"
    if head[4:8] == b"ftyp":
        return (
            "is a damaged or truncated MP4/M4A file: its index ('moov' box) is missing, "
            "as when a recording stops before it is saved"
        )
    try:
        head.decode("utf-8")
        is_text = b"\x00" not in head
    except UnicodeDecodeError:
        is_text = False
    return "is a text file, not audio" if is_text else f"is not an audio file ({why})"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _declared_seconds(container, stream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


def _exact_seconds(p: Path, container, declared: float | None) -> float | None:
    """The length the header promises, where it states one exactly (else None)."""
    names = set(container.format.name.split(","))
    if "wav" in names:
        return _riff_declared_seconds(p)
    if names & EXACT_LENGTH_FORMATS:
        return declared
    if "mp3" in names and _mp3_has_length_tag(p):
        return declared
    return None


def _riff_declared_seconds(p: Path) -> float | None:
    """Seconds the RIFF 'data' chunk declares (FFmpeg trims this to the file it sees)."""
    with p.open("rb") as fh:
        if fh.read(12)[8:12] != b"WAVE":
            return None
        byte_rate = None
        while True:
            header = fh.read(8)
            if len(header) < 8:
                return None
            chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"fmt ":
                fmt = fh.read(size + (size & 1))
                byte_rate = struct.unpack("<I", fmt[8:12])[0] if len(fmt) >= 12 else None
            elif chunk_id == b"data":
                # 0 and 0xFFFFFFFF mark a file written by a recorder that never came back
                # to fill in the size; nothing is promised then.
                if not byte_rate or size in (0, 0xFFFFFFFF):
                    return None
                return size / byte_rate
            else:
                fh.seek(size + (size & 1), 1)


def _mp3_has_length_tag(p: Path) -> bool:
    with p.open("rb") as fh:
        head = fh.read(10)
        offset = 0
        if head[:3] == b"ID3" and len(head) == 10:
            # ID3v2 size: four 7-bit bytes, not counting the 10-byte header
            offset = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
        fh.seek(offset)
        frame = fh.read(MP3_FIRST_FRAME_BYTES)
    return any(tag in frame for tag in MP3_LENGTH_TAGS)


# --- decoding -----------------------------------------------------------------------


def _decode(
    container, stream, p: Path, *, max_seconds: float, expected: float | None
) -> np.ndarray:
    """Stream-decode into one preallocated buffer that grows only if the header under-declared."""
    limit = round(max_seconds * SAMPLE_RATE)
    guess = int(expected * SAMPLE_RATE) + SAMPLE_RATE if expected else 60 * SAMPLE_RATE
    buffer = np.empty(max(1, min(guess, limit + SAMPLE_RATE)), dtype=np.float32)
    filled = 0
    resampler, setup = None, None

    def append(frames) -> None:
        nonlocal buffer, filled
        for out in frames:
            mono = _to_mono(out)
            end = filled + len(mono)
            if end > limit:
                raise AudioError(
                    f"is longer than the limit of {_span(max_seconds)} "
                    "(decoding stopped there)",
                    path=str(p),
                )
            if end > len(buffer):
                buffer.resize(min(max(end, int(len(buffer) * 1.5)), limit), refcheck=False)
            buffer[filled:end] = mono
            filled = end

    try:
        for frame in container.decode(stream):
            key = (frame.format.name, frame.layout.name, frame.sample_rate)
            if key != setup:  # a stream may change layout or rate mid-way
                if resampler is not None:
                    append(resampler.resample(None))
                resampler = av.AudioResampler(format="flt", layout=frame.layout, rate=SAMPLE_RATE)
                setup = key
            append(resampler.resample(frame))
        if resampler is not None:
            append(resampler.resample(None))
    except av.error.FFmpegError as exc:
        raise AudioError(
            f"is truncated or damaged: decoding failed after {_span(filled / SAMPLE_RATE)} "
            f"({_reason(exc)})",
            path=str(p),
        ) from exc
    buffer.resize(filled, refcheck=False)
    return buffer


def _to_mono(frame: av.AudioFrame) -> np.ndarray:
    """Packed float frame -> 1-D float32, channels averaged."""
    data = frame.to_ndarray().reshape(-1)
    channels = len(frame.layout.channels)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return data


def _span(seconds: float) -> str:
    """A length a person reads at a glance: '12.3 s', '31.0 min', '3.0 h'."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


# --- level and voice activity (pure numpy) -------------------------------------------


def rms_dbfs(audio: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale (SILENCE_DBFS for zeros)."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return SILENCE_DBFS
    power = float(np.einsum("i,i->", x, x, dtype=np.float64)) / x.size
    return _power_to_dbfs(power)


def frame_dbfs(
    audio: np.ndarray, *, frame_ms: float = VAD_FRAME_MS, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Level of each consecutive frame in dBFS (DC removed); the last frame may be partial."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono 1-D audio, got shape {x.shape}")
    size = max(1, round(frame_ms * sample_rate / 1000))
    full = len(x) // size
    frames = x[: full * size].reshape(full, size)
    sums = frames.sum(axis=1, dtype=np.float64)
    squares = np.einsum("ij,ij->i", frames, frames, dtype=np.float64)
    power = squares / size - (sums / size) ** 2
    if len(x) % size:
        tail = x[full * size :].astype(np.float64)
        power = np.append(power, tail.var())
    with np.errstate(divide="ignore"):
        levels = 10 * np.log10(np.maximum(power, 0.0))
    return np.maximum(levels, SILENCE_DBFS)


def speech_regions(
    audio: np.ndarray,
    *,
    frame_ms: float = VAD_FRAME_MS,
    sample_rate: int = SAMPLE_RATE,
    min_dbfs: float = VAD_MIN_DBFS,
    margin_db: float = VAD_MARGIN_DB,
    min_speech_s: float = VAD_MIN_SPEECH_S,
    max_gap_s: float = VAD_MAX_GAP_S,
) -> list[tuple[float, float]]:
    """(start, end) seconds of stretches loud enough to be speech.

    A frame is active when it is above `min_dbfs` and `margin_db` above the noise floor
    (the VAD_NOISE_PERCENTILE quietest frames); active frames closer than `max_gap_s`
    join, and regions shorter than `min_speech_s` are dropped.
    """
    levels = frame_dbfs(audio, frame_ms=frame_ms, sample_rate=sample_rate)
    if levels.size == 0:
        return []
    floor = float(np.percentile(levels, VAD_NOISE_PERCENTILE))
    active = levels > max(min_dbfs, floor + margin_db)
    frame_s = frame_ms / 1000
    duration = len(audio) / sample_rate

    # runs of active frames: edges where the boolean changes
    edges = np.flatnonzero(np.diff(np.concatenate(([0], active.astype(np.int8), [0]))))
    runs = list(zip(edges[::2], edges[1::2]))
    regions: list[tuple[float, float]] = []
    for start, end in runs:
        s, e = float(start * frame_s), float(min(end * frame_s, duration))
        if regions and s - regions[-1][1] <= max_gap_s + 1e-9:
            regions[-1] = (regions[-1][0], e)
        else:
            regions.append((s, e))
    return [(round(s, 3), round(e, 3)) for s, e in regions if e - s >= min_speech_s - 1e-9]


def speech_seconds(audio: np.ndarray, **options) -> float:
    """Total seconds of speech_regions (same keyword options)."""
    return round(sum(e - s for s, e in speech_regions(audio, **options)), 3)


def _power_to_dbfs(power: float) -> float:
    if power <= 0:
        return SILENCE_DBFS
    # dBFS of a full-scale sine is -3 dB by this (RMS) definition; a full-scale square is 0
    return max(SILENCE_DBFS, 10 * float(np.log10(power)))
