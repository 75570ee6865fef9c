"""Batch: discovery, metadata, resume, drafts, bad files, kill-and-resume, watch, executors.

Offline and fast: .txt transcripts, and for audio a fake Engine (a plug-in named
"fake_engine:make", written to a temporary folder on sys.path / PYTHONPATH) over short
synthetic WAV files. Only the test marked `whisper` loads real weights.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import wave
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from scribe import batch as b
from scribe import metadata as md
from scribe.errors import UsageError
from scribe.executors import ProcessExecutor, SerialExecutor, threads_per_worker
from scribe.schema import Transcript

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPTS = ROOT / "samples" / "transcripts"
BAD_AUDIO = ROOT / "samples" / "bad-audio"
SR = 16000

FAKE_ENGINE = '''
"""A stand-in for Whisper: says the same dictation for any audio, after FAKE_DELAY seconds."""
import os, time
from scribe.transcribe import RawSegment, RawWord

TEXT = (open(os.environ["FAKE_TEXT"]).read() if os.environ.get("FAKE_TEXT") else
        "We spent twenty four minutes on neuro re-ed, ninety seven one twelve. He did tandem stance "
        "on foam, three sets of thirty seconds, with contact guard assist. Berg today was forty four "
        "out of fifty six. Goal remains community ambulation.")


class Engine:
    engine = "fake"

    def __init__(self, model):
        self.model = model or "fake"

    def decode(self, audio, *, prompt, clips):
        time.sleep(float(os.environ.get("FAKE_DELAY", "0")))
        words = TEXT.split()
        step = 2.0 / len(words)
        raw = [RawWord(" " + w, 0.5 + i * step, 0.5 + (i + 1) * step, 0.95) for i, w in enumerate(words)]
        return [RawSegment(start=0.5, end=2.5, text=" " + TEXT, words=raw, avg_logprob=-0.2,
                           no_speech_prob=0.01, compression_ratio=1.2)]


def make(model):
    return Engine(model)
'''


@pytest.fixture
def fake_engine(tmp_path, monkeypatch):
    """The plug-in engine name, importable here and in subprocesses."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "fake_engine.py").write_text(FAKE_ENGINE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
    sys.modules.pop("fake_engine", None)
    b._engine.cache_clear()
    return "fake_engine:make"


