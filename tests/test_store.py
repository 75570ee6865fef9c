"""The draft store: migrations, drafts and versions, edits, the audit chain, and
`scribe verify` catching records changed outside Scribe (SQL and a raw byte flip)."""

from __future__ import annotations

import argparse
import itertools
import json
import sqlite3
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from scribe import cli as main_cli
from scribe.errors import UsageError
from scribe.pipeline import build_note, note_from_file
from scribe.schema import Note, Segment, SessionMeta, Transcript, Word
from scribe.store import (
    LockedError,
    NotFoundError,
    acknowledge,
    create_draft,
    db,
    edit_draft,
    edit_text,
    get_record,
    list_drafts,
    open_store,
    parse_edit_text,
    save_draft,
    users,
    verify,
)
from scribe.store.cli import add_parsers
from scribe.store.drafts import carry_timings
from scribe.store.signing import sign_note

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "transcripts"
STROKE = SAMPLES / "01_stroke_right_hemiparesis.txt"
POSTURE = SAMPLES / "105_ot_stroke_posture_mirror_no_params_sitting_better.txt"
PASSPHRASE = "correct horse battery"


@cache
def sample_note(path: Path, patient: str | None = None, day: date | None = None) -> Note:
    return note_from_file(path, meta=SessionMeta(patient=patient, date_of_service=day))


@pytest.fixture(autouse=True)
def fast_scrypt(monkeypatch):
    """Cheap scrypt for tests (each stored hash records its own cost)."""
    monkeypatch.setattr(users, "SCRYPT_LOG2_N", 10)
    monkeypatch.setattr(users, "SCRYPT_P", 1)




@pytest.fixture
def scribe(monkeypatch):
    """Run `scribe ...` through the real entry point, with the store's commands wired in."""
    original = main_cli.build_parser

    def build():
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "drafts" not in sub.choices:
            add_parsers(sub)
        return parser

    monkeypatch.setattr(main_cli, "build_parser", build)
    return lambda *argv: main_cli.main([str(a) for a in argv])


def signed_note(store) -> int:
    users.add_user(store, "jdoe", name="Jane Doe", credentials="PT,DPT", passphrase=PASSPHRASE)
    note_id = create_draft(store, sample_note(STROKE, "Daniel Okafor", date(2025, 3, 7)))
    sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE)
    return note_id


# --- opening and migrations -------------------------------------------------------------------


def test_store_lives_in_scribe_home_and_is_private(scribe_home):
    s = open_store()
    path = scribe_home / "scribe.db"
    assert s.url == f"sqlite:///{path}"
    assert path.is_file() and path.stat().st_mode & 0o077 == 0
    assert db.current_revision(s.engine) == db.head_revision()
    s.close()


def test_scribe_db_url_overrides_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRIBE_DB_URL", f"sqlite:///{tmp_path / 'clinic.db'}")
    s = open_store()
    assert (tmp_path / "clinic.db").is_file()
    s.close()


