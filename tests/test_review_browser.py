"""The review page. In a real headless Chromium (Debian's chromium driven by Playwright):
open a draft, hear a fact, edit, resolve a finding, sign, see it locked. Without a
browser (Starlette's test client): CSRF, host and origin checks, cookies, escaping,
login for remote use, audio ranges."""

from __future__ import annotations

import importlib.util
import math
import re
import shutil
import socket
import struct
import threading
import time
import wave
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from scribe.errors import UsageError
from scribe.pipeline import build_note, load_text_transcript
from scribe.review import create_app, serve
from scribe.schema import Note, Segment, SessionMeta, Transcript, Word
from scribe.store import add_user, create_draft, get_record, users, verify

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "transcripts"
POSTURE = SAMPLES / "105_ot_stroke_posture_mirror_no_params_sitting_better.txt"
PASSPHRASE = "correct horse battery"
SECONDS = 30.0  # length of the synthetic recording
SAMPLE_RATE = 8000
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAS_BROWSER = Path(CHROMIUM).exists() and importlib.util.find_spec("playwright") is not None


def timed_transcript(path: Path) -> Transcript:
    """A typed sample given word timings, as if Whisper had heard it over SECONDS."""
    plain = load_text_transcript(path)
    text = plain.text
    segments = []
    for sentence in re.finditer(r"[^.]+\.?", text):
        words = [Word(text=w.group(), start=round(w.start() / len(text) * SECONDS, 2),
                      end=round(w.end() / len(text) * SECONDS, 2), probability=0.99,
                      char_start=w.start(), char_end=w.end())
                 for w in re.finditer(r"\S+", text) if sentence.start() <= w.start() < sentence.end()]
        if words:
            segments.append(Segment(start=words[0].start, end=words[-1].end, text=sentence.group(),
                                    char_start=words[0].char_start, char_end=words[-1].char_end, words=words))
    return plain.model_copy(update={"segments": segments, "duration_seconds": SECONDS,
                                    "source": str(path.with_suffix(".wav"))})


@cache
def posture_note(patient: str = "Mr. Tran") -> Note:
    return build_note(timed_transcript(POSTURE), meta=SessionMeta(patient=patient, date_of_service=date(2025, 3, 14)))


