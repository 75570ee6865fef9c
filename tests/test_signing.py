"""Users and passphrases, signing (findings acknowledged with a reason), locking,
addenda and co-signatures, through the library and the CLI."""

from __future__ import annotations

import argparse
import json
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from scribe import cli as main_cli
from scribe.errors import UsageError
from scribe.pipeline import note_from_file
from scribe.schema import Note, SessionMeta
from scribe.store import (
    LockedError,
    NotFoundError,
    SigningError,
    UserError,
    acknowledge,
    add_addendum,
    add_user,
    create_draft,
    get_record,
    list_users,
    open_store,
    sign_note,
    users,
    verify,
)
from scribe.store.cli import add_parsers
from scribe.store.models import User

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "transcripts"
STROKE = SAMPLES / "01_stroke_right_hemiparesis.txt"
POSTURE = SAMPLES / "105_ot_stroke_posture_mirror_no_params_sitting_better.txt"
PASSPHRASE = "correct horse battery"


@cache
def sample_note(path: Path, patient: str | None = "Daniel Okafor", day: date | None = date(2025, 3, 7)) -> Note:
    return note_from_file(path, meta=SessionMeta(patient=patient, date_of_service=day))


@pytest.fixture(autouse=True)
def fast_scrypt(monkeypatch):
    monkeypatch.setattr(users, "SCRYPT_LOG2_N", 10)
    monkeypatch.setattr(users, "SCRYPT_P", 1)


@pytest.fixture
def store(store):
    """The shared empty store (conftest.py) with the signing user."""
    add_user(store, "jdoe", name="Jane Doe", credentials="PT, DPT", passphrase=PASSPHRASE)
    return store


@pytest.fixture
def scribe(monkeypatch):
    original = main_cli.build_parser

    def build():
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "drafts" not in sub.choices:
            add_parsers(sub)
        return parser

    monkeypatch.setattr(main_cli, "build_parser", build)
    return lambda *argv: main_cli.main([str(a) for a in argv])


# --- passphrases and users ---------------------------------------------------------------------


def test_passphrases_are_kept_only_as_salted_scrypt_hashes(monkeypatch):
    monkeypatch.setattr(users, "SCRYPT_LOG2_N", 15)
    monkeypatch.setattr(users, "SCRYPT_P", 3)
    first, second = users.hash_passphrase(PASSPHRASE), users.hash_passphrase(PASSPHRASE)
    assert first.startswith("scrypt$15$8$3$") and first != second  # a new salt each time
    assert PASSPHRASE not in first
    assert users.check_passphrase(PASSPHRASE, first) and users.check_passphrase(PASSPHRASE, second)
    assert not users.check_passphrase("correct horse batterY", first)
    assert not users.check_passphrase(PASSPHRASE, "md5$abc")


def test_a_hash_made_at_another_cost_still_checks():
    cheap = users.hash_passphrase(PASSPHRASE)  # the test cost, N=2^10
    assert cheap.startswith("scrypt$10$") and users.check_passphrase(PASSPHRASE, cheap)


def test_users_are_stored_with_their_credentials(store):
    amy = add_user(store, "amy", name="Amy  Lee", credentials="pta", passphrase=PASSPHRASE)
    assert amy.credentials == ["PTA"] and amy.needs_cosign and amy.name == "Amy Lee"
    assert [u.username for u in list_users(store)] == ["amy", "jdoe"]
    with store.transaction() as s:
        assert PASSPHRASE not in s.get(User, "jdoe").passphrase_hash


@pytest.mark.parametrize("username, name, credentials, passphrase, message", [
    ("J Doe", "Jane", "PT", PASSPHRASE, "user name"),
    ("jane", "", "PT", PASSPHRASE, "full name"),
    ("jane", "Jane", "", PASSPHRASE, "credentials"),
    ("jane", "Jane", "PT;<b>", PASSPHRASE, "is not a credential"),
    ("jane", "Jane", "PT", "short", "at least 8 characters"),
    ("jdoe", "Jane", "PT", PASSPHRASE, "already exists"),
])
def test_bad_users_are_refused(store, username, name, credentials, passphrase, message):
    with pytest.raises(UserError, match=message):
        add_user(store, username, name=name, credentials=credentials, passphrase=passphrase)