def test_models_match_the_migrations(store):
    """Autogenerate finds nothing to add: models.py and migrations/versions agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from scribe.store.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrations_ship_inside_the_package():
    folder = db.migrations_dir()
    assert (folder / "env.py").is_file() and list((folder / "versions").glob("0001_*.py"))


# --- drafts and versions -----------------------------------------------------------------------


def test_a_draft_keeps_transcript_facts_and_evidence(store):
    note = sample_note(STROKE, "Daniel Okafor", date(2025, 3, 7))
    note_id = int(save_draft(note, store=store))
    record = get_record(store, note_id)
    assert record.status.value == "draft" and record.version == 1 and not record.locked
    assert record.note == note  # transcript, facts, evidence, findings: all of it
    assert record.versions[0].summary == "created from 01_stroke_right_hemiparesis.txt"
    [row] = list_drafts(store)
    assert (row.id, row.patient, row.date_of_service, row.findings) == (note_id, "Daniel Okafor", "2025-03-07",
                                                                        len(note.findings))


def test_save_draft_opens_the_default_store():
    note_id = save_draft(sample_note(STROKE))
    assert note_id == "1"
    s = open_store()
    assert get_record(s, 1).note.transcript.source.endswith("01_stroke_right_hemiparesis.txt")
    s.close()


def test_every_edit_is_a_version_with_who_when_and_what(store):
    note_id = create_draft(store, sample_note(POSTURE))
    record = get_record(store, note_id)
    text = record.note.transcript.text.replace("Mirror therapy for the left hand as well.",
                                               "Mirror therapy for the left hand, three sets of ten.")
    meta = record.note.meta.model_copy(update={"patient": "Mr. Tran", "date_of_service": date(2025, 3, 14)})
    version = edit_draft(store, note_id, text=text, meta=meta, by="jdoe")
    assert version.number == 2 and version.author == "jdoe"
    assert "patient" in version.summary and "dictation (1 passage changed)" in version.summary
    assert "+Mirror therapy for the left hand, three sets of ten." in version.diff
    record = get_record(store, note_id)
    assert record.version == 2 and [v.number for v in record.versions] == [1, 2]
    mirror = [f for f in record.note.findings if "Mirror therapy" in f.message]
    assert mirror == []  # the edit resolved that finding: facts and findings were rebuilt
    assert edit_draft(store, note_id, text=text, meta=meta, by="jdoe") is None  # nothing changed


def test_the_edit_file_round_trips_details_and_dictation(store):
    note_id = create_draft(store, sample_note(STROKE, "Daniel Okafor"))
    record = get_record(store, note_id)
    edited = edit_text(record).replace("Date of service:", "Date of service: 2025-03-07").replace(
        "Diagnosis codes:", "Diagnosis codes: i69.351, R26.81")
    text, meta = parse_edit_text(edited, record.note.meta)
    assert text == record.note.transcript.text.strip("\n")
    assert meta.date_of_service == date(2025, 3, 7) and meta.diagnosis_codes == ["I69.351", "R26.81"]
    assert parse_edit_text("just words", record.note.meta) == ("just words", record.note.meta)


@pytest.mark.parametrize("header, message", [
    ("Date of service: 14/03/2025", "is not a date"),
    ("Room: 4", "is not a detail"),
])
def test_a_bad_edit_file_is_one_clear_error(header, message):
    with pytest.raises(UsageError, match=message):
        parse_edit_text(f"{header}\n---\nwords", SessionMeta())


def test_edits_keep_the_audio_seconds_of_untouched_words():
    text = "Berg was 44. Tandem stance on foam."
    words = [Word(text=w, start=i, end=i + 0.5, char_start=text.index(w), char_end=text.index(w) + len(w))
             for i, w in enumerate(["Berg", "was", "44.", "Tandem", "stance", "on", "foam."])]
    old = Transcript(text=text, segments=[Segment(start=0, end=7, text=text, char_start=0, char_end=len(text),
                                                  words=words)])
    new = carry_timings(old, "Berg was 46. Tandem stance on foam.")
    kept = {w.text: (w.start, w.char_start) for s in new.segments for w in s.words}
    assert kept["Tandem"] == (3, 13) and kept["foam."] == (6, 30) and "44." not in kept
    note = build_note(new)
    assert note.transcript.text == "Berg was 46. Tandem stance on foam."


def test_acknowledging_needs_a_known_rule_and_a_reason(store):
    note_id = create_draft(store, sample_note(POSTURE))
    with pytest.raises(UsageError, match="has no 'vague_wording' finding"):
        acknowledge(store, note_id, "vague_wording", "x")
    with pytest.raises(UsageError, match="give a reason"):
        acknowledge(store, note_id, "vague_language", "  ")
    with pytest.raises(UsageError, match="cannot be acknowledged"):
        acknowledge(store, note_id, "signature", "later")
    ack = acknowledge(store, note_id, "vague_language", "'better' is the wife's own word", by="jdoe")
    assert get_record(store, note_id).acknowledgements == [ack]


def test_missing_notes_are_one_line_errors(store):
    with pytest.raises(NotFoundError, match="no note 7"):
        get_record(store, 7)


def test_a_signed_note_refuses_edits(store):
    note_id = signed_note(store)
    with pytest.raises(LockedError, match="signed and locked.*scribe addendum"):
        edit_draft(store, note_id, text="changed", by="jdoe")
    with pytest.raises(LockedError):
        acknowledge(store, note_id, "signature", "x")


# --- audit chain and verify ----------------------------------------------------------------------


def test_the_audit_log_is_a_chain(store):
    from scribe.store import audit
    from scribe.store.models import AuditRow

    note_id = signed_note(store)
    get_record(store, note_id, viewed_by="jdoe")
    with store.transaction() as s:
        rows = list(s.query(AuditRow).order_by(AuditRow.id))
    assert [r.action for r in rows] == ["user_added", "created", "edited", "signed", "viewed"]
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    report = verify(store)
    assert report.ok and report.entries == 5 and report.head == rows[-1].hash


def test_append_only_tables_refuse_updates_and_deletes(store):
    signed_note(store)
    with sqlite3.connect(store.engine.url.database) as conn:
        for sql in ("UPDATE audit SET actor = 'x'", "DELETE FROM versions", "UPDATE signatures SET name = 'x'"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)


def _tamper(store, *sql: str) -> None:
    """Change the database as someone with write access would: triggers dropped first."""
    with sqlite3.connect(store.engine.url.database) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
        for name in names:
            conn.execute(f"DROP TRIGGER {name}")
        for statement in sql:
            conn.execute(statement)


@pytest.mark.parametrize("sql, message", [
    ("UPDATE versions SET note_json = replace(note_json, 'forty four', 'fifty four') WHERE number = 1",
     "version 1 was changed"),
    ("UPDATE signatures SET name = 'Someone Else'", "signature by jdoe no longer matches"),
    ("UPDATE notes SET patient = 'Another Patient'", "patient or date of service was changed"),
    ("UPDATE notes SET status = 'draft'", "status 'draft' was changed"),
    ("DELETE FROM signatures", "a signature was deleted"),
    ("UPDATE audit SET actor = 'mallory' WHERE action = 'signed'", "audit entry 4 (signed) was changed"),
    ("DELETE FROM audit WHERE action = 'created'", "audit entries 2-2 are missing"),
    ("UPDATE users SET passphrase_hash = 'scrypt$1$1$1$AA==$AA=='", "user jdoe: changed outside Scribe"),
])
def test_verify_names_each_change_made_outside_scribe(store, sql, message):
    note_id = signed_note(store)
    assert verify(store).ok
    _tamper(store, sql)
    report = verify(store)
    assert not report.ok
    assert any(message in p.message for p in report.problems), report.problems
    if "user" not in message:
        assert report.notes_changed() in ([note_id], [])


def test_one_changed_byte_in_the_database_file_fails_scribe_verify(store, scribe, capsys):
    """The done-criterion: flip one byte of a signed note in the SQLite file itself."""
    note_id = signed_note(store)
    other = create_draft(store, sample_note(POSTURE))
    store.close()
    path = Path(store.engine.url.database)
    with sqlite3.connect(path) as conn:
        conn.execute("VACUUM")  # no stale copies in free pages: every match is live data
    data = bytearray(path.read_bytes())
    at = data.find(b"Daniel Okafor")  # in the signed note's versions only
    assert at != -1
    data[at] ^= 0x20  # 'D' -> 'd'
    path.write_bytes(bytes(data))
    assert scribe("verify", other) == 0
    capsys.readouterr()
    assert scribe("verify") == 1
    err = capsys.readouterr().err
    assert f"note {note_id}" in err and "changed outside Scribe" in err
    assert err.strip().splitlines()[-1].endswith(f"note {note_id}")


# --- CLI ---------------------------------------------------------------------------------------


def test_drafts_show_edit_through_the_cli(store, scribe, capsys, tmp_path):
    note_id = create_draft(store, sample_note(POSTURE))
    assert scribe("drafts", "--format", "json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["id"] == note_id and row["status"] == "draft" and row["errors"] == 1
    assert scribe("edit", note_id, "--patient", "Mr. Tran", "--date", "2025-03-14") == 0
    assert "version 2: edited patient; date of service" in capsys.readouterr().out
    edited = tmp_path / "edit.txt"
    edited.write_text(edit_text(get_record(store, note_id)).replace("as well.", ", three sets of ten."))
    assert scribe("edit", note_id, "--text-file", edited) == 0
    assert "version 3" in capsys.readouterr().out
    assert scribe("show", note_id) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Note {note_id}: Draft — not signed, version 3")
    assert "## History" in out and "version 2, " in out
    assert scribe("drafts") == 0
    assert "Mr. Tran" in capsys.readouterr().out


def test_edit_runs_the_editor(store, scribe, monkeypatch, tmp_path, capsys):
    note_id = create_draft(store, sample_note(STROKE))
    script = tmp_path / "fake-editor"
    script.write_text("#!/bin/sh\nsed -i 's/^Patient:.*/Patient: Daniel Okafor/' \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    assert scribe("edit", note_id) == 0
    assert get_record(store, note_id).note.meta.patient == "Daniel Okafor"
    monkeypatch.setenv("EDITOR", "true")
    assert scribe("edit", note_id) == 0
    assert "No changes" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["show", "12"], "no note 12"),
    (["show", "x"], "'x' is not a note ID"),
    (["edit", "1", "--text-file", "/nonexistent"], "no such file"),
    (["export", "1", "--format", "docx"], "invalid choice"),
])
def test_cli_errors_are_one_line(store, scribe, capsys, argv, message):
    create_draft(store, sample_note(STROKE))
    assert scribe(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_the_cli_parser_stays_cheap_to_build():
    """`scribe --help` and the other commands do not import SQLAlchemy or Alembic."""
    import subprocess
    import sys

    from scribe.store.cli import STATUSES
    from scribe.store.records import NoteStatus

    assert STATUSES == tuple(s.value for s in NoteStatus)
    code = ("import argparse, sys; from scribe.store.cli import add_parsers; "
            "add_parsers(argparse.ArgumentParser().add_subparsers()); "
            "print(sorted(m for m in ('sqlalchemy', 'alembic', 'fastapi', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
