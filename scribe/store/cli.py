"""The store's commands: drafts, show, edit, sign, addendum, verify, export, users, review.

Wired into `scribe` by scribe/cli.py (`add_parsers(sub)`); each handler parses, calls
the library and prints. Errors are ScribeErrors, printed by scribe/cli.py as one line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import UsageError

# The handlers import the store when they run: building the parser stays cheap for every
# other `scribe` command (SQLAlchemy and Alembic take most of a second to import).
STATUSES = ("draft", "awaiting_cosign", "signed")  # records.NoteStatus
DEFAULT_PORT = 8097
DEFAULT_EDITOR = "vi"
MAX_TEXT_FILE_BYTES = 1024 * 1024  # an addendum or edited dictation larger than this is a mistake


def add_parsers(subparsers) -> None:
    """Add the store's subcommands to `scribe`'s subparsers."""
    p = subparsers.add_parser("drafts", help="list stored notes: id, patient, date, status, findings")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--status", choices=STATUSES, help="only notes of this status")
    p.set_defaults(func=cmd_drafts)

    p = subparsers.add_parser("show", help="print a stored note with its signatures, addenda and history")
    p.add_argument("id")
    p.add_argument("--format", choices=["md", "json"], default="md")
    p.set_defaults(func=cmd_show)

    p = subparsers.add_parser("edit", help="edit a draft's dictation and details in $EDITOR (a new version)")
    p.add_argument("id")
    p.add_argument("--text-file", help="the edited text (as `scribe edit` shows it, or just the dictation)")
    p.add_argument("--patient")
    p.add_argument("--date", dest="date_of_service", metavar="YYYY-MM-DD", help="date of service")
    p.add_argument("--payer")
    p.add_argument("--diagnosis-codes", metavar="CODES", help="comma-separated ICD-10 codes")
    p.add_argument("--by", help="who edits (default: your login name)")
    p.set_defaults(func=cmd_edit)

    p = subparsers.add_parser("sign", help="sign a draft (asks for the passphrase); it is then locked")
    p.add_argument("id")
    _signer(p)
    p.add_argument("--acknowledge", action="append", default=[], metavar="RULE=REASON",
                   help="sign over an error finding, with the reason (repeatable)")
    p.set_defaults(func=cmd_sign)

    p = subparsers.add_parser("addendum", help="add a signed, dated addendum to a signed note")
    p.add_argument("id")
    p.add_argument("--text-file", required=True)
    _signer(p)
    p.set_defaults(func=cmd_addendum)

    p = subparsers.add_parser("verify", help="check the audit chain and content hashes (exit 1 if changed)")
    p.add_argument("id", nargs="?")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_verify)

    p = subparsers.add_parser("export", help="export a stored note as PDF, FHIR, Markdown or HTML")
    p.add_argument("id")
    p.add_argument("--format", choices=["pdf", "fhir", "md", "html"], required=True)
    p.add_argument("-o", "--output", help="output file (default: stdout; PDF: note-ID.pdf)")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("users", help="therapists who sign: add, list")
    users = p.add_subparsers(dest="users_command", required=True, metavar="add|list")
    u = users.add_parser("add", help="add a therapist (the passphrase is stored only as a scrypt hash)")
    u.add_argument("username")
    u.add_argument("--name", required=True, help="full name, as signed")
    u.add_argument("--credentials", required=True, help="e.g. PT,DPT or PTA or OTR/L")
    u.add_argument("--passphrase-file", help="read the passphrase from this file (default: ask)")
    cosign = u.add_mutually_exclusive_group()
    cosign.add_argument("--needs-cosign", dest="needs_cosign", action="store_true", default=None,
                        help="notes need a supervising therapist's co-signature (default for PTA, COTA)")
    cosign.add_argument("--no-cosign", dest="needs_cosign", action="store_false",
                        help="notes need no co-signature (even for an assistant)")
    u.set_defaults(func=cmd_users_add)
    u = users.add_parser("list", help="list therapists")
    u.add_argument("--format", choices=["text", "json"], default="text")
    u.set_defaults(func=cmd_users_list)

    p = subparsers.add_parser("review", help="serve the local review page (http://127.0.0.1:8097/)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (another needs --allow-remote)")
    p.add_argument("--allow-remote", action="store_true",
                   help="listen on a non-loopback address; every page then requires a login")
    p.add_argument("--ssl-certfile", help="TLS certificate (strongly advised with --allow-remote)")
    p.add_argument("--ssl-keyfile", help="TLS private key")
    p.set_defaults(func=cmd_review)


def _signer(p: argparse.ArgumentParser) -> None:
    p.add_argument("--by", required=True, metavar="USER", help="the signing therapist's user name")
    p.add_argument("--passphrase-file", help="read the passphrase from this file (default: ask)")


# --- handlers ----------------------------------------------------------------------------------


def cmd_drafts(args: argparse.Namespace) -> int:
    from . import drafts
    from .db import open_store

    store = open_store()
    rows = drafts.list_drafts(store, status=args.status)
    if args.format == "json":
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return 0
    if not rows:
        print("No stored notes. Save one with: scribe note FILE --save")
        return 0
    print(f"{'ID':>5}  {'DATE':10}  {'STATUS':16}  {'FINDINGS':>10}  PATIENT")
    for r in rows:
        findings = f"{r.findings} ({r.errors} err)" if r.errors else str(r.findings)
        print(f"{r.id:>5}  {r.date_of_service or '-':10}  {r.status.value:16}  {findings:>10}  {r.patient or '-'}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from ..export import note_markdown
    from . import drafts
    from .db import open_store
    from .records import STATUS_LABEL

    store = open_store()
    record = drafts.get_record(store, drafts.parse_note_id(args.id), viewed_by=drafts.local_actor())
    if args.format == "json":
        print(record.model_dump_json(indent=2))
        return 0
    print(f"Note {record.id}: {STATUS_LABEL[record.status]}, version {record.version}\n")
    sys.stdout.write(note_markdown(record))
    print("\n## History\n")
    for v in record.versions:
        print(f"- version {v.number}, {v.created_at}, {v.author}: {v.summary}")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    from . import drafts
    from .db import open_store

    store = open_store()
    note_id = drafts.parse_note_id(args.id)
    record = drafts.get_record(store, note_id)
    if record.locked:
        raise drafts.locked_error(note_id)
    fields = {k: getattr(args, k) for k in drafts.EDIT_FIELDS if getattr(args, k) is not None}
    text, meta = None, record.note.meta
    if args.text_file:
        text, meta = drafts.parse_edit_text(_read_text(args.text_file), meta)
    elif not fields:
        original = drafts.edit_text(record)
        edited = _run_editor(original)
        if edited == original:
            print(f"No changes to note {note_id}.")
            return 0
        text, meta = drafts.parse_edit_text(edited, meta)
    if fields:
        meta = drafts.meta_with(meta, **fields)
    version = drafts.edit_draft(store, note_id, text=text, meta=meta, by=args.by)
    if version is None:
        print(f"No changes to note {note_id}.")
        return 0
    latest = drafts.get_record(store, note_id)
    errors = latest.unresolved_errors()
    print(f"Note {note_id} version {version.number}: {version.summary}")
    print(f"{len(latest.note.findings)} findings" + (f"; unresolved errors: {', '.join(errors)}" if errors else ""))
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    from . import drafts
    from .db import open_store
    from .records import STATUS_LABEL
    from .signing import sign_note

    acks = []
    for item in args.acknowledge:
        rule, sep, reason = item.partition("=")
        if not sep or not rule.strip() or not reason.strip():
            raise UsageError(f"--acknowledge {item!r}: write RULE=REASON, e.g. vague_language='reviewed, accurate'")
        acks.append((rule.strip(), reason.strip()))
    store = open_store()
    note_id = drafts.parse_note_id(args.id)
    drafts.get_record(store, note_id)  # a missing note is reported before the passphrase is asked
    sig = sign_note(store, note_id, username=args.by, passphrase=_passphrase(args.passphrase_file, args.by),
                    acknowledge=acks)
    status = drafts.get_record(store, note_id).status
    verb = "Co-signed" if sig.role == "cosigner" else "Signed"
    print(f"{verb} note {note_id} as {sig.name}, {', '.join(sig.credentials)} at {sig.signed_at}: "
          f"{STATUS_LABEL[status]}")
    return 0


def cmd_addendum(args: argparse.Namespace) -> int:
    from . import drafts
    from .db import open_store
    from .signing import add_addendum

    store = open_store()
    note_id = drafts.parse_note_id(args.id)
    drafts.get_record(store, note_id)
    text = _read_text(args.text_file)
    add = add_addendum(store, note_id, text, username=args.by, passphrase=_passphrase(args.passphrase_file, args.by))
    print(f"Addendum {add.number} to note {note_id} signed by {add.name}, {', '.join(add.credentials)} "
          f"at {add.signed_at}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from . import drafts
    from .db import open_store
    from .verify import verify

    store = open_store()
    note_id = drafts.parse_note_id(args.id) if args.id else None
    if note_id is not None:
        drafts.get_record(store, note_id)
    report = verify(store, note_id)
    if args.format == "json":
        print(report.model_dump_json(indent=2))
    elif report.ok:
        print(f"OK: {report.notes} note{'s' if report.notes != 1 else ''} and {report.entries} audit entries "
              f"unchanged; chain head {report.head}")
    else:
        changed = report.notes_changed()
        for p in report.problems:
            print(f"CHANGED {p.message}", file=sys.stderr)
        named = f": note{'s' if len(changed) != 1 else ''} {', '.join(map(str, changed))}" if changed else ""
        print(f"scribe: verify found {len(report.problems)} record{'s' if len(report.problems) != 1 else ''} "
              f"changed outside Scribe{named}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_export(args: argparse.Namespace) -> int:
    from ..export import EXTENSIONS, export_note
    from . import drafts
    from .db import open_store

    store = open_store()
    note_id = drafts.parse_note_id(args.id)
    record = drafts.get_record(store, note_id)
    data = export_note(record, args.format)
    out = args.output or (f"note-{note_id}{EXTENSIONS['pdf']}" if args.format == "pdf" else None)
    drafts.log_export(store, note_id, args.format, data)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    print(f"{path} ({args.format}, {len(data)} bytes)")
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    from . import drafts
    from .db import open_store
    from .users import add_user

    if args.passphrase_file:
        passphrase = _read_passphrase_file(args.passphrase_file)
    else:
        passphrase = getpass.getpass(f"New passphrase for {args.username}: ")
        if getpass.getpass("Again: ") != passphrase:
            raise UsageError("the two passphrases differ")
    user = add_user(open_store(), args.username, name=args.name, credentials=args.credentials,
                    passphrase=passphrase, needs_cosign=args.needs_cosign, actor=drafts.local_actor())
    cosign = " (notes need a co-signature)" if user.needs_cosign else ""
    print(f"Added {user.username}: {user.display}{cosign}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from .db import open_store
    from .users import list_users

    users = list_users(open_store())
    if args.format == "json":
        print(json.dumps([u.model_dump() for u in users], indent=2))
        return 0
    if not users:
        print("No users. Add one with: scribe users add USER --name NAME --credentials PT,DPT")
    for u in users:
        print(f"{u.username:16} {u.display}{'  (needs co-signature)' if u.needs_cosign else ''}")
    return 0


def cmd_review(args: argparse.Namespace) -> int:

    from ..review import serve

    return serve(host=args.host, port=args.port, allow_remote=args.allow_remote,
                 ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)


# --- helpers -----------------------------------------------------------------------------------


def _read_text(path: str) -> str:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_TEXT_FILE_BYTES:
            raise UsageError(f"{path}: larger than {MAX_TEXT_FILE_BYTES // 1024} KiB")
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read: {exc.strerror}") from None


def _read_passphrase_file(path: str) -> str:
    text = sys.stdin.readline() if path == "-" else _read_text(path)
    lines = text.splitlines()
    passphrase = lines[0] if lines else ""
    if not passphrase:
        raise UsageError(f"{path}: the passphrase file is empty")
    return passphrase


def _passphrase(path: str | None, username: str) -> str:
    if path:
        return _read_passphrase_file(path)
    return getpass.getpass(f"Passphrase for {username}: ")


def _run_editor(text: str) -> str:
    """`text` edited in $VISUAL / $EDITOR (vi by default), through a private temporary file."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or DEFAULT_EDITOR
    fd, name = tempfile.mkstemp(prefix="scribe-edit-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            result = subprocess.run([*shlex.split(editor), name], check=False)
        except FileNotFoundError:
            raise UsageError(f"editor {editor!r} not found: set $EDITOR, or use --text-file") from None
        if result.returncode != 0:
            raise UsageError(f"editor {editor!r} exited with status {result.returncode}; nothing saved")
        return Path(name).read_text(encoding="utf-8")
    finally:
        Path(name).unlink(missing_ok=True)