def write_wav(path: Path) -> Path:
    """A quiet 220 Hz tone, SECONDS long: a real recording for the player to seek in."""
    frames = b"".join(struct.pack("<h", int(800 * math.sin(2 * math.pi * 220 * i / SAMPLE_RATE)))
                      for i in range(int(SECONDS * SAMPLE_RATE)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(frames)
    return path


@pytest.fixture(autouse=True)
def fast_scrypt(monkeypatch):
    monkeypatch.setattr(users, "SCRYPT_LOG2_N", 10)
    monkeypatch.setattr(users, "SCRYPT_P", 1)


@pytest.fixture
def store(store):
    """The shared empty store (conftest.py) with the signing user."""
    add_user(store, "jdoe", name="Jane Doe", credentials="PT,DPT", passphrase=PASSPHRASE)
    return store


@pytest.fixture
def draft(store, tmp_path) -> int:
    return create_draft(store, posture_note(), audio=write_wav(tmp_path / "dictation.wav"))


# --- the browser -------------------------------------------------------------------------------


@pytest.fixture
def server(store):
    """The review app on a free loopback port, in a thread, for the test's duration."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the review server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.skipif(not HAS_BROWSER, reason="needs Debian's chromium (apt-get install chromium) and Playwright "
                                            "for Python (pip install playwright); no browser download is used")
def test_review_edit_resolve_sign_and_lock_in_chromium(store, draft, server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    note = posture_note()
    mirror = next(t for t in note.facts.techniques if t.name == "Mirror therapy")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server) else None)
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        # the list: drafts by date, patient, status
        page.goto(server + "/")
        row = page.locator("table.notes tbody tr").first
        expect(row).to_contain_text("Mr. Tran")
        expect(row).to_contain_text("2025-03-14")
        expect(row).to_contain_text("Draft — not signed")
        row.get_by_role("link", name="Mr. Tran").click()

        # the note beside its dictation: a fact selects its words and seeks the recording
        expect(page.locator("#status")).to_have_text("Draft — not signed")
        page.wait_for_function("document.getElementById('recording').readyState >= 1")
        page.locator(".col.note .ev", has_text="Mirror therapy").first.click()
        seeked = page.evaluate("document.getElementById('recording').currentTime")
        assert seeked == pytest.approx(mirror.evidence.audio_start, abs=0.3)
        selected = page.evaluate("[document.getElementById('dictation').selectionStart,"
                                 " document.getElementById('dictation').selectionEnd]")
        assert selected == [mirror.evidence.start, mirror.evidence.end]
        finding = page.locator(".finding[data-rule='insufficient_intervention_detail']")
        expect(finding).to_have_count(1)
        expect(finding).to_contain_text("Mirror therapy")
        page.screenshot(path=str(tmp_path / "1-draft.png"), full_page=True)

        # edit: the mirror therapy gets its sets and reps, and a drill with no dose is added;
        # the note and findings are rebuilt from the words
        text = page.input_value("#dictation").replace(
            "Mirror therapy for the left hand as well.",
            "Mirror therapy for the left hand, three sets of ten. Then weight shifts in sitting.")
        page.fill("#dictation", text)
        page.click("#save")
        expect(page.locator(".message")).to_have_text("Saved a new version. Findings were checked again.")
        expect(page.locator(".finding[data-rule='insufficient_intervention_detail']")).to_have_count(1)
        expect(page.locator(".finding[data-rule='insufficient_intervention_detail']")).to_contain_text("weight shifts")
        expect(page.locator("#history")).to_contain_text("v2")

        # resolve the remaining error finding: acknowledged with a reason
        finding = page.locator(".finding[data-rule='insufficient_intervention_detail']")
        finding.locator("input[name=reason]").fill("weight shifts were a short warm-up; no dose kept")
        finding.get_by_role("button", name="Acknowledge").click()
        expect(page.locator(".message")).to_have_text("Finding acknowledged.")
        expect(page.locator(".finding[data-rule='insufficient_intervention_detail'] .ack")).to_contain_text(
            "weight shifts were a short warm-up")

        # a wrong passphrase signs nothing; the right one signs and locks
        page.select_option("#signer", "jdoe")
        page.fill("#sign-passphrase", "not the passphrase")
        page.click("#sign-button")
        expect(page.locator("#error")).to_contain_text("wrong passphrase")
        expect(page.locator("#status")).to_have_text("Draft — not signed")
        page.select_option("#signer", "jdoe")
        page.fill("#sign-passphrase", PASSPHRASE)
        page.click("#sign-button")
        expect(page.locator(".message")).to_contain_text("Signed. The note is locked")
        expect(page.locator("#status")).to_have_text("Signed — locked")
        expect(page.locator("#locked")).to_be_visible()
        expect(page.locator("textarea#dictation")).to_have_count(0)
        expect(page.locator("#save")).to_have_count(0)
        expect(page.locator(".ack-form")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "2-signed.png"), full_page=True)

        # even a hand-made edit request is refused with a clear message
        status, body = page.evaluate("""async () => {
            const token = document.querySelector("input[name=csrf_token]").value;
            const form = new URLSearchParams({csrf_token: token, text: "changed", patient: "x"});
            const r = await fetch(location.pathname + "/edit", {method: "POST", body: form});
            return [r.status, await r.text()];
        }""")
        assert status == 409 and "signed and locked" in body
        page.goto(server + "/")
        expect(page.locator("table.notes tbody tr").first).to_contain_text("Signed — locked")
        browser.close()

    assert outside == [] and dialogs == []  # nothing loaded from another host; no script ran from text
    record = get_record(store, draft)
    assert record.status.value == "signed" and record.signatures[0].username == "jdoe"
    assert record.acknowledgements[0].reason == "weight shifts were a short warm-up; no dose kept"
    assert verify(store).ok


# --- without a browser -------------------------------------------------------------------------


@pytest.fixture
def client(store):
    from starlette.testclient import TestClient

    return TestClient(create_app(store), base_url="http://127.0.0.1:8097")


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', html).group(1)


def test_user_text_is_escaped_on_every_page(store, client):
    note_id = create_draft(store, posture_note("<script>alert(1)</script> O'Neil"))
    listing = client.get("/").text
    page = client.get(f"/notes/{note_id}").text
    for html in (listing, page):
        assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert page.count("<script") == 1  # only /static/review.js


def test_cookies_and_headers_keep_the_page_local(client):
    response = client.get("/")
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    assert client.get("/docs").status_code == 404  # no API docs pulling scripts from a CDN
    assert client.get("/static/review.js").status_code == 200


def test_posts_need_the_csrf_token_and_the_same_origin(store, draft, client):
    page = client.get(f"/notes/{draft}").text
    form = {"rule": "vague_language", "reason": "the wife's own word"}
    assert client.post(f"/notes/{draft}/acknowledge", data=form).status_code == 403
    assert client.post(f"/notes/{draft}/acknowledge", data={**form, "csrf_token": "0" * 64}).status_code == 403
    foreign = client.post(f"/notes/{draft}/acknowledge", data={**form, "csrf_token": _token(page)},
                          headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert get_record(store, draft).acknowledgements == []
    ok = client.post(f"/notes/{draft}/acknowledge", data={**form, "csrf_token": _token(page)},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == f"/notes/{draft}?done=acknowledged"
    assert get_record(store, draft).acknowledgements[0].reason == "the wife's own word"


def test_other_host_names_are_refused(client):
    assert client.get("/", headers={"Host": "attacker.example"}).status_code == 400


def test_the_recording_is_served_in_ranges(draft, client):
    whole = client.get(f"/notes/{draft}/audio")
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    part = client.get(f"/notes/{draft}/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert client.get(f"/notes/{draft}/audio", headers={"Range": "bytes=99999999-"}).status_code == 416


def test_remote_use_requires_a_login(store, draft):
    from starlette.testclient import TestClient

    client = TestClient(create_app(store, require_login=True, allowed_hosts=["*"]), base_url="http://10.1.2.3")
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get(f"/notes/{draft}/audio", follow_redirects=False).status_code == 303
    token = _token(client.get("/login").text)
    wrong = client.post("/login", data={"csrf_token": token, "username": "jdoe", "passphrase": "nope nope"})
    assert wrong.status_code == 403 and "Wrong user name or passphrase." in wrong.text
    ok = client.post("/login", data={"csrf_token": token, "username": "jdoe", "passphrase": PASSPHRASE},
                     follow_redirects=False)
    assert ok.status_code == 303
    page = client.get(f"/notes/{draft}")
    assert page.status_code == 200 and "signed in as jdoe" in page.text
    assert 'name="username"' not in page.text.split('id="sign-form"')[1].split("</form>")[0]


def test_review_binds_to_loopback_unless_remote_is_allowed():
    with pytest.raises(UsageError, match="--allow-remote"):
        serve(host="0.0.0.0", port=8097)
    with pytest.raises(UsageError, match="no therapist can log in"):
        serve(host="0.0.0.0", port=8097, allow_remote=True)


def test_the_list_finds_patients_and_filters_by_status(store, client):
    create_draft(store, posture_note("Mr. Tran"))
    create_draft(store, posture_note("Ms. Ortiz"))
    found = client.get("/?q=ortiz").text
    assert "Ms. Ortiz" in found and "Mr. Tran" not in found
    assert "Mr. Tran" in client.get("/?status=draft").text
    assert "Mr. Tran" not in client.get("/?status=signed").text


def test_measures_show_the_change_since_the_prior_visit(store, draft, client):
    earlier = posture_note().transcript.text.replace("was 9 inches, up from 5 inches at his evaluation", "was 7 inches")
    prior = create_draft(store, build_note(Transcript(text=earlier),
                                           meta=SessionMeta(patient="mr. tran", date_of_service=date(2025, 3, 7))))
    page = client.get(f"/notes/{draft}").text
    table = page.split('id="prior-visit"')[1].split("</table>")[0]
    assert f'href="/notes/{prior}"' in page and "2025-03-07" in page
    assert "Functional Reach Test" in table and "7 inches" in table and "+2 inches (improved)" in table
    assert 'id="prior-visit"' not in client.get(f"/notes/{prior}").text  # nothing earlier than the first visit


def test_a_partial_edit_form_changes_only_what_it_sends(store, draft, client):
    token = _token(client.get(f"/notes/{draft}").text)
    response = client.post(f"/notes/{draft}/edit", data={"csrf_token": token, "payer": "Medicare Part B"},
                           follow_redirects=False)
    assert response.headers["location"] == f"/notes/{draft}?done=saved"
    meta = get_record(store, draft).note.meta
    assert (meta.payer, meta.patient, meta.date_of_service) == ("Medicare Part B", "Mr. Tran", date(2025, 3, 14))
