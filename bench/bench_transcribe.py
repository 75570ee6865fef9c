"""Transcription benchmark: real-time factor and word error rate per model and engine.

    python bench/bench_transcribe.py [AUDIO ...] [--models tiny.en base] [--engines openai-whisper]

AUDIO defaults to jfk.flac and the synthesized dictations of samples/audio; the reference
text is jfk's (built in), a .txt beside the audio, or samples/transcripts/<name>.txt. The real-time factor is wall-clock seconds of transcription per second of audio
(model already loaded, one warm-up run first), also given as CPU seconds per second.
The default model is the more accurate one whose real-time factor with the default
engine stays <= 0.5 on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scribe import transcribe as tr  # noqa: E402
from scribe.audio import SAMPLE_RATE, load_audio  # noqa: E402

JFK = ROOT / "tests" / "jfk.flac"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def wer(ref: str, hyp: str) -> float:
    """Word error rate after Whisper's English normalizer (case, punctuation, numbers)."""
    from whisper.normalizers import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    r, h = norm(ref).split(), norm(hyp).split()
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
    return d[len(h)] / max(1, len(r))


def reference(path: Path) -> str | None:
    """jfk's text, a .txt beside the audio, or the sample transcript of the same name."""
    if path.resolve() == JFK.resolve():
        return JFK_TEXT
    for txt in (path.with_suffix(".txt"), ROOT / "samples" / "transcripts" / f"{path.stem}.txt"):
        if txt.exists():
            return txt.read_text(encoding="utf-8")
    return None


def sample_audio() -> list[Path]:
    """jfk.flac and the synthesized sample dictations (samples/audio/MANIFEST.json)."""
    manifest = ROOT / "samples" / "audio" / "MANIFEST.json"
    files = [ROOT / f["file"] for f in json.loads(manifest.read_text())["files"]] if manifest.exists() else []
    return [JFK, *files]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="*", type=Path)
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--engines", nargs="+", default=[tr.DEFAULT_ENGINE])
    ap.add_argument("--repeat", type=int, default=1, help="runs per file (the fastest counts)")
    ap.add_argument("--beam-size", type=int, default=tr.BEAM_SIZE, help="0: greedy (to compare)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tr.BEAM_SIZE = args.beam_size or None
    audio = {p: load_audio(p) for p in (args.audio or sample_audio())}
    seconds = sum(len(a) for a in audio.values()) / SAMPLE_RATE
    rows = []
    for engine_name in args.engines:
        for model in args.models:
            t0 = time.perf_counter()
            engine = tr.load_engine(model, engine=engine_name)
            load_s = time.perf_counter() - t0
            tr.transcribe(next(iter(audio.values())), engine)  # warm-up (JIT, caches)
            wall = cpu = 0.0
            errors, words = 0.0, 0
            for p, a in audio.items():
                best_wall = best_cpu = float("inf")
                for _ in range(args.repeat):
                    w0, c0 = time.perf_counter(), time.process_time()
                    t = tr.transcribe(a, engine, source=str(p))
                    best_wall = min(best_wall, time.perf_counter() - w0)
                    best_cpu = min(best_cpu, time.process_time() - c0)
                wall, cpu = wall + best_wall, cpu + best_cpu
                ref = reference(p)
                if ref:
                    n = len(ref.split())
                    errors, words = errors + wer(ref, t.text) * n, words + n
            rows.append({"engine": engine_name, "model": model, "beam_size": tr.BEAM_SIZE,
                         "audio_seconds": round(seconds, 1),
                         "load_seconds": round(load_s, 2), "rtf": round(wall / seconds, 3),
                         "cpu_rtf": round(cpu / seconds, 3),
                         "wer": round(errors / words, 4) if words else None})
            print(json.dumps(rows[-1]) if args.json else
                  f"{engine_name:15} {model:8} beam {tr.BEAM_SIZE} RTF {rows[-1]['rtf']:.3f} (CPU {rows[-1]['cpu_rtf']:.3f})  "
                  f"WER {rows[-1]['wer']}  load {rows[-1]['load_seconds']} s  over {seconds:.0f} s of audio",
                  flush=True)


if __name__ == "__main__":
    main()