def speech_wav(path: Path, seed: int = 0, seconds: float = 3.0) -> Path:
    """Silence, a loud noise burst the energy detector takes for speech, silence."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = np.zeros(n, dtype=np.float32)
    x[int(0.5 * SR): n - int(0.5 * SR)] = 0.1 * rng.standard_normal(n - SR)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return path


def copy_transcripts(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(TRANSCRIPTS / f"{n}.txt", folder / f"{n}.txt")) for n in names]


def run(folder: Path, out: Path | None = None, **kw) -> b.BatchReport:
    kw.setdefault("executor", SerialExecutor())
    settings = kw.pop("settings", None) or b.BatchSettings(**kw.pop("options", {}))
    return b.run_batch(folder, out or folder.parent / "out", settings=settings, **kw)


def rows(report: b.BatchReport) -> dict[str, b.FileReport]:
    return {f.source: f for f in report.files}


def scribe_batch(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scribe.batch", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, **kw)


THREE = ["01_stroke_right_hemiparesis", "05_vestibular_telehealth_complete", "12_falls_older_adult_group"]


# --- discovery ------------------------------------------------------------------------------------


def test_discover_finds_recordings_and_transcripts_and_says_what_it_skipped(tmp_path):
    d = tmp_path / "in"
    speech_wav(d / "a.wav")
    speech_wav(d / "sub" / "b.wav")
    (d / "sub" / "b.json").write_text("{}")  # b.wav's sidecar: not a skipped file
    (d / "c.txt").write_text("Tandem stance on foam.")
    (d / "visit.txt").write_text("Tandem stance.")
    speech_wav(d / "visit.wav")
    (d / "photo.jpg").write_bytes(b"\xff\xd8")
    (d / ".DS_Store").write_bytes(b"x")
    (d / ".hidden").mkdir()
    speech_wav(d / ".hidden" / "x.wav")
    (d / "notes").mkdir()
    (d / "notes" / "old.txt").write_text("an output")
    items = list(b.discover(d, exclude=d / "notes"))
    found = {i.rel: i for i in items if isinstance(i, b.Found)}
    skipped = {i.rel: i.reason for i in items if isinstance(i, b.Skipped)}
    assert set(found) == {"a.wav", "sub/b.wav", "c.txt", "visit.txt", "visit.wav"}
    assert found["a.wav"].kind == "audio" and found["c.txt"].kind == "text"
    assert found["a.wav"].duration == pytest.approx(3.0, abs=0.01)
    # two inputs of one name keep their notes apart; others keep their own name
    assert (found["visit.wav"].base, found["visit.txt"].base, found["sub/b.wav"].base) == \
        ("visit_wav", "visit_txt", "sub/b")
    assert skipped == {".DS_Store": "hidden", ".hidden": "hidden",
                       "photo.jpg": "not a recording or a .txt transcript"}


def test_discover_puts_longest_recordings_first(tmp_path):
    speech_wav(tmp_path / "a_short.wav", seconds=2)
    speech_wav(tmp_path / "b_long.wav", seconds=5)
    (tmp_path / "0.txt").write_text("Tandem stance.")
    assert [i.rel for i in b.discover(tmp_path)] == ["b_long.wav", "a_short.wav", "0.txt"]


# --- metadata -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("2026-11-26_PT-0042_jdoe.m4a", {"date_of_service": date(2026, 11, 26), "patient": "PT-0042", "therapist": "jdoe"}),
    ("2026-11-26_PT-0042_jdoe_second.m4a",
     {"date_of_service": date(2026, 11, 26), "patient": "PT-0042", "therapist": "jdoe"}),
    ("2026-11-26_MRN12345.wav", {"date_of_service": date(2026, 11, 26), "patient": "MRN12345"}),
    ("2026-11-26_notes.m4a", {"date_of_service": date(2026, 11, 26)}),  # 'notes' is no patient ID
    ("2026-02-30_PT-1_jdoe.m4a", {}),  # not a date: nothing at all
    ("01_stroke_right_hemiparesis.m4a", {}),
    ("PT-0042_2026-11-26.m4a", {}),
])
def test_file_name_pattern(name, expected):
    assert md.from_file_name(name) == expected


@pytest.mark.parametrize("text, expected", [
    ("This is a treatment note for Mr. Daniel Okafor, seen today.", {"patient": "Mr. Daniel Okafor"}),
    ("Patient is Marcus Lee, traumatic brain injury.", {"patient": "Marcus Lee"}),
    ("Patient is a twenty nine year old woman.", {}),
    ("This is Linda Chen, relapsing remitting MS.", {}),  # a patient or the therapist? not said
    ("This is Jane Doe, PT, dictating.", {"therapist": "Jane Doe", "credentials": "PT"}),
    ("Date of service November 26, 2026. Tandem stance.", {"date_of_service": date(2026, 11, 26)}),
    ("Seen today for balance.", {}),  # "today" is never a date
    ("I wrote the note for Monday.", {}),
    ("Payer is Medicare. ICD-10 code R26.81.", {"payer": "Medicare", "diagnosis_codes": ["R26.81"]}),
    ("Patient is Marcus Lee. Later: patient is Mark Lee.", {}),  # said two ways: neither is taken
])
def test_metadata_said_outright_only(text, expected):
    assert dict(md.from_dictation(Transcript(text=text)).fields) == expected


def test_metadata_sources_in_order_and_missing_is_a_finding(tmp_path):
    rec = tmp_path / "2026-11-26_PT-0042_jdoe.txt"
    rec.write_text("Patient is Marcus Lee. Tandem stance on foam.")
    (tmp_path / "2026-11-26_PT-0042_jdoe.yaml").write_text("payer: Medicare\ntherapist: Jane Doe\n")
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,patient,diagnosis_codes\n2026-11-26_PT-0042_jdoe.txt,PT-0042,R26.81;I69.351\n")
    layers = md.external_layers(rec, rec.name, md.Manifest.load(manifest))
    resolved = md.resolve([*layers, md.from_dictation(Transcript(text=rec.read_text()))])
    assert resolved.meta.patient == "PT-0042" and resolved.meta.payer == "Medicare"
    assert resolved.meta.therapist == "Jane Doe" and resolved.meta.date_of_service == date(2026, 11, 26)
    assert resolved.meta.diagnosis_codes == ["R26.81", "I69.351"]
    assert resolved.sources == {"patient": "manifest", "diagnosis_codes": "manifest", "payer": "sidecar",
                                "therapist": "sidecar", "date_of_service": "file name"}
    rules = {f.rule: f for f in resolved.findings}
    assert set(rules) == {"session_metadata_conflict"}  # all given; but the sources disagree
    assert "patient: manifest says 'PT-0042', dictation says 'Marcus Lee'" in rules["session_metadata_conflict"].message
    assert "therapist: sidecar says 'Jane Doe', file name says 'jdoe'" in rules["session_metadata_conflict"].message


def test_no_metadata_is_a_finding_never_a_guess(tmp_path):
    d = tmp_path / "in"
    copy_transcripts(d, THREE[:1])
    note = json.loads((tmp_path / "out" / f"{THREE[0]}.json").read_text()) if run(d) else None
    assert note["meta"]["date_of_service"] is None  # not today
    missing = [f for f in note["findings"] if f["rule"] == "session_metadata_missing"]
    assert missing and "date of service" in missing[0]["message"] and "payer" in missing[0]["message"]
    heard = [f for f in note["findings"] if f["rule"] == "session_metadata_from_dictation"]
    assert heard and "Mr. Daniel Okafor" in heard[0]["message"] and heard[0]["evidence"]
    assert note["meta"]["patient"] == "Mr. Daniel Okafor"


@pytest.mark.parametrize("csv_text, words", [
    ("name,patient\na.txt,PT-1\n", "needs a 'file' column"),
    ("file,patinet\na.txt,PT-1\n", "unknown key 'patinet'"),
    ("file,date_of_service\na.txt,11/26/2026\n", "YYYY-MM-DD"),
    ("file,patient\na.txt,PT-1\na.txt,PT-2\n", "a second row"),
    ("file,diagnosis_codes\na.txt,hemiparesis\n", "not an ICD-10 code"),
])
def test_bad_manifest_is_a_usage_error(tmp_path, csv_text, words):
    (tmp_path / "m.csv").write_text(csv_text)
    with pytest.raises(UsageError, match=words):
        md.Manifest.load(tmp_path / "m.csv")


def test_bad_sidecar_fails_that_file_only(tmp_path):
    d = tmp_path / "in"
    copy_transcripts(d, THREE[:2])
    (d / f"{THREE[0]}.json").write_text('{"patient": "PT-1", "dob": "1950-01-01"}')
    report = run(d)
    r = rows(report)
    assert r[f"{THREE[0]}.txt"].status == "failed" and "unknown key 'dob'" in r[f"{THREE[0]}.txt"].reason
    assert "sidecar" in r[f"{THREE[0]}.txt"].fix
    assert r[f"{THREE[1]}.txt"].status == "done" and report.exit_status == 1


def test_manifest_rows_match_by_path_or_unique_name(tmp_path):
    d = tmp_path / "in"
    copy_transcripts(d / "monday", THREE[:1])
    copy_transcripts(d / "tuesday", THREE[1:2])
    (tmp_path / "m.csv").write_text(f"file,patient\nmonday/{THREE[0]}.txt,PT-1\n{THREE[1]}.txt,PT-2\n"
                                    "missing.m4a,PT-3\n")
    report = run(d, manifest=tmp_path / "m.csv")
    assert report.unused_manifest_rows == ["missing.m4a"]
    assert rows(report)[f"monday/{THREE[0]}.txt"].meta["patient"] == "manifest"
    assert rows(report)[f"tuesday/{THREE[1]}.txt"].meta["patient"] == "manifest"
    note = json.loads((tmp_path / "out" / "tuesday" / f"{THREE[1]}.json").read_text())
    assert note["meta"]["patient"] == "PT-2"


# --- notes, report, resume ----------------------------------------------------------------------------


def test_text_batch_writes_notes_and_report(tmp_path):
    d = tmp_path / "in"
    copy_transcripts(d, THREE)
    copy_transcripts(d / "clinic2", ["09_post_op_tka_terse"])
    out = tmp_path / "out"
    report = run(d, out)
    assert report.exit_status == 0 and report.totals.done == 4 and report.totals.failed == 0
    for name in THREE + ["clinic2/09_post_op_tka_terse"]:
        for ext in ("md", "html", "json"):
            assert (out / f"{name}.{ext}").is_file()
    r = rows(report)[f"{THREE[0]}.txt"]
    assert r.units == {"97112": 2, "97110": 1} and r.engine == "text" and r.findings
    assert report.totals.units["97112"] >= 2 and sum(report.totals.findings.values()) > 0
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk["totals"]["done"] == 4 and len(on_disk["files"]) == 4
    html = (out / "report.html").read_text()
    assert f'href="{THREE[0]}.html"' in html and 'href="clinic2/09_post_op_tka_terse.md"' in html
    assert not list(out.rglob("*.tmp"))


def test_report_html_escapes_file_names(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(TRANSCRIPTS / f"{THREE[0]}.txt", d / "<b>x & y.txt")
    run(d)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "&lt;b&gt;x &amp; y.txt" in html and "<b>x" not in html
    assert 'href="%3Cb%3Ex%20%26%20y.html"' in html


def test_rerun_skips_what_is_done_and_redoes_what_changed(tmp_path):
    d = tmp_path / "in"
    files = copy_transcripts(d, THREE)
    assert run(d).totals.done == 3
    again = run(d)
    assert (again.totals.done, again.totals.unchanged) == (0, 3)
    assert b.summary(again).startswith("Nothing to do: 3 notes up to date")
    files[1].write_text(files[1].read_text() + " Total treatment time forty minutes.")
    third = run(d)
    assert (third.totals.done, third.totals.unchanged) == (1, 2)
    assert rows(third)[files[1].name].status == "done"
    # a setting that changes the note redoes every file
    ama = run(d, options={"method": "ama"})
    assert ama.totals.done == 3
    # and a sidecar that appears changes that file's note
    (d / f"{THREE[2]}.json").write_text('{"payer": "Medicare"}')
    side = run(d, options={"method": "ama"})
    assert [f.source for f in side.files if f.status == "done"] == [f"{THREE[2]}.txt"]


def test_note_settings_change_reuses_the_transcript(tmp_path, fake_engine, monkeypatch):
    d = tmp_path / "in"
    speech_wav(d / "a.wav")
    run(d, options={"engine": fake_engine})
    calls = []
    monkeypatch.setattr(b, "_engine", lambda *a: calls.append(a))  # no engine may be needed
    report = run(d, options={"engine": fake_engine, "method": "ama"})
    row = rows(report)["a.wav"]
    assert row.status == "done" and "transcript reused" in row.remark and calls == []


def test_edited_or_signed_draft_is_never_overwritten(tmp_path):
    d = tmp_path / "in"
    out = tmp_path / "out"
    (src,) = copy_transcripts(d, THREE[:1])
    run(d, out)
    md_file = out / f"{THREE[0]}.md"
    md_file.write_text(md_file.read_text() + "\nEdited by the therapist.\n")
    # same recording: nothing to do, the edit stays
    same = rows(run(d, out))[src.name]
    assert same.status == "unchanged" and "edited" in same.remark
    # a changed recording: a new version beside the edited draft
    src.write_text(src.read_text() + " Total treatment time fifty minutes.")
    new = rows(run(d, out))[src.name]
    assert new.status == "done" and new.version == 2 and new.outputs["md"] == f"{THREE[0]}.v2.md"
    assert "edited draft v1 is kept" in new.remark
    assert md_file.read_text().endswith("Edited by the therapist.\n") and (out / f"{THREE[0]}.v2.md").is_file()
    # v2 is signed: the next change makes v3
    (out / f"{THREE[0]}.v2.signed").write_text("")
    src.write_text(src.read_text() + " Next visit Tuesday.")
    assert rows(run(d, out))[src.name].version == 3


def test_untouched_draft_is_replaced_in_place(tmp_path):
    d = tmp_path / "in"
    out = tmp_path / "out"
    (src,) = copy_transcripts(d, THREE[:1])
    run(d, out)
    src.write_text(src.read_text() + " Total treatment time fifty minutes.")
    row = rows(run(d, out))[src.name]
    assert row.version == 1 and not list(out.glob("*.v2.*"))


def test_a_file_not_written_by_scribe_is_never_overwritten(tmp_path):
    d = tmp_path / "in"
    out = tmp_path / "out"
    copy_transcripts(d, THREE[:1])
    out.mkdir()
    (out / f"{THREE[0]}.md").write_text("the therapist's own note")
    row = rows(run(d, out))[f"{THREE[0]}.txt"]
    assert row.version == 2 and (out / f"{THREE[0]}.md").read_text() == "the therapist's own note"


def test_deleted_draft_is_written_again(tmp_path):
    d = tmp_path / "in"
    out = tmp_path / "out"
    copy_transcripts(d, THREE[:1])
    run(d, out)
    (out / f"{THREE[0]}.html").unlink()
    assert rows(run(d, out))[f"{THREE[0]}.txt"].status == "done"
    assert (out / f"{THREE[0]}.html").is_file()


def test_a_kill_between_the_two_phases_is_finished_not_taken_for_an_edit(tmp_path, monkeypatch):
    d = tmp_path / "in"
    out = tmp_path / "out"
    (src,) = copy_transcripts(d, THREE[:1])
    run(d, out)
    src.write_text(src.read_text() + " Total treatment time fifty minutes.")
    real = b.write_atomic
    calls = []

    def dies_after_one_note(path, text):
        if path.suffix in (".md", ".html", ".json") and ".scribe-batch" not in path.parts:
            calls.append(path)
            if len(calls) == 2:
                raise KeyboardInterrupt  # as if killed: one new file written, the rest old
        real(path, text)

    monkeypatch.setattr(b, "write_atomic", dies_after_one_note)
    with pytest.raises(KeyboardInterrupt):
        run(d, out)
    monkeypatch.setattr(b, "write_atomic", real)
    row = rows(run(d, out))[src.name]
    assert row.status == "done" and row.version == 1  # finished in place: no v2, no "edited"
    assert "fifty minutes" in (out / f"{THREE[0]}.html").read_text()


def test_one_batch_at_a_time_per_out_folder(tmp_path):
    d = tmp_path / "in"
    copy_transcripts(d, THREE[:1])
    out = tmp_path / "out"
    with b._Lock(out):
        with pytest.raises(UsageError, match="another scribe batch"):
            run(d, out)


# --- bad files --------------------------------------------------------------------------------------


def bad_folder(folder: Path, good: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(good):
        speech_wav(folder / f"good_{i}.wav", seed=i)
    for name in ("empty.m4a", "not_audio.wav", "short_0.3s.wav", "silent_5s.m4a",
                 "truncated_dictation.m4a", "truncated_dictation.mp3"):
        shutil.copy(BAD_AUDIO / name, folder / name)
    (folder / "README.pdf").write_bytes(b"%PDF-1.4")
    return folder


def test_bad_files_are_reported_with_reasons_and_the_batch_goes_on(tmp_path, fake_engine):
    d = bad_folder(tmp_path / "in")
    report = run(d, options={"engine": fake_engine})
    r = rows(report)
    assert report.exit_status == 1 and report.totals.done == 2 and report.totals.failed == 6
    assert r["good_0.wav"].status == r["good_1.wav"].status == "done"
    expect = {
        "empty.m4a": ("E006", "is empty (0 bytes)", "no data"),
        "not_audio.wav": ("E006", "is a text file, not audio", "name it .txt"),
        "short_0.3s.wav": ("E006", "is only 0.30 s long", "shorter than a second"),
        "silent_5s.m4a": ("E008", "no speech found", "microphone"),
        "truncated_dictation.m4a": ("E006", "truncated", "copy it again"),
        "truncated_dictation.mp3": ("E006", "truncated", "copy it again"),
    }
    for name, (code, reason, fix) in expect.items():
        assert (r[name].status, r[name].code) == ("failed", code), name
        assert reason in r[name].reason and fix in r[name].fix, name
    assert [s.source for s in report.skipped] == ["README.pdf"]
    # failed files are remembered: the next run does not redo them, unless asked
    again = run(d, options={"engine": fake_engine})
    assert again.totals.done == 0 and again.totals.failed == 6 and "failed before" in rows(again)["empty.m4a"].remark
    retried = run(d, options={"engine": fake_engine}, retry_failed=True)
    assert retried.totals.failed == 6 and rows(retried)["empty.m4a"].remark is None


def test_bad_and_silent_files_never_load_a_model(tmp_path, monkeypatch):
    d = tmp_path / "in"
    d.mkdir()
    for name in ("empty.m4a", "short_0.3s.wav", "silent_5s.m4a", "truncated_dictation.m4a"):
        shutil.copy(BAD_AUDIO / name, d / name)
    loads = []
    monkeypatch.setattr(b, "_engine", lambda *a: loads.append(a))
    assert run(d).totals.failed == 4 and loads == []


def test_a_saved_transcript_beside_a_recording_is_not_its_sidecar(tmp_path, fake_engine):
    d = tmp_path / "in"
    speech_wav(d / "a.wav")
    (d / "a.json").write_text(Transcript(text="Tandem stance.", source="a.wav").model_dump_json())
    assert rows(run(d, options={"engine": fake_engine}))["a.wav"].status == "done"


def test_a_bug_costs_one_file_not_the_batch(tmp_path, monkeypatch):
    d = tmp_path / "in"
    copy_transcripts(d, THREE[:2])
    real = b.md.resolve

    def broken(layers):
        if any("Okafor" in str(getattr(layer, "fields", {})) for layer in layers):
            raise ZeroDivisionError("boom")
        return real(layers)

    monkeypatch.setattr(b.md, "resolve", broken)
    r = rows(run(d))
    assert r[f"{THREE[0]}.txt"].code == "E000" and "ZeroDivisionError" in r[f"{THREE[0]}.txt"].reason
    assert r[f"{THREE[1]}.txt"].status == "done"


def test_a_model_that_does_not_load_stops_the_batch(tmp_path):
    d = tmp_path / "in"
    speech_wav(d / "a.wav")
    with pytest.raises(b.ModelError, match="cannot be imported"):
        run(d, options={"engine": "no_such_module:make"})
    assert json.loads((tmp_path / "out" / "report.json").read_text())["interrupted"] is True


# --- executors and threads ----------------------------------------------------------------------------


@pytest.mark.parametrize("jobs, cpus, threads", [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 8, 4), (1, 1, 1)])
def test_threads_are_shared_between_workers(jobs, cpus, threads):
    assert threads_per_worker(jobs, cpus) == threads


def test_worker_sets_its_thread_budget_for_torch_and_numba():
    code = ("from scribe.batch import _set_threads; _set_threads(1, 'openai-whisper'); "
            "import os, torch, numba; print(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS, "
            "os.environ['OMP_NUM_THREADS'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "1", "1"]


@pytest.mark.whisper
def test_worker_keeps_one_thread_through_a_real_transcription():
    # numba (Whisper's word timings) resets torch's OpenMP threads to all CPUs unless told
    code = ("from scribe import batch; from scribe.executors import _init_worker; _init_worker(1); "
            "from scribe.audio import load_audio; from scribe.transcribe import transcribe; import torch; "
            "s = batch.BatchSettings(model='tiny.en', threads=1); "
            f"transcribe(load_audio({str(ROOT / 'samples/audio/28_parkinsons_maintenance_goal.ogg')!r}), "
            "batch._LazyEngine(s)); print(torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-1] == "1"


class HoldingExecutor:
    """Hands each finished job back only when waited on; remembers the most it held at once."""

    capacity = 2

    def __init__(self):
        self.held, self.most = [], 0

    def submit(self, fn, *args):
        handle = SerialExecutor().submit(lambda: fn(*args))
        self.held.append(handle)
        self.most = max(self.most, len(self.held))
        return handle

    def wait(self, handles, timeout):
        first = self.held.pop(0)
        return {first}, set(handles) - {first}

    def cancel_queued(self, handles):
        return set()

    def close(self, *, cancel=False):
        pass


def test_files_in_flight_stay_bounded_whatever_the_folder_size(tmp_path):
    d = tmp_path / "in"
    for i in range(12):
        (d / f"{i:02d}.txt").parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(TRANSCRIPTS / f"{THREE[i % 3]}.txt", d / f"{i:02d}.txt")
    executor = HoldingExecutor()
    assert run(d, executor=executor).totals.done == 12
    assert executor.most == HoldingExecutor.capacity


def test_process_pool_gives_the_same_notes(tmp_path):
    d = tmp_path / "in"
    copy_transcripts(d, THREE)
    pooled = run(d, tmp_path / "pool", executor=ProcessExecutor(2, threads=1), jobs=2)
    serial = run(d, tmp_path / "serial")
    assert pooled.totals.done == 3 and len(pooled.totals.peak_rss_mb_per_worker) >= 1
    for name in THREE:
        assert (tmp_path / "pool" / f"{name}.md").read_text() == (tmp_path / "serial" / f"{name}.md").read_text()
    assert serial.totals.done == 3


def test_dask_executor_runs_the_same_pure_function(tmp_path):
    distributed = pytest.importorskip("distributed")
    from scribe.executors import DaskExecutor

    d = tmp_path / "in"
    copy_transcripts(d, THREE[:2])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        executor = DaskExecutor(distributed.Client(cluster))
        report = run(d, tmp_path / "dask", executor=executor, jobs=1)
        executor.client.close()
    assert report.totals.done == 2
    serial = run(d, tmp_path / "serial")
    assert serial.totals.done == 2
    name = f"{THREE[0]}.md"
    assert (tmp_path / "dask" / name).read_text() == (tmp_path / "serial" / name).read_text()


# --- the command, end to end ------------------------------------------------------------------------


def test_usage_errors_exit_2(tmp_path):
    r = scribe_batch(str(tmp_path / "nope"))
    assert r.returncode == 2 and "is not a folder" in r.stderr
    assert scribe_batch(str(tmp_path), "--jobs", "0").returncode == 2
    assert scribe_batch(str(tmp_path), "--format", "pdf").returncode == 2
    (tmp_path / "m.csv").write_text("name\n")
    r = scribe_batch(str(tmp_path), "--manifest", str(tmp_path / "m.csv"))
    assert r.returncode == 2 and "'file' column" in r.stderr and "Traceback" not in r.stderr


def test_done_criterion_good_and_bad_files(tmp_path, fake_engine):
    """Good recordings, corrupt, empty, 0.3 s, text named .wav, silent: notes for the good
    ones, the others reported with clear reasons, exit 1, nothing lost."""
    d = bad_folder(tmp_path / "in", good=3)
    out = tmp_path / "out"
    r = scribe_batch(str(d), "--out", str(out), "--jobs", "2", "--engine", fake_engine)
    assert r.returncode == 1, r.stderr
    assert "3 written, 0 up to date, 6 failed, 1 skipped" in r.stdout
    assert "empty.m4a: is empty (0 bytes) [E006]" in r.stdout and "fix:" in r.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["jobs"] == 2 and report["threads"] == 1
    assert sorted(f["source"] for f in report["files"] if f["status"] == "done") == \
        ["good_0.wav", "good_1.wav", "good_2.wav"]
    for i in range(3):
        note = json.loads((out / f"good_{i}.json").read_text())
        assert note["units"]["units"] == {"97112": 2}
    assert not list(out.rglob("*.tmp"))


def complete(out: Path) -> list[str]:
    """Notes on disk, each checked whole (the JSON parses, the HTML is closed)."""
    names = []
    for j in sorted(out.glob("*.json")):
        if j.name == "report.json":
            continue
        json.loads(j.read_text())
        assert (out / f"{j.stem}.html").read_text().rstrip().endswith("</html>")
        names.append(j.stem)
    return names


def test_sigkill_then_rerun_finishes_and_a_third_run_does_nothing(tmp_path, fake_engine):
    d = tmp_path / "in"
    for i in range(8):
        speech_wav(d / f"rec_{i}.wav", seed=i)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "scribe.batch", str(d), "--out", str(out), "--jobs", "1",
            "--engine", fake_engine]
    env = {**os.environ, "FAKE_DELAY": "0.6"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("rec_*.json"))) < 2:  # json is written last
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, mid-run
    proc.wait()
    done_before = complete(out)
    assert 2 <= len(done_before) < 8
    r = subprocess.run(args, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert complete(out) == [f"rec_{i}" for i in range(8)]
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["unchanged"] >= len(done_before) - 1 and report["totals"]["done"] >= 8 - len(done_before)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    t0 = time.monotonic()
    r = subprocess.run(args, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("Nothing to do: 8 notes up to date")
    assert time.monotonic() - t0 < 5 + 5  # 5 s, plus start-up


def test_progress_lines_when_not_a_terminal(tmp_path):
    d = tmp_path / "in"
    copy_transcripts(d, THREE[:2])
    r = scribe_batch(str(d), "--jobs", "1")
    assert r.returncode == 0
    lines = [x for x in r.stderr.splitlines() if x.startswith("[")]
    assert len(lines) == 2 and lines[0].startswith("[1/2] ") and "note written" in lines[0]


# --- watch mode ---------------------------------------------------------------------------------------


def test_watch_takes_files_once_stable_and_stops_cleanly(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    out = tmp_path / "out"
    stop = threading.Event()
    events = []
    result = {}

    def watch():
        result["report"] = b.watch_batch(d, out, settings=b.BatchSettings(), executor=SerialExecutor(),
                                         stop=stop, settle_seconds=0.3, poll_seconds=0.05,
                                         on_event=events.append)

    t = threading.Thread(target=watch)
    t.start()
    try:
        src = TRANSCRIPTS / f"{THREE[0]}.txt"
        growing = d / "growing.txt"
        growing.write_text("Tandem stance")
        shutil.copy(src, d / "first.txt")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (out / "first.md").exists():
            with growing.open("a") as fh:  # still being written: never taken
                fh.write(" on foam")
            time.sleep(0.05)
        assert (out / "first.md").exists() and not (out / "growing.md").exists()
        while time.monotonic() < deadline and not (out / "growing.md").exists():
            time.sleep(0.05)
        assert (out / "growing.md").exists()
        assert "foam" in (out / "growing.md").read_text()
    finally:
        stop.set()
        t.join(timeout=20)
    report = result["report"]
    assert report.totals.done == 2 and not report.interrupted
    assert [e.kind for e in events].count("file") == 2
    assert json.loads((out / "report.json").read_text())["totals"]["done"] == 2


def test_watch_cli_ctrl_c_exits_cleanly(tmp_path, fake_engine):
    d = tmp_path / "in"
    d.mkdir()
    out = tmp_path / "out"
    env = {**os.environ, "FAKE_DELAY": "1.0"}
    proc = subprocess.Popen([sys.executable, "-m", "scribe.batch", str(d), "--out", str(out), "--watch",
                             "--settle", "0.3", "--jobs", "1", "--engine", fake_engine],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "watching" not in (proc.stderr.readline() or ""):
            pass
        speech_wav(d / "a.wav")
        # Ctrl-C once the file is in hand: it is finished, then the watch exits
        while time.monotonic() < deadline and not list((out / ".scribe-batch").glob("*")) :
            time.sleep(0.05)
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert (out / "a.md").exists() and "1 written" in stdout


# --- the draft store (--save) ----------------------------------------------------------------------------


STROKE = TRANSCRIPTS / f"{THREE[0]}.txt"  # signs without acknowledgements once patient and date are known


def run_saving(folder: Path, out: Path, store, **kw) -> b.BatchReport:
    return run(folder, out, sink=b.StoreSink(b.FilesystemSink(out), store), **kw)


def store_ids(store) -> list[int]:
    from scribe.store import list_drafts

    return sorted(d.id for d in list_drafts(store))


def test_save_stores_each_new_draft_once_and_the_report_has_its_id(tmp_path, migrated, scribe_home):
    from scribe.schema import Note
    from scribe.store import get_record, open_store

    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(STROKE, d / "2025-03-07_PT-0042_jdoe.txt")
    shutil.copy(TRANSCRIPTS / f"{THREE[1]}.txt", d / "2025-03-08_PT-0043_jdoe.txt")
    out = tmp_path / "out"
    r = scribe_batch(str(d), "--out", str(out), "--jobs", "1", "--save", "--method", "ama", "--format", "md")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("2 written, 0 up to date, 0 failed, 0 skipped.") and "draft" not in r.stdout
    files = {f["source"]: f for f in json.loads((out / "report.json").read_text())["files"]}
    html = (out / "report.html").read_text()
    store = open_store()  # where SCRIBE_HOME points: the one the command used
    try:
        assert store_ids(store) == sorted(f["draft_id"] for f in files.values())
        for name, patient in (("2025-03-07_PT-0042_jdoe", "PT-0042"), ("2025-03-08_PT-0043_jdoe", "PT-0043")):
            row = files[f"{name}.txt"]
            record = get_record(store, row["draft_id"])
            assert record.note == Note.model_validate_json((out / f"{name}.json").read_text())
            assert record.note.meta.patient == patient and record.method == "ama"
            assert record.note.transcript.text.split() == (d / f"{name}.txt").read_text().split()
            assert record.audio_filename is None  # a transcript: no recording to keep
            assert f"store draft {row['draft_id']}" in html
        assert not (out / "2025-03-07_PT-0042_jdoe.html").exists()  # only the formats asked for (and json)
        again = scribe_batch(str(d), "--out", str(out), "--jobs", "1", "--save", "--method", "ama",
                             "--format", "md")
        assert again.returncode == 0 and again.stdout.startswith("Nothing to do: 2 notes up to date")
        assert len(store_ids(store)) == 2  # nothing new stored
        rerun = {f["source"]: f["draft_id"] for f in json.loads((out / "report.json").read_text())["files"]}
        assert rerun == {k: f["draft_id"] for k, f in files.items()}
    finally:
        store.close()


def test_a_changed_transcript_is_a_new_store_draft_and_the_edited_one_stays(tmp_path, store):
    from scribe.store import edit_draft, get_record

    d, out = tmp_path / "in", tmp_path / "out"
    (src,) = copy_transcripts(d, THREE[:1])
    first = rows(run_saving(d, out, store))[src.name].draft_id
    edit_draft(store, first, text=get_record(store, first).note.transcript.text + " Edited in review.")
    before = get_record(store, first)
    src.write_text(src.read_text() + " Total treatment time fifty minutes.")
    row = rows(run_saving(d, out, store))[src.name]
    assert row.status == "done" and row.draft_id not in (None, first) and store_ids(store) == [first, row.draft_id]
    assert f"store draft {first} is kept as it is; this is store draft {row.draft_id}" in row.remark
    assert get_record(store, first) == before and before.version == 2  # the edit stays, untouched
    assert "fifty minutes" in get_record(store, row.draft_id).note.transcript.text
    assert row.version == 1 and "fifty minutes" in (out / f"{THREE[0]}.md").read_text()  # on disk: in place


def test_a_signed_store_draft_stays_locked_when_its_source_changes(tmp_path, store, monkeypatch):
    from scribe.store import add_user, get_record, sign_note, users, verify

    monkeypatch.setattr(users, "SCRYPT_LOG2_N", 10)  # a fast passphrase hash, as in test_signing.py
    monkeypatch.setattr(users, "SCRYPT_P", 1)
    add_user(store, "jdoe", name="Jane Doe", credentials="PT, DPT", passphrase="correct horse battery")
    d, out = tmp_path / "in", tmp_path / "out"
    d.mkdir()
    src = Path(shutil.copy(STROKE, d / "2025-03-07_PT-0042_jdoe.txt"))
    first = rows(run_saving(d, out, store))[src.name].draft_id
    sign_note(store, first, username="jdoe", passphrase="correct horse battery")
    signed = get_record(store, first)
    assert signed.locked
    src.write_text(src.read_text() + " Next visit Tuesday.")
    row = rows(run_saving(d, out, store))[src.name]
    assert row.draft_id != first and get_record(store, row.draft_id).status.value == "draft"
    assert get_record(store, first) == signed and verify(store).ok


def test_a_recording_is_stored_with_its_draft(tmp_path, store, fake_engine):
    from scribe.store import get_audio, get_record

    d, out = tmp_path / "in", tmp_path / "out"
    wav = speech_wav(d / "a.wav")
    row = rows(run_saving(d, out, store, options={"engine": fake_engine}))["a.wav"]
    assert get_record(store, row.draft_id).audio_filename == "a.wav"
    assert get_audio(store, row.draft_id) == ("a.wav", "audio/wav", wav.read_bytes())


def test_a_recording_changed_before_it_is_stored_is_not_stored(tmp_path, store, fake_engine, monkeypatch):
    d, out = tmp_path / "in", tmp_path / "out"
    wav = speech_wav(d / "a.wav")
    real = b.process_file

    def then_rerecorded(job, settings):
        result = real(job, settings)
        speech_wav(wav, seed=1)  # the recorder wrote the file again after it was transcribed
        return result

    monkeypatch.setattr(b, "process_file", then_rerecorded)
    row = rows(run_saving(d, out, store, options={"engine": fake_engine}))["a.wav"]
    assert row.draft_id is None and "recording changed" in row.remark and store_ids(store) == []
    monkeypatch.setattr(b, "process_file", real)
    assert rows(run_saving(d, out, store, options={"engine": fake_engine}))["a.wav"].draft_id == 1


def test_drafts_written_before_are_stored_once_and_a_rewrite_keeps_its_store_draft(tmp_path, store):
    d, out = tmp_path / "in", tmp_path / "out"
    copy_transcripts(d, THREE[:2])
    run(d, out)  # without --save: the store has nothing
    assert store_ids(store) == []
    saved = run_saving(d, out, store)
    ids = {f.source: f.draft_id for f in saved.files}
    assert saved.totals.done == 2 and sorted(ids.values()) == store_ids(store)
    assert all(f.version == 1 for f in saved.files)  # written again in place, not as new versions
    (out / f"{THREE[0]}.html").unlink()  # a deleted draft is written again, and is in the store already
    again = run_saving(d, out, store)
    assert rows(again)[f"{THREE[0]}.txt"].status == "done" and len(store_ids(store)) == 2
    assert {f.source: f.draft_id for f in again.files} == ids


def test_a_store_error_stops_the_batch_in_one_line_and_keeps_the_drafts(tmp_path, store, monkeypatch):
    import scribe.store
    from scribe.store import StoreError

    d, out = tmp_path / "in", tmp_path / "out"
    copy_transcripts(d, THREE)
    real, calls = scribe.store.create_draft, []

    def fails_second(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise StoreError("database error: disk I/O error", path="scribe.db")
        return real(*args, **kw)

    monkeypatch.setattr(scribe.store, "create_draft", fails_second)
    with pytest.raises(StoreError) as err:
        run_saving(d, out, store)
    assert err.value.exit_status == 2 and "\n" not in str(err.value)
    assert str(err.value).startswith("scribe.db: database error: disk I/O error (storing the draft of ")
    assert len(complete(out)) == 2 and len(store_ids(store)) == 1  # the second draft is on disk, not stored
    assert json.loads((out / "report.json").read_text())["interrupted"]
    monkeypatch.setattr(scribe.store, "create_draft", real)
    report = run_saving(d, out, store)  # a new run stores the rest, and nothing twice
    assert (report.totals.done, report.totals.unchanged) == (2, 1)
    assert sorted(f.draft_id for f in report.files) == store_ids(store) and len(store_ids(store)) == 3


def test_a_store_that_cannot_be_opened_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    d = tmp_path / "in"
    copy_transcripts(d, THREE[:1])
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    monkeypatch.setenv("SCRIBE_HOME", str(home))
    assert b.main([str(d), "--save", "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot create the database" in err and "[E020]" in err
    assert not (d / "notes").exists()  # stopped before any work


# --- real Whisper ---------------------------------------------------------------------------------------


@pytest.mark.whisper
@pytest.mark.slow
def test_real_recordings_with_whisper(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(ROOT / "samples" / "audio" / "28_parkinsons_maintenance_goal.ogg", d)
    shutil.copy(BAD_AUDIO / "silent_5s.m4a", d)
    r = subprocess.run([sys.executable, "-m", "scribe.batch", str(d), "--out", str(tmp_path / "out"),
                        "--jobs", "1", "--model", "tiny.en"], capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    by = {f["source"]: f for f in report["files"]}
    assert by["28_parkinsons_maintenance_goal.ogg"]["status"] == "done"
    assert by["28_parkinsons_maintenance_goal.ogg"]["engine"] == "openai-whisper"
    assert by["silent_5s.m4a"]["code"] == "E008"
