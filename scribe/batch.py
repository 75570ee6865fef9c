"""Batch: a folder of dictations -> a checked draft note for each, a report for all.

    scribe batch DIR [--out OUTDIR] [--jobs N] [--threads N] [--engine E] [--model M]
                     [--format md,html,json] [--method cms|ama] [--manifest FILE]
                     [--retry-failed] [--watch] [--dask-scheduler ADDRESS] [--save]

What it does, and what it promises:

- Finds recordings (AUDIO_EXTENSIONS) and .txt transcripts under DIR, recursively. Hidden
  files and folders, other files, and OUTDIR itself are skipped; skipped files are listed
  in the report. NAME.json / NAME.yaml beside a recording is its sidecar (metadata.py).
- Session metadata (patient, date of service, therapist, payer, diagnosis codes) comes
  from the manifest, the sidecar, the file name (2026-11-26_PT-0042_jdoe.m4a) and what
  was said, in that order; missing metadata is a finding, never a guess (metadata.py).
- Resumable: a file is keyed by the SHA-256 of its bytes and every setting that changes
  its note (engine, model, method, formats, metadata, Scribe's version and rule files).
  A re-run skips files whose key is unchanged, re-does those whose key changed, and
  reuses the transcript when only the note settings changed. Files that failed stay
  failed until they change (or --retry-failed). Only this process writes, each output
  atomically (temp file + rename) and recorded in two phases, so a crash or SIGKILL
  leaves no half-written file, and a re-run finishes the rest.
- Drafts go to a DraftSink. FilesystemSink writes OUTDIR/<path>/<name>.{md,html,json}
  (the JSON is the Note, always written) and never overwrites a draft that was edited
  or signed (a `<name>.signed` file beside it): a changed recording then gets a new
  version, <name>.v2.md.
- --save (StoreSink, around FilesystemSink) also puts every new draft in the draft store
  for review and signing (scribe/store, $SCRIBE_HOME), with its recording and --method,
  and its ID in the report (`draft_id`). Nothing in the store is ever changed: a changed
  recording makes a new store draft beside the old one, edited, signed or not. An intact
  draft the store does not have yet (written without --save, or the store failed) is
  stored by the next --save run. A store error stops the batch with one line (exit 2);
  the drafts already written stay.
- Parallel: --jobs worker processes (default: CPUs), each loading the model once, each
  with max(1, CPUs // jobs) threads. At most 2 x jobs files are in flight and audio is
  decoded in the worker, so memory is bounded whatever the folder size. The per-file
  work, `process_file(job, settings)`, is a pure function that writes nothing, so it
  also runs on Dask (executors.py).
- Errors stay with their file: a corrupt, empty, too short, silent or unreadable file is
  reported with its reason and how to fix it, and the batch goes on. A model that does
  not load stops the batch (it is no file's fault).
- Report: OUTDIR/report.json and OUTDIR/report.html (an index linking every note).
- Watch mode (--watch) takes each new or changed recording once its size and time have
  been stable for SETTLE_SECONDS, until stopped. Ctrl-C (or SIGTERM) finishes the files
  in hand, writes the report and exits; a second Ctrl-C abandons them.

Exit status: 0 every file has its note; 1 some files failed (listed in the report);
2 a usage error (bad option, DIR not a folder, bad manifest, OUTDIR in use, the draft
store cannot be opened or written); 130 a
batch stopped by Ctrl-C before the end (run it again to finish).

OUTDIR holds report.json, report.html, the drafts (folders as under DIR; two inputs of one
name, visit.m4a and visit.txt, become visit_m4a.* and visit_txt.*) and .scribe-batch/:
`lock` (one batch per OUTDIR) and `records/`, one JSON DraftRecord per input (its key,
outputs with their SHA-256, version, last report line). Delete OUTDIR/.scribe-batch to
start afresh; drafts already there are then never overwritten (they get new versions).

Library: run_batch() / watch_batch() return a BatchReport and take an Executor
(executors.py), a DraftSink (StoreSink(FilesystemSink(out), open_store()) stores drafts
too) and an `on_event` callback for progress; they print nothing.
add_parser() and cmd_batch() are the command; `python -m scribe.batch DIR ...` runs it
alone. `--engine module:factory` loads a plug-in Engine (scribe.transcribe.Engine),
e.g. a stand-in in tests. Needs tqdm for the progress bar (plain lines without it),
PyYAML for .yaml sidecars, and dask[distributed] for --dask-scheduler.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import BrokenExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote

from pydantic import ConfigDict, Field, field_validator

from . import __version__
from . import metadata as md
from .errors import InputError, ModelError, ScribeError, UsageError
from .executors import (THREAD_ENV_VARS, DaskExecutor, Executor, ProcessExecutor, cpu_count,
                        threads_per_worker)
from .fileio import write_atomic
from .schema import Method, Model, Note, Severity, Transcript

if TYPE_CHECKING:
    from .store import Store

FORMATS = ("md", "html", "txt", "json")  # in the order they are written; json always
DEFAULT_FORMATS = ("md", "html", "json")
TEXT_SUFFIXES = frozenset({".txt"})
STATE_DIR = ".scribe-batch"  # inside OUTDIR: records, lock
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
HASH_CHUNK_BYTES = 1 << 20  # bytes read at a time when hashing a recording
WAIT_SECONDS = 0.5  # s: how often the batch looks up from its workers (to notice Ctrl-C)
SETTLE_SECONDS = 3.0  # s: watch mode takes a file once its size and time were this stable
POLL_SECONDS = 1.0  # s: watch mode looks at the folder this often
WATCH_REPORT_SECONDS = 5.0  # s: at most this often the watch rewrites the report
SIGNED_SUFFIX = ".signed"  # <name>.signed beside a draft marks it signed (store drafts are signed in the store)
BYTES_PER_MB = 1024 * 1024
SEVERITIES = tuple(s.value for s in Severity)  # error, warning, info
# package data that changes notes: a new rule or template re-does every note
RULE_PACKAGES = ("scribe.data", "scribe.extract.rules", "scribe.templates")

# How to fix a failed file: (error code, words in the reason, what to do). First match wins.
FIXES: tuple[tuple[str, str, str], ...] = (
    ("E006", "is empty", "The file has no data: copy it again from the recorder, or dictate again."),
    ("E006", "zero samples", "The file holds no sound: copy it again from the recorder, or dictate again."),
    ("E006", "text file", "This is text, not a recording: if it is a transcript, name it .txt."),
    ("E006", "truncated", "The recording was cut short (a copy or upload that stopped, or a recorder "
                          "that did not finish saving): copy it again from the device."),
    ("E006", "a dictation needs at least", "It is shorter than a second (a slip of the record button): "
                                           "delete it, or dictate again."),
    ("E006", "limit", "Split the recording into dictations under the length limit."),
    ("E006", "no such file", "The file was moved or deleted during the batch: run the batch again."),
    ("E006", "cannot be read", "Scribe may not read the file: check its permissions."),
    ("E006", "", "Scribe cannot read this as audio: export it again as m4a, mp3, wav or flac."),
    ("E008", "", "No speech was heard: check the microphone and its volume, then dictate again."),
    ("E002", "changed while", "The file changed while it was processed: run the batch again once it is complete."),
    ("E002", "sidecar", "Fix the sidecar file named above (or delete it): keys and formats are in the docs."),
    ("E002", "cannot be read", "Scribe may not read the file: check its permissions."),
    ("E002", "empty", "The transcript is empty: dictate again, or delete the file."),
    ("E002", "", "Make it a UTF-8 text transcript, or move it out of the folder."),
    ("E000", "", "An internal error in Scribe: report it with this line. The other files are not affected."),
    ("", "", "See the reason above."),
)

__all__ = ["BatchSettings", "FileJob", "FileResult", "FileReport", "BatchReport", "Totals", "Event",
           "DraftSink", "DraftRecord", "FilesystemSink", "StoreSink", "discover", "process_file", "run_batch",
           "watch_batch", "write_report", "add_parser", "cmd_batch", "main"]


# --- settings, jobs, results ---------------------------------------------------------------------


class BatchSettings(Model):
    """Everything that decides a file's note, plus how many threads its worker uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: str = "openai-whisper"  # an engine name, or "module:factory" (a plug-in Engine)
    model: str | None = None  # None: the registry's default model
    method: Method = Method.cms
    formats: tuple[str, ...] = DEFAULT_FORMATS
    threads: int = Field(1, ge=1, description="transcription threads in each worker (not in the key)")

    @field_validator("formats")
    @classmethod
    def _json_always(cls, formats: tuple[str, ...]) -> tuple[str, ...]:
        """The JSON (the Note) is always written: resume reuses its transcript, --save stores it."""
        return formats if "json" in formats else (*formats, "json")

    def output_key(self) -> dict[str, Any]:
        """The settings that change a note (threads do not)."""
        return {"engine": self.engine, "model": _model_name(self.model), "method": self.method.value,
                "formats": list(self.formats)}