# --- signing -----------------------------------------------------------------------------------


def test_signing_locks_the_note_and_records_who(store):
    note_id = create_draft(store, sample_note(STROKE))
    sig = sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE)
    record = get_record(store, note_id)
    assert record.status.value == "signed" and record.locked
    assert (sig.name, sig.credentials, sig.role) == ("Jane Doe", ["PT", "DPT"], "author")
    assert record.note.meta.therapist == "Jane Doe" and record.note.meta.credentials == "PT, DPT"
    assert "signature" not in {f.rule for f in record.note.findings}  # checked again as a signed note
    assert record.versions[-1].summary.startswith("prepared for signing by jdoe")
    with pytest.raises(LockedError, match="already signed"):
        sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE)


def test_a_wrong_passphrase_signs_nothing(store):
    note_id = create_draft(store, sample_note(STROKE))
    with pytest.raises(SigningError, match="wrong passphrase for 'jdoe'"):
        sign_note(store, note_id, username="jdoe", passphrase="not it at all")
    with pytest.raises(NotFoundError, match="no user 'kim'"):
        sign_note(store, note_id, username="kim", passphrase=PASSPHRASE)
    record = get_record(store, note_id)
    assert record.status.value == "draft" and record.version == 1 and not record.signatures


def test_error_findings_block_signing_until_acknowledged_with_a_reason(store):
    note_id = create_draft(store, sample_note(POSTURE))
    with pytest.raises(SigningError, match="unresolved error findings: insufficient_intervention_detail"):
        sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE)
    assert get_record(store, note_id).version == 1  # the refused signing left nothing behind
    reason = "posture held throughout; reaches counted"
    sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE,
              acknowledge=[("insufficient_intervention_detail", reason)])
    record = get_record(store, note_id)
    [ack] = record.acknowledgements
    assert (ack.rule, ack.reason, ack.by) == ("insufficient_intervention_detail", reason, "jdoe")
    assert record.status.value == "signed" and verify(store).ok


def test_an_acknowledgement_made_before_signing_counts(store):
    note_id = create_draft(store, sample_note(POSTURE))
    acknowledge(store, note_id, "insufficient_intervention_detail", "counted in the posture block", by="jdoe")
    assert sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE).role == "author"


def test_a_note_without_a_date_of_service_cannot_be_signed(store):
    note_id = create_draft(store, sample_note(STROKE, day=None))
    with pytest.raises(SigningError, match="no date of service; set it first"):
        sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE)
    with pytest.raises(UsageError, match="cannot be acknowledged"):
        sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE, acknowledge=[("signature", "later")])


def test_addenda_are_signed_dated_and_only_for_signed_notes(store):
    note_id = create_draft(store, sample_note(STROKE))
    with pytest.raises(UsageError, match="is a draft: edit it instead"):
        add_addendum(store, note_id, "text", username="jdoe", passphrase=PASSPHRASE)
    sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE)
    with pytest.raises(SigningError):
        add_addendum(store, note_id, "text", username="jdoe", passphrase="wrong passphrase")
    first = add_addendum(store, note_id, "Patient called: no falls.", username="jdoe", passphrase=PASSPHRASE)
    second = add_addendum(store, note_id, "Berg corrected on review.", username="jdoe", passphrase=PASSPHRASE)
    record = get_record(store, note_id)
    assert [a.number for a in record.addenda] == [1, 2] and first.signed_at <= second.signed_at
    assert record.addenda[0].text == "Patient called: no falls." and record.addenda[0].name == "Jane Doe"
    assert record.status.value == "signed" and verify(store).ok


