"""Extraction speed: pipeline start-up and dictations per second, single process.

Prints the ratio against a baseline measured in the same run: a bare spacy.blank("en")
tokenizer over the same texts (the floor any spaCy pipeline pays).

    python bench/bench_extract.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "transcripts"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    words = sum(len(t.split()) for t in texts)

    t0 = time.perf_counter()
    from scribe.extract import extract, get_extractor

    get_extractor()
    startup = time.perf_counter() - t0

    import spacy

    blank = spacy.blank("en")
    runs, base = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        for text in texts:
            extract(text)
        runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        for text in texts:
            blank(text)
        base.append(time.perf_counter() - t)
    per = statistics.median(runs) / len(texts)
    per_200 = per * 200 / (words / len(texts))
    print(f"pipeline start-up: {startup:.2f} s (import + build, once per process)")
    print(f"{len(texts)} dictations, {words / len(texts):.0f} words on average")
    print(f"extraction: {per * 1000:.1f} ms per dictation ({1 / per:.1f} dictations/s); "
          f"{per_200 * 1000:.1f} ms per 200 words")
    print(f"baseline (spaCy tokenizer only): {statistics.median(base) / len(texts) * 1000:.2f} ms per dictation; "
          f"ratio {statistics.median(runs) / statistics.median(base):.1f}x")


if __name__ == "__main__":
    main()