@dataclass(frozen=True)
class Found:
    """A recording or transcript found under the batch folder."""

    path: Path
    rel: str  # posix path relative to the folder: the file's identity in records and report
    kind: Literal["audio", "text"]
    base: str  # output path relative to OUTDIR, without version or suffix
    size: int
    mtime_ns: int
    duration: float | None = None  # seconds the container declares (None: unknown or text)


@dataclass(frozen=True)
class Skipped:
    rel: str
    reason: str


@dataclass(frozen=True)
class FileJob:
    """One file's work: all `process_file` needs, picklable, so it can run anywhere."""

    path: str
    rel: str
    kind: Literal["audio", "text"]
    sha256: str
    layers: tuple[md.Layer, ...] = ()
    transcript: Transcript | None = None  # a transcript to reuse (the recording did not change)


@dataclass
class FileResult:
    """What `process_file` returns: the note's renderings and a summary, or why there are none."""

    rel: str
    ok: bool
    rendered: dict[str, str] = field(default_factory=dict)  # format -> text (json: the Note)
    units: dict[str, int] = field(default_factory=dict)
    total_units: int = 0
    findings: dict[str, int] = field(default_factory=dict)  # severity -> count
    meta_sources: dict[str, str] = field(default_factory=dict)
    duration_seconds: float | None = None
    engine: str | None = None
    model: str | None = None
    seconds: float = 0.0  # in the worker, from start to rendered
    transcribe_seconds: float = 0.0  # of which decoding and transcribing audio
    model_load_seconds: float = 0.0  # of which loading the model (a worker's first file only)
    reused_transcript: bool = False
    error: str | None = None
    code: str | None = None
    worker: str = ""  # host:pid, for memory per worker
    peak_rss_mb: float | None = None


class FileReport(Model):
    """One line of the report."""

    source: str
    status: Literal["done", "unchanged", "failed", "skipped"]
    kind: Literal["audio", "text"] | None = None
    reason: str | None = None
    code: str | None = None
    fix: str | None = None
    remark: str | None = None  # e.g. "the edited draft v1 is kept; this is v2"
    duration_seconds: float | None = None
    engine: str | None = None
    model: str | None = None
    seconds: float | None = Field(None, description="processing time in the worker")
    transcribe_seconds: float | None = None
    model_load_seconds: float | None = None
    units: dict[str, int] = {}
    total_units: int | None = None
    findings: dict[str, int] = {}
    outputs: dict[str, str] = Field({}, description="format -> path relative to OUTDIR")
    version: int | None = None
    draft_id: int | None = Field(None, description="the note's ID in the draft store (--save)")
    meta: dict[str, str] = Field({}, description="metadata field -> where it came from")
    worker: str | None = None
    peak_rss_mb: float | None = None


class Totals(Model):
    files: int = 0
    done: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    audio_minutes: float = Field(0.0, description="audio processed in this run")
    wall_seconds: float = 0.0
    audio_minutes_per_wall_minute: float | None = None
    units: dict[str, int] = {}
    findings: dict[str, int] = {}
    peak_rss_mb_per_worker: dict[str, float] = {}


class BatchReport(Model):
    scribe_version: str
    folder: str
    out: str
    settings: dict[str, Any]
    jobs: int
    threads: int
    started: str
    finished: str | None = None
    interrupted: bool = False
    totals: Totals = Totals()
    files: list[FileReport] = []
    skipped: list[FileReport] = []
    unused_manifest_rows: list[str] = []

    @property
    def exit_status(self) -> int:
        return 1 if self.totals.failed else 0


@dataclass(frozen=True)
class Event:
    """Progress, for whoever shows it: kind "plan" (totals known), "file" (one file
    finished, `row`), "idle" (watch mode is waiting)."""

    kind: Literal["plan", "file", "idle"]
    totals: Totals
    files_total: int | None = None
    audio_seconds_total: float | None = None
    row: FileReport | None = None
    fresh: bool = False  # the file was processed in this run (not found done or failed before)


# --- finding the files ----------------------------------------------------------------------------


def _is_under(path: Path, folder: Path | None) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def discover(root: Path, *, exclude: Path | None = None, probe: bool = True) -> Iterator[Found | Skipped]:
    """Recordings and .txt transcripts under `root`, one folder at a time (never a whole
    listing in memory). In each folder the longest recordings come first (so parallel
    workers finish together), then transcripts. `exclude` (OUTDIR) is not entered."""
    from .audio import AUDIO_EXTENSIONS, probe_duration

    root = root.resolve()
    exclude = exclude.resolve() if exclude is not None else None
    stack = [root]
    while stack:
        folder = stack.pop()
        rel_dir = folder.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(prefix or ".", f"folder cannot be read: {exc.strerror}")
            continue
        files, subdirs, others = [], [], []
        for e in entries:
            if e.name.startswith("."):
                others.append(Skipped(prefix + e.name, "hidden"))
            elif e.is_dir(follow_symlinks=False):
                if not _is_under(Path(e.path), exclude):
                    subdirs.append(Path(e.path))
            elif e.is_file():
                files.append(e)
            else:
                others.append(Skipped(prefix + e.name, "not a regular file (a link to a folder, or a device)"))
        kinds = {e.name: ("audio" if Path(e.name).suffix.lower() in AUDIO_EXTENSIONS else
                          "text" if Path(e.name).suffix.lower() in TEXT_SUFFIXES else None) for e in files}
        stems: dict[str, int] = {}
        for e in files:
            if kinds[e.name]:
                stems[Path(e.name).stem] = stems.get(Path(e.name).stem, 0) + 1
        found = []
        for e in files:
            p = Path(e.path)
            if kinds[e.name] is None:
                if p.suffix.lower() in md.SIDECAR_SUFFIXES and p.stem in stems:
                    continue  # a recording's sidecar
                others.append(Skipped(prefix + e.name, "not a recording or a .txt transcript"))
                continue
            try:
                st = e.stat()
            except OSError as exc:
                others.append(Skipped(prefix + e.name, f"cannot be read: {exc.strerror}"))
                continue
            # two recordings of one name (visit.m4a, visit.txt): the suffix keeps notes apart
            base = p.stem if stems[p.stem] == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}"
            duration = None
            if probe and kinds[e.name] == "audio":
                try:
                    duration = probe_duration(p)
                except Exception:  # noqa: BLE001 - a bad file is the worker's to report
                    duration = None
            found.append(Found(p, prefix + e.name, kinds[e.name], prefix + base, st.st_size,
                               st.st_mtime_ns, duration))
        found.sort(key=lambda f: (f.kind != "audio", -(f.duration or 0.0), f.rel))
        yield from found
        yield from others
        stack.extend(reversed(subdirs))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