def test_a_pta_note_waits_for_a_pt_cosignature(store):
    add_user(store, "amy", name="Amy Lee", credentials="PTA", passphrase=PASSPHRASE)
    add_user(store, "otto", name="Otto Ray", credentials="OTR/L", passphrase=PASSPHRASE)
    add_user(store, "ben", name="Ben Fox", credentials="PTA", passphrase=PASSPHRASE)
    note_id = create_draft(store, sample_note(STROKE))
    sign_note(store, note_id, username="amy", passphrase=PASSPHRASE)
    assert get_record(store, note_id).status.value == "awaiting_cosign"
    for other in ("amy", "ben", "otto"):  # herself, another PTA, an OT: none may co-sign
        with pytest.raises(SigningError, match="awaits a co-signature by a supervising therapist"):
            sign_note(store, note_id, username=other, passphrase=PASSPHRASE)
    cosig = sign_note(store, note_id, username="jdoe", passphrase=PASSPHRASE)
    record = get_record(store, note_id)
    assert cosig.role == "cosigner" and record.status.value == "signed"
    assert [s.username for s in record.signatures] == ["amy", "jdoe"]
    assert record.note.meta.credentials == "PTA" and verify(store).ok


def test_cosigning_is_not_configured_by_default_for_a_pt(store):
    assert not next(u for u in list_users(store) if u.username == "jdoe").needs_cosign
    add_user(store, "amy", name="Amy Lee", credentials="PTA", passphrase=PASSPHRASE, needs_cosign=False)
    note_id = create_draft(store, sample_note(STROKE))
    sign_note(store, note_id, username="amy", passphrase=PASSPHRASE)
    assert get_record(store, note_id).status.value == "signed"


# --- CLI ---------------------------------------------------------------------------------------


def test_users_sign_and_addendum_through_the_cli(scribe, capsys, tmp_path):
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    assert scribe("users", "add", "jdoe", "--name", "Jane Doe", "--credentials", "PT,DPT",
                  "--passphrase-file", secret) == 0
    assert scribe("users", "list", "--format", "json") == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("["):])[0]["credentials"] == ["PT", "DPT"]
    s = open_store()
    note_id = create_draft(s, sample_note(POSTURE))
    assert scribe("sign", note_id, "--by", "jdoe", "--passphrase-file", secret) == 2
    err = capsys.readouterr().err
    assert "unresolved error findings" in err and len(err.strip().splitlines()) == 1
    assert scribe("sign", note_id, "--by", "jdoe", "--passphrase-file", secret,
                  "--acknowledge", "insufficient_intervention_detail=posture held throughout") == 0
    assert "Signed — locked" in capsys.readouterr().out
    assert scribe("edit", note_id, "--patient", "Someone") == 2
    assert "signed and locked" in capsys.readouterr().err
    text = tmp_path / "addendum.txt"
    text.write_text("Patient called 3/15: no falls.\n")
    assert scribe("addendum", note_id, "--text-file", text, "--by", "jdoe", "--passphrase-file", secret) == 0
    assert "Addendum 1" in capsys.readouterr().out
    assert scribe("verify", note_id) == 0
    assert capsys.readouterr().out.startswith("OK: 1 note and ")
    s.close()


@pytest.mark.parametrize("argv, message", [
    (["sign", "1", "--by", "jdoe", "--acknowledge", "no-equals-sign"], "write RULE=REASON"),
    (["sign", "1", "--by", "jdoe", "--passphrase-file", "PASS", "--acknowledge", "nope=x"], "has no 'nope' finding"),
    (["sign", "1", "--by", "kim", "--passphrase-file", "PASS"], "no user 'kim'"),
    (["sign", "1", "--by", "jdoe", "--passphrase-file", "EMPTY"], "passphrase file is empty"),
])
def test_sign_errors_are_one_line(store, scribe, capsys, tmp_path, argv, message):
    (tmp_path / "pass").write_text(PASSPHRASE)
    (tmp_path / "empty").write_text("")
    create_draft(store, sample_note(STROKE))
    argv = [str(tmp_path / "pass") if a == "PASS" else str(tmp_path / "empty") if a == "EMPTY" else a for a in argv]
    assert scribe(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_sign_asks_for_the_passphrase(store, scribe, monkeypatch, capsys):
    note_id = create_draft(store, sample_note(STROKE))
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or PASSPHRASE)
    assert scribe("sign", note_id, "--by", "jdoe") == 0
    assert asked == ["Passphrase for jdoe: "]
