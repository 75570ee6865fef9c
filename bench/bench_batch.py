"""Batch benchmark: throughput of `scribe batch` by workers and threads, memory, overhead.

    python bench/bench_batch.py [AUDIO ...] [--model base] [--engine openai-whisper] [--files N]

AUDIO defaults to the sample dictations of samples/audio (MANIFEST.json). Each is copied
into a fresh folder, then processed from scratch, each run in its own process:

  transcription alone   load the model, decode and transcribe every file, 1 thread (the floor)
  1 worker x 1 thread   scribe batch --jobs 1 --threads 1
  1 worker x 2 threads  scribe batch --jobs 1 --threads 2
  2 workers x 1 thread  scribe batch --jobs 2 (the default on 2 cores)

and prints wall time (process start to exit), audio minutes per wall minute, peak memory
per worker (max RSS from the batch report), and the ratios the batch issue asks for:
--jobs 2 over one worker on one thread (target >= 1.7) and over --jobs 1 with two
threads (target > 1), and Scribe's overhead over transcription alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Transcription alone, in a fresh process: the same decoding and Whisper call as a worker,
# without extraction, checks, rendering, hashing, records or a pool.
ALONE = """
import json, os, resource, sys, time
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = sys.argv[3]  # numba would otherwise reset torch's OpenMP threads to all CPUs
import torch
torch.set_num_threads(int(sys.argv[3]))
from scribe.audio import load_audio
from scribe.transcribe import load_engine, transcribe
files = json.loads(sys.argv[4])
t0 = time.perf_counter()
engine = load_engine(sys.argv[1] or None, engine=sys.argv[2])
load = time.perf_counter() - t0
seconds = 0.0
for f in files:
    audio = load_audio(f)
    seconds += len(audio) / 16000
    transcribe(audio, engine, source=f)
print(json.dumps({"audio_seconds": seconds, "model_load_seconds": load,
                  "seconds": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CONFIGS = (("1 worker x 1 thread", 1, 1), ("1 worker x 2 threads", 1, 2), ("2 workers x 1 thread", 2, 1))


def sample_audio() -> list[Path]:
    manifest = ROOT / "samples" / "audio" / "MANIFEST.json"
    return [ROOT / f["file"] for f in json.loads(manifest.read_text())["files"]]


def _cpu_seconds() -> float:
    """User + system CPU seconds of the finished child processes (and theirs)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_alone(files: list[Path], model: str, engine: str, threads: int) -> dict:
    cpu = _cpu_seconds()
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", ALONE, model, engine, str(threads), json.dumps([str(f) for f in files])],
                       capture_output=True, text=True, check=True, cwd=ROOT)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - t0
    out["cpu"] = _cpu_seconds() - cpu
    return out


def run_batch(folder: Path, out: Path, model: str, engine: str, jobs: int, threads: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cpu = _cpu_seconds()
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "scribe.batch", str(folder), "--out", str(out), "--jobs", str(jobs),
                        "--threads", str(threads), "--engine", engine, "--quiet", "--format", "md,html,json"]
                       + (["--model", model] if model else []), capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu
    if r.returncode not in (0, 1):
        sys.exit(f"scribe batch failed ({r.returncode}): {r.stderr}")
    report = json.loads((out / "report.json").read_text())
    files = [f for f in report["files"] if f["status"] == "done"]
    return {
        "wall": wall,
        "cpu": cpu,
        "audio_seconds": sum(f["duration_seconds"] or 0 for f in files),
        "transcribe_seconds": sum(f["transcribe_seconds"] or 0 for f in files),
        "worker_seconds": sum(f["seconds"] or 0 for f in files),
        "model_load_seconds": sum(f["model_load_seconds"] or 0 for f in files),
        "failed": report["totals"]["failed"],
        "peak_rss_mb": report["totals"]["peak_rss_mb_per_worker"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="*", type=Path, help="recordings (default: samples/audio)")
    ap.add_argument("--model", default="", help="Whisper model (default: the registry's default)")
    ap.add_argument("--engine", default="openai-whisper")
    ap.add_argument("--files", type=int, help="use only the first N recordings")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    files = (args.audio or sample_audio())[: args.files]
    load_before = f"{os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory(prefix="scribe-bench-") as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for f in files:
            shutil.copy(f, folder / f.name)
        print(f"{len(files)} recordings, model {args.model or 'default'}, engine {args.engine}, "
              f"{os.cpu_count()} CPUs", flush=True)
        alone = run_alone(sorted(folder.iterdir()), args.model, args.engine, 1)
        minutes = alone["audio_seconds"] / 60
        print(f"  transcription alone, 1 thread: {alone['wall']:.1f} s "
              f"({minutes / (alone['wall'] / 60):.2f} audio min/min, peak {alone['peak_rss_mb']:.0f} MB)", flush=True)
        results = {}
        for name, jobs, threads in CONFIGS:
            r = run_batch(folder, Path(tmp) / f"out-{jobs}-{threads}", args.model, args.engine, jobs, threads)
            results[name] = r
            print(f"  {name}: {r['wall']:.1f} s", flush=True)
    print()
    print(f"load average before: {load_before}, after: {os.getloadavg()[0]:.2f} "
          "(other processes on the machine make wall-clock ratios unreliable)")
    print("| run | wall s | audio min / wall min | vs 1x1 | CPU s per audio min | peak MB per worker |")
    print("|---|---|---|---|---|---|")
    base = results["1 worker x 1 thread"]["wall"]
    print(f"| transcription alone (1 thread) | {alone['wall']:.1f} | {minutes / (alone['wall'] / 60):.2f} | "
          f"{base / alone['wall']:.2f} | {alone['cpu'] / minutes:.1f} | {alone['peak_rss_mb']:.0f} |")
    for name, r in results.items():
        peaks = ", ".join(f"{v:.0f}" for v in sorted(r["peak_rss_mb"].values()))
        print(f"| scribe batch, {name} | {r['wall']:.1f} | {minutes / (r['wall'] / 60):.2f} | "
              f"{base / r['wall']:.2f} | {r['cpu'] / minutes:.1f} | {peaks} |")
    one, one2, two = (results[name]["wall"] for name, _, _ in CONFIGS)
    r11 = results["1 worker x 1 thread"]
    other = r11["worker_seconds"] - r11["transcribe_seconds"] - r11["model_load_seconds"]
    print()
    print(f"--jobs 2 vs 1 worker x 1 thread: {one / two:.2f}x (target >= 1.7)")
    print(f"--jobs 2 vs --jobs 1 x 2 threads: {one2 / two:.2f}x (target > 1)")
    print(f"--jobs 1 x 2 threads vs 1 worker x 1 thread: {one / one2:.2f}x")
    print(f"Scribe over transcription alone (1 thread, wall): {100 * (r11['wall'] / alone['wall'] - 1):+.1f}% "
          f"(inside the worker, not transcribing: "
          f"{100 * other / r11['worker_seconds']:.1f}% of its time)")
    if args.json:
        args.json.write_text(json.dumps({"alone": alone, "batch": results, "files": [f.name for f in files]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