# --- keys -----------------------------------------------------------------------------------------


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


@lru_cache(maxsize=None)
def _model_name(model: str | None) -> str | None:
    try:
        from .models import resolve

        return resolve(model)
    except ScribeError:
        return model


def _package_dir(name: str) -> Path | None:
    """A package's folder without importing it (scribe.extract would load spaCy)."""
    import importlib.util

    parent, _, leaf = name.rpartition(".")
    if parent in sys.modules or "." not in parent:
        spec = importlib.util.find_spec(name)
        locations = spec.submodule_search_locations if spec else None
        return Path(locations[0]) if locations else None
    folder = _package_dir(parent)
    return folder / leaf if folder is not None else None


@lru_cache(maxsize=None)
def rules_fingerprint() -> str:
    """SHA-256 over the rule, vocabulary and template files shipped in the package."""
    h = hashlib.sha256(__version__.encode())
    for package in RULE_PACKAGES:
        folder = _package_dir(package)
        if folder is None or not folder.is_dir():
            continue
        for item in sorted(folder.iterdir(), key=lambda x: x.name):
            if item.is_file() and not item.name.endswith((".py", ".pyc")):
                h.update(f"{package}/{item.name}".encode())
                h.update(item.read_bytes())
    return h.hexdigest()


def transcript_key(kind: str, sha256: str, settings: BatchSettings) -> str:
    """What the transcript depends on: the bytes, and for audio the engine and model."""
    if kind == "text":
        return _digest(["text", sha256])
    return _digest(["audio", sha256, settings.engine, _model_name(settings.model), __version__,
                    rules_fingerprint()])


def note_key(tkey: str, layers: Iterable[md.Layer], settings: BatchSettings) -> str:
    """What the note depends on: the transcript, the metadata given, and the settings."""
    return _digest([tkey, md.layers_fingerprint(layers), settings.output_key(), rules_fingerprint()])


# --- the per-file work (runs in a worker) ----------------------------------------------------------


def _set_threads(threads: int, engine: str) -> None:
    """Hold the worker to `threads` threads. Numba (Whisper's word-timing DTW) resets the
    OpenMP thread count that torch shares to the number of CPUs at its first call, unless
    NUMBA_NUM_THREADS says otherwise; _LazyEngine.decode also sets torch's again."""
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(threads)
    os.environ["NUMBA_NUM_THREADS"] = str(min(threads, cpu_count()))
    if engine == "openai-whisper" or "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # only allowed before torch's first parallel work
            pass


@lru_cache(maxsize=2)
def _engine(name: str, model: str | None, threads: int):
    """The worker's engine, loaded once (the cache lives as long as the worker process)."""
    _set_threads(threads, name)
    if ":" in name:  # "package.module:factory", called with the model name
        import importlib

        module, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ModelError(f"engine '{name}' cannot be imported ({exc})") from exc
        return factory(model)
    from .transcribe import load_engine

    return load_engine(model, engine=name)


class _LazyEngine:
    """The worker's engine, loaded at the first decode: a silent file never loads a model."""

    def __init__(self, settings: BatchSettings):
        self.settings = settings
        self.load_seconds = 0.0
        self._engine = None

    def _get(self):
        if self._engine is None:
            t0 = time.perf_counter()
            self._engine = _engine(self.settings.engine, self.settings.model, self.settings.threads)
            self.load_seconds = time.perf_counter() - t0
        return self._engine

    @property
    def engine(self) -> str:
        return self._get().engine

    @property
    def model(self) -> str:
        return self._get().model

    def decode(self, audio, *, prompt, clips):
        engine = self._get()
        torch = sys.modules.get("torch")
        if torch is not None and torch.get_num_threads() != self.settings.threads:
            torch.set_num_threads(self.settings.threads)  # undone by something since (see _set_threads)
        return engine.decode(audio, prompt=prompt, clips=clips)


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def _sorted_findings(findings):
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order[f.severity.value], f.rule))


def process_file(job: FileJob, settings: BatchSettings) -> FileResult:
    """One file -> its note and renderings. A pure function of (file, settings): it reads
    the file and writes nothing. A file's problem is returned as a failed result; a
    model that cannot load (ModelError) is raised, as it is no file's fault."""
    import socket

    from .audio import load_audio
    from .pipeline import build_note, load_text_transcript
    from .render import render

    start = time.perf_counter()
    result = FileResult(rel=job.rel, ok=False, worker=f"{socket.gethostname()}:{os.getpid()}")
    try:
        if job.transcript is not None:
            transcript = job.transcript
            result.reused_transcript = True
        elif job.kind == "audio":
            from .transcribe import transcribe

            t0 = time.perf_counter()
            if file_sha256(Path(job.path)) != job.sha256:
                raise InputError("changed while being processed", path=job.rel)
            audio = load_audio(job.path)  # a bad or silent file fails before any model loads
            engine = _LazyEngine(settings)
            transcript = transcribe(audio, engine, source=job.rel)
            del audio
            result.model_load_seconds = round(engine.load_seconds, 3)
            result.transcribe_seconds = round(time.perf_counter() - t0 - engine.load_seconds, 3)
        else:
            transcript = load_text_transcript(job.path).model_copy(update={"source": job.rel})
            if hashlib.sha256(Path(job.path).read_bytes()).hexdigest() != job.sha256:
                raise InputError("changed while being processed", path=job.rel)
        resolved = md.resolve([*job.layers, md.from_dictation(transcript)])
        note = build_note(transcript, meta=resolved.meta, method=settings.method)
        note = note.model_copy(update={"findings": _sorted_findings([*note.findings, *resolved.findings])})
        result.rendered = {fmt: render(note, fmt) for fmt in settings.formats}
        if note.units is not None:
            result.units, result.total_units = dict(note.units.units), note.units.total_units
        for f in note.findings:
            result.findings[f.severity.value] = result.findings.get(f.severity.value, 0) + 1
        result.meta_sources = resolved.sources
        result.duration_seconds = transcript.duration_seconds
        result.engine, result.model = transcript.engine, transcript.model
        result.ok = True
    except ModelError:
        raise
    except ScribeError as exc:
        result.error, result.code = exc.message, exc.code
    except Exception as exc:  # noqa: BLE001 - a bug must cost one file, not the batch
        result.error, result.code = f"internal error: {type(exc).__name__}: {exc}", "E000"
    result.seconds = round(time.perf_counter() - start, 3)
    result.peak_rss_mb = _peak_rss_mb()
    return result


def fix_for(code: str | None, reason: str | None) -> str:
    """How to fix a failed file, from FIXES."""
    reason = (reason or "").lower()
    for c, words, fix in FIXES:
        if (not c or c == code) and words in reason:
            return fix
    return FIXES[-1][2]


# --- drafts ---------------------------------------------------------------------------------------


class DraftState(str, Enum):
    intact = "intact"  # as Scribe wrote it
    missing = "missing"  # some output is gone
    edited = "edited"  # changed since Scribe wrote it
    signed = "signed"


class OutputFile(Model):
    path: str  # relative to OUTDIR
    sha256: str


class DraftRecord(Model):
    """What the sink knows of one source file: its current draft (or failure) and key."""

    source: str
    base: str
    status: Literal["done", "failed"]
    key: str
    transcript_key: str | None = None
    sha256: str | None = None
    version: int = 1
    outputs: dict[str, OutputFile] = {}
    complete: bool = Field(True, description="False while the outputs are being written (phase 1)")
    replacing: dict[str, str] = Field({}, description="while writing: format -> SHA-256 of the file replaced")
    earlier: list[dict[str, str]] = Field([], description="outputs of earlier versions, kept")
    row: FileReport
    updated: str


