"""Transcription benchmark: Scribe against openai-whisper's own `whisper` command.

    python bench/bench_transcribe.py [AUDIO ...] [--models tiny.en base] [--repeat 2]
    python bench/bench_transcribe.py --in-process [--engines openai-whisper faster-whisper]

Default (the command comparison): for each model, the same files go, in one process each
(model loaded once, like a user would run them), through

  whisper            openai-whisper's command with Scribe's decoding options (greedy,
                     temperature fallback, best_of 1, no conditioning on previous text,
                     word timestamps, the domain prompt, fp16 off on the CPU), on the
                     checkpoint Scribe converted, so the only difference is Scribe's path;
  scribe             `scribe transcribe` (openai-whisper engine: PyAV decoding, silence
                     skipping, hallucination checks, gap re-decoding, mishearings);
  scribe-fast        `scribe transcribe --engine faster-whisper` (int8), when installed;
  whisper-defaults   (--cli-defaults only) the `whisper` command with its own defaults
                     (beam search 5, best_of 5, conditioning on previous text).

Runs are interleaved (every runner once, then again) and the fastest of --repeat counts,
so a burst of other load on the machine hurts one run, not a runner. Printed per runner:
wall seconds (start-up and model load included), real-time factor (wall / audio
seconds), CPU seconds, peak memory of the process (wait4's ru_maxrss), word error rate
(Whisper's English normalizer), and the ratio of wall time to the `whisper` command's.

--in-process: real-time factor with the model already loaded (one warm-up run first), per
engine and model, and word error rate; it decides the default model (the more accurate one
whose real-time factor with the default engine stays <= 0.5 on the project's 2-core machine).
AUDIO defaults to jfk.flac and the synthesized dictations of samples/audio; the reference
text is jfk's (built in), a .txt beside the audio, or samples/transcripts/<name>.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
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


def whisper_args(model: str, prompt: str, *, defaults: bool = False) -> list[str]:
    """The `whisper` command on Scribe's converted checkpoint, with Scribe's decoding options."""
    from scribe import models

    ckpt = models.checkpoint_path(model)
    if not ckpt.exists():
        models.install(model)
    args = [str(Path(sys.executable).with_name("whisper")), "--model", str(ckpt), "--device", "cpu",
            "--language", "en", "--fp16", "False", "--verbose", "False", "--output_format", "txt"]
    if defaults:
        return args
    return args + [
        "--temperature", "0", "--temperature_increment_on_fallback", "0.2", "--best_of", str(tr.BEST_OF),
        "--beam_size", str(tr.BEAM_SIZE), "--condition_on_previous_text", "False",
        "--compression_ratio_threshold", str(tr.COMPRESSION_RATIO_MAX),
        "--logprob_threshold", str(tr.LOGPROB_MIN), "--no_speech_threshold", str(tr.NO_SPEECH_MIN),
        "--word_timestamps", "True", "--initial_prompt", prompt]


def runners(model: str, *, cli_defaults: bool) -> dict[str, list[str]]:
    scribe = [str(Path(sys.executable).with_name("scribe")), "transcribe", "--model", model, "--format", "txt"]
    prompt = tr.mishearings().prompt
    out = {"whisper": whisper_args(model, prompt), "scribe": scribe}
    try:
        import faster_whisper  # noqa: F401

        out["scribe-fast"] = [*scribe, "--engine", "faster-whisper"]
    except ImportError:
        print("(faster-whisper not installed: pip install 'scribe[fast]' to bench it)", file=sys.stderr)
    if cli_defaults:
        out["whisper-defaults"] = whisper_args(model, prompt, defaults=True)
    return out


def run_command(name: str, argv: list[str], files: list[Path], out_dir: Path) -> dict:
    """Run one command over all files; wall and CPU seconds, peak memory, texts written."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    if not name.startswith("scribe"):
        out = ["--output_dir", str(out_dir)]
    else:  # scribe transcribe -o is a file for one input, a folder for several
        out = ["-o", str(out_dir / f"{files[0].stem}.txt" if len(files) == 1 else out_dir)]
    cmd = [*argv, *map(str, files), *out]
    w0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - w0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # scribe exits 1 when a file had no speech: not here
        raise SystemExit(f"{name} failed ({proc.returncode}): {stderr.strip().splitlines()[-1:]}")
    texts = {p.stem: p.read_text(encoding="utf-8") for p in out_dir.glob("*.txt")}
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
            "texts": texts}


def command_table(files: list[Path], models_: list[str], repeat: int, cli_defaults: bool,
                  as_json: bool) -> list[dict]:
    seconds = sum(len(load_audio(p)) for p in files) / SAMPLE_RATE
    refs = {p.stem: reference(p) for p in files}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in models_:
            cmds = runners(model, cli_defaults=cli_defaults)
            best: dict[str, dict] = {}
            for _ in range(repeat):
                for name, argv in cmds.items():
                    r = run_command(name, argv, files, Path(tmp) / name)
                    if name not in best or r["wall"] < best[name]["wall"]:
                        best[name] = {**r, "peak_mb": max(r["peak_mb"], best.get(name, {}).get("peak_mb", 0))}
            base = best["whisper"]["wall"]
            for name, r in best.items():
                errors = words = 0.0
                for stem, ref in refs.items():
                    if ref:
                        n = len(ref.split())
                        errors, words = errors + wer(ref, r["texts"].get(stem, "")) * n, words + n
                rows.append({"model": model, "runner": name, "files": len(files),
                             "audio_seconds": round(seconds, 1), "wall_seconds": round(r["wall"], 1),
                             "rtf": round(r["wall"] / seconds, 3), "cpu_seconds": round(r["cpu"], 1),
                             "peak_mb": round(r["peak_mb"]), "wer": round(errors / words, 4) if words else None,
                             "vs_whisper": round(r["wall"] / base, 3)})
                row = rows[-1]
                print(json.dumps(row) if as_json else
                      f"{model:8} {name:16} wall {row['wall_seconds']:7.1f} s  RTF {row['rtf']:.3f}  "
                      f"CPU {row['cpu_seconds']:7.1f} s  peak {row['peak_mb']:5d} MB  WER {row['wer']}  "
                      f"vs whisper {row['vs_whisper']:.3f}", flush=True)
    return rows


def in_process(args: argparse.Namespace) -> None:
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




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="*", type=Path)
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--repeat", type=int, default=2, help="runs per runner (the fastest counts)")
    ap.add_argument("--cli-defaults", action="store_true",
                    help="also run the whisper command with its own defaults (beam search: slow)")
    ap.add_argument("--in-process", action="store_true", help="model-loaded RTF per engine instead")
    ap.add_argument("--engines", nargs="+", default=[tr.DEFAULT_ENGINE], help="with --in-process")
    ap.add_argument("--beam-size", type=int, default=tr.BEAM_SIZE, help="with --in-process; 0: greedy")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.in_process:
        in_process(args)
    else:
        command_table(args.audio or sample_audio(), args.models, args.repeat, args.cli_defaults, args.json)


if __name__ == "__main__":
    main()