class DraftSink(Protocol):
    """Where drafts go: FilesystemSink, and StoreSink around it for the draft store."""

    def lookup(self, source: str) -> DraftRecord | None: ...

    def state(self, record: DraftRecord) -> DraftState: ...

    def load_transcript(self, record: DraftRecord) -> Transcript | None:
        """The transcript of the current draft, if it can be trusted (unchanged)."""

    def save(self, job: FileJob, base: str, result: FileResult, *, key: str, tkey: str,
             row: FileReport) -> DraftRecord:
        """Store a new draft (a new version when the current one is edited or signed)."""

    def save_failure(self, job: FileJob, base: str, *, key: str, row: FileReport) -> None:
        """Record that this content failed (earlier drafts stay)."""

    def put(self, record: DraftRecord) -> None:
        """Replace the record of `record.source` (a sink around this one adds to its row)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FilesystemSink:
    """Drafts as files in OUTDIR, and one small JSON record per source in OUTDIR/.scribe-batch.

    A draft is written in two phases so that a kill at any point is safe: the record first
    names the files about to be written (and still owns what they replace), then each file
    is written atomically, then the record is marked complete. A file whose hash is not
    one the record knows was changed by someone: it is never overwritten."""

    def __init__(self, out: Path):
        self.out = Path(out)  # nothing is created until the first record is written
        self.records = self.out / STATE_DIR / "records"

    def _record_path(self, source: str) -> Path:
        return self.records / (hashlib.sha256(source.encode()).hexdigest()[:32] + ".json")

    def lookup(self, source: str) -> DraftRecord | None:
        try:
            return DraftRecord.model_validate_json(self._record_path(source).read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:  # a record from another version of Scribe: that file starts afresh
            return None

    def _file_state(self, record: DraftRecord, fmt: str) -> DraftState:
        out = record.outputs[fmt]
        p = self.out / out.path
        if not p.exists():
            return DraftState.missing
        ours = {out.sha256, record.replacing.get(fmt)}  # while writing, the old content is ours too
        return DraftState.intact if file_sha256(p) in ours else DraftState.edited

    def _signed(self, record: DraftRecord, version: int | None = None) -> bool:
        return (self.out / (_versioned(record.base, version or record.version) + SIGNED_SUFFIX)).exists()

    def state(self, record: DraftRecord) -> DraftState:
        if not record.outputs:
            return DraftState.missing
        if self._signed(record):
            return DraftState.signed
        states = {self._file_state(record, fmt) for fmt in record.outputs}
        for s in (DraftState.edited, DraftState.missing):
            if s in states:
                return s
        return DraftState.intact

    def load_transcript(self, record: DraftRecord) -> Transcript | None:
        if "json" not in record.outputs or self._file_state(record, "json") is not DraftState.intact:
            return None
        try:
            return Note.model_validate_json((self.out / record.outputs["json"].path).read_bytes()).transcript
        except (OSError, ValueError):
            return None

    def _paths(self, base: str, version: int, formats: Iterable[str]) -> dict[str, str]:
        return {fmt: f"{_versioned(base, version)}.{fmt}" for fmt in formats}

    def _free(self, paths: dict[str, str], record: DraftRecord | None, version: int) -> bool:
        """Paths that hold nothing, or only this record's own untouched files."""
        if record is not None and self._signed(record, version):
            return False
        for fmt, rel in paths.items():
            if not (self.out / rel).exists():
                continue
            mine = (record is not None and fmt in record.outputs and record.outputs[fmt].path == rel
                    and self._file_state(record, fmt) is DraftState.intact)
            if not mine:
                return False
        return True

    def save(self, job: FileJob, base: str, result: FileResult, *, key: str, tkey: str,
             row: FileReport) -> DraftRecord:
        old = self.lookup(job.rel)
        base = old.base if old is not None else base
        version = old.version if old is not None else 1
        earlier = list(old.earlier) if old is not None else []
        kept = None
        state = self.state(old) if old is not None else DraftState.missing
        if old is not None and state in (DraftState.edited, DraftState.signed):
            kept = f"the {state.value} draft {_version_label(version)} is kept"
            earlier.append({fmt: o.path for fmt, o in old.outputs.items()})
            version += 1
        while not self._free(self._paths(base, version, result.rendered), old, version):
            version += 1
        paths = self._paths(base, version, result.rendered)
        hashes = {fmt: hashlib.sha256(text.encode("utf-8")).hexdigest() for fmt, text in result.rendered.items()}
        row = row.model_copy(update={"outputs": paths, "version": version,
                                     "remark": f"{kept}; this is {_version_label(version)}" if kept else row.remark})
        # phase 1: the record names the new files and still owns what they replace, so a
        # kill while writing is neither taken for an edit nor for a finished draft
        replacing = {fmt: old.outputs[fmt].sha256 for fmt in paths
                     if old is not None and fmt in old.outputs and old.outputs[fmt].path == paths[fmt]}
        record = DraftRecord(source=job.rel, base=base, status="done", key=key, transcript_key=tkey,
                             sha256=job.sha256, version=version,
                             outputs={fmt: OutputFile(path=paths[fmt], sha256=hashes[fmt]) for fmt in paths},
                             complete=False, replacing=replacing, earlier=earlier, row=row, updated=_now())
        self.put(record)
        for fmt, text in result.rendered.items():
            write_atomic(self.out / paths[fmt], text)
        record = record.model_copy(update={"complete": True, "replacing": {}})
        self.put(record)  # phase 2
        return record

    def save_failure(self, job: FileJob, base: str, *, key: str, row: FileReport) -> None:
        old = self.lookup(job.rel)
        # an earlier draft stays where it is; the record remembers that this content failed
        self.put(DraftRecord(source=job.rel, base=old.base if old else base, status="failed", key=key,
                              transcript_key=old.transcript_key if old else None, sha256=job.sha256,
                              version=old.version if old else 1, outputs=old.outputs if old else {},
                              earlier=old.earlier if old else [], row=row, updated=_now()))

    def put(self, record: DraftRecord) -> None:
        write_atomic(self._record_path(record.source), record.model_dump_json(indent=1))


def clean_temp_files(out: Path) -> int:
    """Remove temp files a killed run left (write_atomic's .NAME.XXXX.tmp); call under the lock."""
    removed = 0
    for folder, _dirs, files in os.walk(out):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed


class StoreSink:
    """`inner` (a FilesystemSink), and every new draft also in the draft store (scribe/store)
    for review and signing, with its recording; the store's ID goes in the report row.

    It only ever creates store drafts: an edited or signed store draft stays as it is, and
    a changed recording makes a new one beside it. The same content is stored once: a
    draft written again unchanged (its files were deleted) keeps its store draft. An intact
    draft the store does not have yet (written without the store, or the store failed)
    counts as missing, so the batch writes it again, in place, and stores it."""

    def __init__(self, inner: DraftSink, store: Store, *, method: Method | str | None = None,
                 by: str | None = None):
        self.inner, self.store = inner, store
        self.method = method  # None: the note's own (the batch's --method)
        self.by = by  # None: the user at this terminal

    def lookup(self, source: str) -> DraftRecord | None:
        return self.inner.lookup(source)

    def state(self, record: DraftRecord) -> DraftState:
        state = self.inner.state(record)
        if state is DraftState.intact and record.row.draft_id is None:
            return DraftState.missing  # not in the store yet
        return state

    def load_transcript(self, record: DraftRecord) -> Transcript | None:
        return self.inner.load_transcript(record)

    def save_failure(self, job: FileJob, base: str, *, key: str, row: FileReport) -> None:
        self.inner.save_failure(job, base, key=key, row=row)

    def put(self, record: DraftRecord) -> None:
        self.inner.put(record)

    def save(self, job: FileJob, base: str, result: FileResult, *, key: str, tkey: str,
             row: FileReport) -> DraftRecord:
        old = self.inner.lookup(job.rel)
        earlier = old.row.draft_id if old is not None and old.status == "done" else None
        if earlier is not None and old.key == key:  # the store has this very note already
            return self.inner.save(job, base, result, key=key, tkey=tkey, row=row.model_copy(
                update={"draft_id": earlier}))
        record = self.inner.save(job, base, result, key=key, tkey=tkey, row=row)
        if job.kind == "audio" and file_sha256(Path(job.path)) != job.sha256:
            # the store must keep the recording that was transcribed; the next run redoes this file
            update = {"remark": _join(record.row.remark, "not in the draft store: the recording changed "
                                                         "during the batch; run the batch again")}
        else:
            draft_id = self._create(job, Note.model_validate_json(result.rendered["json"]))
            kept = f"store draft {earlier} is kept as it is; this is store draft {draft_id}" if earlier else None
            update = {"draft_id": draft_id, "remark": _join(record.row.remark, kept)}
        record = record.model_copy(update={"row": record.row.model_copy(update=update)})
        self.inner.put(record)
        return record

    def _create(self, job: FileJob, note: Note) -> int:
        from .store import StoreError, create_draft

        after = (f"(storing the draft of {job.rel}; the drafts already written are kept, and the next run "
                 "with --save stores the rest)")
        try:  # the source file as `audio`: the store keeps it when it is a recording
            return create_draft(self.store, note, by=self.by, method=self.method, audio=job.path)
        except ScribeError as exc:
            raise type(exc)(f"{exc.message} {after}", path=exc.path) from exc
        except OSError as exc:  # the recording could not be read for the store
            raise StoreError(f"cannot read the recording: {exc.strerror or exc} {after}", path=job.path) from exc


def _join(*remarks: str | None) -> str | None:
    return "; ".join(r for r in remarks if r) or None


def _versioned(base: str, version: int) -> str:
    return base if version == 1 else f"{base}.v{version}"


def _version_label(version: int) -> str:
    return f"v{version}"


# --- the batch ------------------------------------------------------------------------------------


class _Lock:
    """One batch at a time per OUTDIR (flock: released by the kernel if the process dies)."""

    def __init__(self, out: Path):
        self.path = out / STATE_DIR / "lock"

    def __enter__(self) -> _Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = self.path.open("a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.close()
            raise UsageError("another scribe batch is writing to this folder; wait for it, or use "
                             "another --out", path=str(self.path.parents[1])) from None
        return self

    def __exit__(self, *exc: Any) -> None:
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


class _Runner:
    """The batch's bookkeeping: plan a file (skip, or a job), collect results, keep totals."""

    def __init__(self, root: Path, out: Path, settings: BatchSettings, executor: Executor, sink: DraftSink,
                 manifest: md.Manifest | None, on_event: Callable[[Event], None] | None, retry_failed: bool,
                 report: BatchReport):
        self.root, self.out, self.settings = root, out, settings
        self.executor, self.sink, self.manifest = executor, sink, manifest
        self.on_event = on_event or (lambda event: None)
        self.retry_failed = retry_failed
        self.report = report
        self.rows: dict[str, FileReport] = {}  # by source: watch mode may see a file again
        self.pending: dict[Any, tuple[FileJob, Found, str, str]] = {}
        self.started = time.monotonic()
        self.audio_seconds = 0.0
        self.skipped: dict[str, FileReport] = {}
        self.counts = Totals()

    # planning (in this process: hashing, metadata, records; nothing heavy)
    def plan(self, found: Found) -> tuple[FileJob, str, str] | None:
        try:
            sha = file_sha256(found.path)
        except OSError as exc:
            self._row(FileReport(source=found.rel, status="failed", kind=found.kind, code="E002",
                                 reason=f"cannot be read: {exc.strerror}", duration_seconds=found.duration), fresh=True)
            return None
        job = FileJob(path=str(found.path), rel=found.rel, kind=found.kind, sha256=sha)
        try:
            layers = tuple(md.external_layers(found.path, found.rel, self.manifest))
        except InputError as exc:
            self._row(FileReport(source=found.rel, status="failed", kind=found.kind, code=exc.code,
                                 reason=exc.message, duration_seconds=found.duration), fresh=True)
            return None
        tkey = transcript_key(found.kind, sha, self.settings)
        key = note_key(tkey, layers, self.settings)
        record = self.sink.lookup(found.rel)
        if record is not None and record.key == key and record.complete:
            if record.status == "done":
                state = self.sink.state(record)
                if state is not DraftState.missing:
                    remark = None if state is DraftState.intact else f"the draft was {state.value}: kept as it is"
                    self._row(record.row.model_copy(update={"status": "unchanged", "remark": remark}))
                    return None
            elif not self.retry_failed and record.row.code != "E000":
                self._row(record.row.model_copy(update={
                    "remark": "failed before and not changed since (--retry-failed to try again)"}))
                return None
        reuse = None
        if record is not None and record.transcript_key == tkey and record.complete:
            reuse = self.sink.load_transcript(record)
        return replace(job, layers=layers, transcript=reuse), key, tkey

    def submit(self, found: Found) -> bool:
        """Plan and, if there is work, hand it to the executor. True when submitted."""
        planned = self.plan(found)
        if planned is None:
            return False
        job, key, tkey = planned
        self.pending[self.executor.submit(process_file, job, self.settings)] = (job, found, key, tkey)
        return True

    def cancel_queued(self) -> bool:
        """Drop the jobs no worker has started (on Ctrl-C); True if there were any."""
        cancelled = self.executor.cancel_queued(list(self.pending))
        for handle in cancelled:
            del self.pending[handle]
        return bool(cancelled)

    def collect(self, timeout: float | None) -> int:
        """Save what finished within `timeout`; the number of files saved."""
        if not self.pending:
            return 0
        done, _ = self.executor.wait(list(self.pending), timeout)
        for handle in done:
            job, found, key, tkey = self.pending.pop(handle)
            try:
                result = handle.result()
            except ModelError:
                raise
            except BrokenExecutor:
                result = FileResult(rel=job.rel, ok=False, code="E000",
                                    error="the worker process died (out of memory, or a crash); run again")
                self.executor.close(cancel=True)
            self._finish(job, found, key, tkey, result)
        return len(done)

    def _finish(self, job: FileJob, found: Found, key: str, tkey: str, r: FileResult) -> None:
        row = FileReport(source=job.rel, status="done" if r.ok else "failed", kind=job.kind,
                         duration_seconds=r.duration_seconds or found.duration,
                         engine=r.engine or ("text" if job.kind == "text" else self.settings.engine),
                         model=r.model, seconds=r.seconds, transcribe_seconds=r.transcribe_seconds or None,
                         model_load_seconds=r.model_load_seconds or None,
                         meta=r.meta_sources, worker=r.worker or None, peak_rss_mb=r.peak_rss_mb)
        if r.ok:
            row = row.model_copy(update={
                "units": r.units, "total_units": r.total_units,
                "findings": {s: r.findings[s] for s in SEVERITIES if s in r.findings},
                "remark": "transcript reused (only the note settings changed)" if r.reused_transcript else None})
            try:
                record = self.sink.save(job, found.base, r, key=key, tkey=tkey, row=row)
            except OSError as exc:  # a full disk or a read-only OUTDIR: no file's fault
                raise UsageError(f"cannot write the drafts: {exc.strerror or exc}", path=str(self.out)) from exc
            row = record.row
            if not r.reused_transcript:
                self.audio_seconds += r.duration_seconds or 0.0
        else:
            row = row.model_copy(update={"reason": r.error, "code": r.code})
            if r.code != "E000":
                failed = row.model_copy(update={"fix": fix_for(r.code, r.error)})
                self.sink.save_failure(job, found.base, key=key, row=failed)
        self._row(row, fresh=True)

    def _row(self, row: FileReport, *, fresh: bool = False) -> None:
        if row.status == "failed" and row.fix is None:
            row = row.model_copy(update={"fix": fix_for(row.code, row.reason)})
        old = self.rows.get(row.source)  # watch mode may see a file again
        if old is not None:
            self._count(old, -1)
        self.rows[row.source] = row
        self._count(row, 1)
        self.on_event(Event("file", self.totals(), row=row, fresh=fresh))

    def _count(self, row: FileReport, sign: int) -> None:
        """Running totals (kept as rows come, so a big folder costs no re-count per file)."""
        t = self.counts
        t.files += sign
        setattr(t, row.status, getattr(t, row.status) + sign)
        for table, items in ((t.units, row.units), (t.findings, row.findings)):
            for k, n in items.items():
                table[k] = table.get(k, 0) + sign * n
                if not table[k]:
                    del table[k]
        if sign > 0 and row.status == "done" and row.worker and row.peak_rss_mb:
            peaks = t.peak_rss_mb_per_worker
            peaks[row.worker] = max(row.peak_rss_mb, peaks.get(row.worker, 0.0))

    def skip(self, item: Skipped) -> None:
        if item.rel not in self.skipped:
            self.skipped[item.rel] = FileReport(source=item.rel, status="skipped", reason=item.reason)

    def totals(self) -> Totals:
        t = self.counts.model_copy(deep=True)
        t.skipped = len(self.skipped)
        t.findings = {s: t.findings[s] for s in SEVERITIES if s in t.findings}
        t.units = dict(sorted(t.units.items()))
        t.audio_minutes = round(self.audio_seconds / 60, 2)
        t.wall_seconds = round(time.monotonic() - self.started, 2)
        if self.audio_seconds and t.wall_seconds:
            t.audio_minutes_per_wall_minute = round(self.audio_seconds / t.wall_seconds, 2)
        return t

    def finish_report(self, *, interrupted: bool = False, final: bool = True) -> BatchReport:
        r = self.report.model_copy(update={
            "files": sorted(self.rows.values(), key=lambda x: x.source),
            "skipped": sorted(self.skipped.values(), key=lambda x: x.source),
            "totals": self.totals(), "interrupted": interrupted,
            "finished": _now() if final else None,
            "unused_manifest_rows": self.manifest.unused() if self.manifest else [],
        })
        write_report(r, self.out)
        return r


def out_folder(root: str | Path, out: str | Path | None = None) -> Path:
    """OUTDIR: `out`, by default ROOT/notes."""
    return Path(out) if out is not None else Path(root) / "notes"


def _open_batch(root: str | Path, out: str | Path | None, settings: BatchSettings, jobs: int | None,
                executor: Executor | None, manifest: str | Path | md.Manifest | None
                ) -> tuple[Path, Path, Executor, md.Manifest | None, int]:
    root = Path(root)
    if not root.is_dir():
        raise UsageError("is not a folder: give the folder of recordings", path=str(root))
    out = out_folder(root, out)
    unknown = [f for f in settings.formats if f not in FORMATS]
    if unknown:
        raise UsageError(f"unknown format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    if isinstance(manifest, (str, Path)):
        manifest = md.Manifest.load(manifest)
    jobs = jobs or cpu_count()
    if executor is None:
        executor = ProcessExecutor(jobs, threads=settings.threads)
    return root, out, executor, manifest, jobs


def _new_report(root: Path, out: Path, settings: BatchSettings, jobs: int) -> BatchReport:
    return BatchReport(scribe_version=__version__, folder=str(root), out=str(out),
                       settings=settings.output_key(), jobs=jobs, threads=settings.threads, started=_now())


def default_settings(*, jobs: int | None = None, **options: Any) -> BatchSettings:
    """BatchSettings with threads shared out between `jobs` workers (no oversubscription)."""
    options.setdefault("threads", threads_per_worker(jobs or cpu_count()))
    return BatchSettings(**options)


@contextmanager
def _session(root: str | Path, out: str | Path | None, *, settings: BatchSettings | None, jobs: int | None,
             executor: Executor | None, manifest: str | Path | md.Manifest | None, sink: DraftSink | None,
             on_event: Callable[[Event], None] | None, retry_failed: bool) -> Iterator[_Runner]:
    """Checked arguments, OUTDIR locked, and a runner; on any exit the workers are released
    (on an error or a second Ctrl-C, without waiting, after a last report)."""
    settings = settings or default_settings(jobs=jobs)
    root, out, executor, manifest, jobs = _open_batch(root, out, settings, jobs, executor, manifest)
    out.mkdir(parents=True, exist_ok=True)
    with _Lock(out):
        clean_temp_files(out)
        if sink is None:
            sink = FilesystemSink(out)
        runner = _Runner(root, out, settings, executor, sink, manifest, on_event, retry_failed,
                         _new_report(root, out, settings, jobs))
        try:
            yield runner
        except BaseException:
            executor.close(cancel=True)
            runner.finish_report(interrupted=True)
            raise
        executor.close()


def run_batch(root: str | Path, out: str | Path | None = None, *, settings: BatchSettings | None = None,
              jobs: int | None = None, executor: Executor | None = None,
              manifest: str | Path | md.Manifest | None = None, sink: DraftSink | None = None,
              on_event: Callable[[Event], None] | None = None, retry_failed: bool = False,
              stop: threading.Event | None = None) -> BatchReport:
    """Process every recording and transcript under `root` into `out` (default root/notes).

    `stop` (an Event) ends the batch early: the files in hand are finished and saved.
    Returns the report (also written to out/report.json and out/report.html)."""
    stop = stop or threading.Event()
    with _session(root, out, settings=settings, jobs=jobs, executor=executor, manifest=manifest, sink=sink,
                  on_event=on_event, retry_failed=retry_failed) as runner:
        # a first pass only counts (files, declared minutes), so progress has totals
        files_total, seconds_total = 0, 0.0
        for item in discover(runner.root, exclude=runner.out):
            if isinstance(item, Found):
                files_total += 1
                seconds_total += item.duration or 0.0
        runner.on_event(Event("plan", runner.totals(), files_total=files_total, audio_seconds_total=seconds_total))
        interrupted = False
        for item in discover(runner.root, exclude=runner.out):
            if stop.is_set():
                interrupted = True
                break
            if isinstance(item, Skipped):
                runner.skip(item)
                continue
            runner.submit(item)
            while len(runner.pending) >= runner.executor.capacity:
                runner.collect(WAIT_SECONDS)
        if stop.is_set():
            interrupted |= runner.cancel_queued()
        while runner.pending:
            runner.collect(WAIT_SECONDS)
        return runner.finish_report(interrupted=interrupted)


def watch_batch(root: str | Path, out: str | Path | None = None, *, settings: BatchSettings | None = None,
                jobs: int | None = None, executor: Executor | None = None,
                manifest: str | Path | md.Manifest | None = None, sink: DraftSink | None = None,
                on_event: Callable[[Event], None] | None = None, retry_failed: bool = False,
                stop: threading.Event | None = None, settle_seconds: float = SETTLE_SECONDS,
                poll_seconds: float = POLL_SECONDS) -> BatchReport:
    """Process recordings as they land under `root` until `stop` is set (Ctrl-C in the CLI).

    A file is taken once its size and modification time have not changed for
    `settle_seconds`; it is taken again when it changes. Files already done are skipped
    by their key, as in run_batch. The report is rewritten as files finish."""
    stop = stop or threading.Event()
    with _session(root, out, settings=settings, jobs=jobs, executor=executor, manifest=manifest, sink=sink,
                  on_event=on_event, retry_failed=retry_failed) as runner:
        handled: dict[str, tuple[int, int]] = {}  # rel -> (size, mtime) when taken
        settling: dict[str, tuple[int, int, float]] = {}  # rel -> (size, mtime, first seen so)
        last_report, changed = 0.0, True
        while not stop.is_set():
            now = time.monotonic()
            for item in discover(runner.root, exclude=runner.out, probe=False):
                if stop.is_set():
                    break
                if isinstance(item, Skipped):
                    runner.skip(item)
                    continue
                sig = (item.size, item.mtime_ns)
                if handled.get(item.rel) == sig:
                    continue
                seen = settling.get(item.rel)
                if seen is None or seen[:2] != sig:
                    settling[item.rel] = (*sig, now)
                    continue
                if now - seen[2] < settle_seconds or len(runner.pending) >= runner.executor.capacity:
                    continue
                del settling[item.rel]
                handled[item.rel] = sig
                changed |= not runner.submit(_probed(item))
            changed |= bool(runner.collect(poll_seconds) if runner.pending else stop.wait(poll_seconds))
            if changed and time.monotonic() - last_report >= WATCH_REPORT_SECONDS:
                runner.finish_report(final=False)
                last_report, changed = time.monotonic(), False
                runner.on_event(Event("idle", runner.totals()))
        runner.cancel_queued()
        while runner.pending:
            runner.collect(WAIT_SECONDS)
        return runner.finish_report()


def _probed(found: Found) -> Found:
    if found.kind != "audio" or found.duration is not None:
        return found
    from .audio import probe_duration

    try:
        return replace(found, duration=probe_duration(found.path))
    except Exception:  # noqa: BLE001 - a bad file is the worker's to report
        return found


# --- the report -----------------------------------------------------------------------------------


REPORT_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Scribe batch report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.failed{background:#fff3f3}.fix{color:#555;font-size:.85rem}
.num{text-align:right}.muted{color:#777}
</style></head><body>
<h1>Scribe batch report</h1>
<p>{{ r.folder }} &rarr; {{ r.out }} &middot; started {{ r.started }}
{%- if r.finished %}, finished {{ r.finished }}{% endif %}
{% if r.interrupted %}<strong> &middot; stopped before the end: run the batch again to finish</strong>{% endif %}</p>
<p><strong>{{ t.done }}</strong> notes written, <strong>{{ t.unchanged }}</strong> unchanged,
<strong>{{ t.failed }}</strong> failed, {{ t.skipped }} skipped.
{% if t.audio_minutes %}{{ t.audio_minutes }} audio minutes in {{ t.wall_seconds | minsec }}
({{ t.audio_minutes_per_wall_minute }} audio minutes per minute){% else %}{{ t.wall_seconds | minsec }}{% endif %}
with {{ r.jobs }} worker{{ "s" if r.jobs != 1 else "" }}
&times; {{ r.threads }} thread{{ "s" if r.threads != 1 else "" }};
engine {{ r.settings.engine }}, model {{ r.settings.model }}, {{ r.settings.method }} units.</p>
<p>Units: {% for code, n in t.units.items() %}{{ code }} &times; {{ n }}{{ ", " if not loop.last }}
{%- else %}none{% endfor %}.
Findings: {% for sev, n in t.findings.items() %}{{ n }} {{ sev }}{{ ", " if not loop.last }}
{%- else %}none{% endfor %}.</p>
<table><thead><tr><th>File</th><th>Status</th><th>Note</th><th class="num">Audio</th><th>Engine</th>
<th class="num">Time</th><th>Units</th><th>Findings</th></tr></thead><tbody>
{% for f in r.files %}<tr class="{{ f.status }}"><td>{{ f.source }}</td>
<td>{{ f.status }}{% if f.version and f.version > 1 %} (v{{ f.version }}){% endif %}</td>
<td>{% for fmt, path in f.outputs.items() %}<a href="{{ path | url }}">{{ fmt }}</a>
{{- " " if not loop.last }}{% endfor %}
{% if f.status == "failed" %}<div>{{ f.reason }} [{{ f.code }}]</div><div class="fix">Fix: {{ f.fix }}</div>{% endif %}
{% if f.draft_id %}<div>store draft {{ f.draft_id }}</div>{% endif %}
{% if f.remark %}<div class="muted">{{ f.remark }}</div>{% endif %}</td>
<td class="num">{{ f.duration_seconds | minsec }}</td><td>{{ f.engine or "" }}</td>
<td class="num">{{ f.seconds | minsec }}</td>
<td>{% for code, n in f.units.items() %}{{ code }}&times;{{ n }}{{ " " if not loop.last }}{% endfor %}</td>
<td>{% for sev, n in f.findings.items() %}{{ n }} {{ sev }}{{ ", " if not loop.last }}{% endfor %}</td></tr>
{% endfor %}</tbody></table>
{% if r.skipped %}<h2>Skipped</h2><ul>
{% for f in r.skipped %}<li>{{ f.source }}: {{ f.reason }}</li>{% endfor %}</ul>{% endif %}
{% if r.unused_manifest_rows %}<h2>Manifest rows with no file</h2><ul>
{% for f in r.unused_manifest_rows %}<li>{{ f }}</li>{% endfor %}</ul>{% endif %}
<p class="muted">Scribe {{ r.scribe_version }}. Drafts: not signed. report.json has the same data.</p>
</body></html>
"""


def _minsec(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def render_report_html(report: BatchReport) -> str:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["url"] = lambda path: quote(path)
    env.filters["minsec"] = _minsec
    return env.from_string(REPORT_TEMPLATE).render(r=report, t=report.totals)


def write_report(report: BatchReport, out: Path) -> None:
    """OUTDIR/report.json and OUTDIR/report.html, each written atomically."""
    write_atomic(out / REPORT_JSON, report.model_dump_json(indent=2) + "\n")
    write_atomic(out / REPORT_HTML, render_report_html(report))


# --- command line (the lead wires these into scribe/cli.py) ------------------------------------------


def _formats(value: str) -> tuple[str, ...]:
    wanted = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"unknown format {unknown[0] if unknown else value!r}; "
                                         f"give some of {','.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in wanted or f == "json")


def _engine_name(value: str) -> str:
    from .models import ENGINES

    if value in ENGINES or re.fullmatch(r"[\w.]+:\w+", value):
        return value
    raise argparse.ArgumentTypeError(f"unknown engine {value!r}; choose {', '.join(ENGINES)} "
                                     "(or module:factory for a plug-in engine)")


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 1 or more")
    return n


def add_parser(subparsers: Any) -> None:
    """The `batch` subcommand, made with the parser class of the CLI's subparsers."""
    p = subparsers.add_parser(
        "batch", help="a folder of recordings -> draft notes and a report (resumable, parallel)",
        description="Find recordings (and .txt transcripts) under DIR, write a checked draft note for "
                    "each and OUTDIR/report.html. Re-runs skip what is done. Exit 0: all done; "
                    "1: some files failed (see the report); 2: usage error.")
    p.add_argument("dir", metavar="DIR", help="folder of recordings, searched recursively")
    p.add_argument("--out", metavar="OUTDIR", help="where drafts and the report go (default DIR/notes)")
    p.add_argument("--jobs", type=_positive, help="worker processes (default: the number of CPUs)")
    p.add_argument("--threads", type=_positive,
                   help="transcription threads per worker (default: CPUs // jobs, at least 1)")
    p.add_argument("--engine", type=_engine_name, default="openai-whisper",
                   help="openai-whisper (default) or faster-whisper")
    p.add_argument("--model", help="tiny.en or base (default: the registry's default model)")
    p.add_argument("--format", type=_formats, default=DEFAULT_FORMATS, metavar="md,html,txt,json",
                   help="note formats (default md,html,json; the JSON draft is always written)")
    p.add_argument("--method", choices=["cms", "ama"], default="cms",
                   help="units method: CMS total time (default) or AMA midpoint")
    p.add_argument("--manifest", metavar="FILE",
                   help="CSV with a 'file' column and patient,date_of_service,therapist,credentials,"
                        "payer,diagnosis_codes")
    p.add_argument("--retry-failed", action="store_true", help="try files that failed before, though unchanged")
    p.add_argument("--watch", action="store_true", help="keep watching DIR for new recordings until Ctrl-C")
    p.add_argument("--settle", type=float, default=SETTLE_SECONDS, metavar="SECONDS",
                   help=f"--watch: take a file once unchanged this long (default {SETTLE_SECONDS:g})")
    p.add_argument("--dask-scheduler", metavar="ADDRESS",
                   help="run the per-file work on a dask.distributed cluster (needs scribe[dask]; the "
                        "workers must see DIR at the same path)")
    p.add_argument("--save", action="store_true",
                   help="also store every new draft in the draft store for review and signing (scribe drafts, "
                        "scribe review); its ID is in the report")
    p.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    p.set_defaults(func=cmd_batch)


class _Progress:
    """A tqdm bar on a terminal (files, audio minutes, speed, ETA), log lines otherwise."""

    def __init__(self, stream: Any, *, tty: bool, quiet: bool):
        self.stream, self.tty, self.quiet = stream, tty, quiet
        self.bar = None
        self.files_total = 0
        self.seconds_total = 0.0
        self.seconds_done = 0.0
        self.count = 0

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        if event.kind == "plan":
            self.files_total, self.seconds_total = event.files_total or 0, event.audio_seconds_total or 0.0
            if self.tty:
                try:
                    from tqdm import tqdm
                except ImportError:
                    self.tty = False
                else:
                    self.bar = tqdm(total=self.files_total, unit="file", file=self.stream, dynamic_ncols=True,
                                    bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} files [{elapsed}{postfix}]")
            return
        if event.kind != "file" or event.row is None:
            return
        row = event.row
        self.count += 1
        if row.status != "skipped":
            self.seconds_done += row.duration_seconds or 0.0
        t = event.totals
        speed = t.audio_minutes_per_wall_minute
        eta = ""
        if speed and self.seconds_total > self.seconds_done:
            eta = f", ETA {_minsec((self.seconds_total - self.seconds_done) / speed)}"
        status = f"{self.seconds_done / 60:.1f}/{self.seconds_total / 60:.1f} audio min" + (
            f", {speed:.2f} audio min/min" if speed else "") + eta
        if self.bar is not None:
            self.bar.set_postfix_str(status, refresh=False)
            self.bar.update(1)
            if row.status == "failed" and event.fresh:
                self.bar.write(f"failed: {row.source}: {row.reason}", file=self.stream)
            return
        if not event.fresh:
            return  # found done (or failed) before: the summary counts it
        total = f"/{self.files_total}" if self.files_total else ""
        what = {"done": "note written", "unchanged": "up to date", "failed": f"FAILED: {row.reason}"}[row.status]
        took = f" in {row.seconds:.1f} s" if row.status == "done" and row.seconds is not None else ""
        print(f"[{self.count}{total}] {row.source}: {what}{took} ({status})", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def summary(report: BatchReport, *, max_failed: int = 10) -> str:
    """The one-screen summary printed at the end."""
    t = report.totals
    lines = []
    if t.done == 0 and not report.interrupted:
        lines.append(f"Nothing to do: {t.unchanged} note{'s' if t.unchanged != 1 else ''} up to date"
                     + (f", {t.failed} failed before and unchanged (--retry-failed to try them again)"
                        if t.failed else "") + ".")
    else:
        lines.append(f"{t.done} written, {t.unchanged} up to date, {t.failed} failed, {t.skipped} skipped"
                     + (" (stopped before the end: run again to finish)" if report.interrupted else "") + ".")
        speed = f" = {t.audio_minutes_per_wall_minute} audio min per min" if t.audio_minutes_per_wall_minute else ""
        audio = f"{t.audio_minutes} audio min in" if t.audio_minutes else "Took"
        lines.append(f"{audio} {_minsec(t.wall_seconds)}{speed} "
                     f"({report.jobs} worker{'s' if report.jobs != 1 else ''} x {report.threads} thread"
                     f"{'s' if report.threads != 1 else ''}).")
    units = ", ".join(f"{c} x {n}" for c, n in t.units.items()) or "none"
    findings = ", ".join(f"{n} {s}" for s, n in t.findings.items()) or "none"
    lines.append(f"Units: {units}. Findings: {findings}.")
    failed = [f for f in report.files if f.status == "failed"]
    if failed:
        lines.append("Failed:")
        for f in failed[:max_failed]:
            lines.append(f"  {f.source}: {f.reason} [{f.code}]")
            lines.append(f"    fix: {f.fix}")
        if len(failed) > max_failed:
            lines.append(f"  ... and {len(failed) - max_failed} more in the report")
    if report.unused_manifest_rows:
        lines.append(f"Manifest rows with no file: {', '.join(report.unused_manifest_rows[:5])}"
                     + (" ..." if len(report.unused_manifest_rows) > 5 else ""))
    lines.append(f"Report: {Path(report.out) / REPORT_HTML}")
    return "\n".join(lines)


def cmd_batch(args: argparse.Namespace) -> int:
    """`scribe batch`: run (or watch) a folder, show progress, print the summary."""
    jobs = args.jobs or cpu_count()
    settings = default_settings(jobs=jobs, engine=args.engine, model=args.model, method=Method(args.method),
                                formats=args.format,
                                **({"threads": args.threads} if args.threads else {}))
    store = sink = None
    if args.save:  # opened once, here, before any work (the workers never see it); closed at the end
        from .store import open_store

        store = open_store()
        sink = StoreSink(FilesystemSink(out_folder(args.dir, args.out)), store, method=settings.method)
    try:
        return _run_command(args, jobs, settings, sink)
    finally:
        if store is not None:
            store.close()


def _run_command(args: argparse.Namespace, jobs: int, settings: BatchSettings, sink: DraftSink | None) -> int:
    """Run (or watch) with progress on stderr and Ctrl-C handled; print the summary."""
    executor = DaskExecutor(args.dask_scheduler, jobs=jobs) if args.dask_scheduler else None
    progress = _Progress(sys.stderr, tty=sys.stderr.isatty(), quiet=args.quiet)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("scribe: finishing the files in hand (Ctrl-C again to abandon them)", file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        run = watch_batch if args.watch else run_batch
        extra = {"settle_seconds": args.settle} if args.watch else {}
        if args.watch:
            print(f"scribe: watching {args.dir} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        report = run(args.dir, args.out, settings=settings, jobs=jobs, executor=executor,
                     manifest=args.manifest, sink=sink, on_event=progress, retry_failed=args.retry_failed,
                     stop=stop, **extra)
    finally:
        progress.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    print(summary(report))
    if report.interrupted and not args.watch:
        return 130
    return report.exit_status


def main(argv: list[str] | None = None) -> int:
    """`python -m scribe.batch DIR ...`: the batch command on its own (before cli.py wires it)."""
    parser = argparse.ArgumentParser(prog="scribe")
    add_parser(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(["batch", *(sys.argv[1:] if argv is None else argv)])
        return args.func(args)
    except ScribeError as exc:
        print(f"scribe: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("scribe: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    from scribe.batch import main as _main  # one copy of the module, also in spawned workers

    sys.exit(_main())
