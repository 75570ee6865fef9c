"""The local review page (FastAPI): list notes; review one beside its dictation and
recording; edit, acknowledge findings, sign, add addenda and export.

Bound to 127.0.0.1 by default. `serve(..., allow_remote=True)` may listen elsewhere;
every page then requires a login with a therapist's passphrase. Every page is
rendered with autoescaped Jinja; scripts and styles come from /static only.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..datafiles import measure_table
from ..errors import ScribeError, UsageError
from ..export import EXTENSIONS, MEDIA_TYPES, export_note, status_line
from ..render import build_context
from ..schema import Measure
from ..store import drafts
from ..store.db import Store, local_actor, open_store
from ..store.errors import LockedError, NotFoundError, SigningError
from ..store.records import STATUS_LABEL, NoteRecord, NoteStatus
from ..store.signing import add_addendum, sign_note
from ..store.users import authenticate, list_users
from .web import (
    CSRF_FIELD,
    LOOPBACK_HOSTS,
    SECURITY_HEADERS,
    ReviewSettings,
    csrf_ok,
    csrf_token,
    environment,
    load_session,
    new_session,
    same_origin,
    set_session_cookie,
)

DONE_MESSAGES = {  # ?done=... after a POST: fixed texts, never echoed user input
    "saved": "Saved a new version. Findings were checked again.",
    "unchanged": "Nothing changed.",
    "acknowledged": "Finding acknowledged.",
    "signed": "Signed. The note is locked; changes are now addenda.",
    "addendum": "Addendum signed and added.",
}
ERROR_STATUS = {LockedError: 409, SigningError: 403, NotFoundError: 404}
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
PUBLIC_PATHS = ("/login", "/static/")


def create_app(store: Store, *, require_login: bool = False, allowed_hosts: list[str] | None = None,
               secure_cookies: bool = False) -> FastAPI:
    """The review app over an open store."""
    settings = ReviewSettings(store=store, require_login=require_login, secure_cookies=secure_cookies,
                              allowed_hosts=allowed_hosts or list(LOOPBACK_HOSTS))
    app = FastAPI(title="Scribe review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.templates = environment()
    app.mount("/static", StaticFiles(packages=[("scribe.review", "static")]), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        session, is_new = load_session(settings, request)
        request.state.session = session
        if request.method == "POST" and not same_origin(request):
            response: Response = HTMLResponse("Refused: this form came from another site.", status_code=403)
        elif settings.require_login and not session.get("user") and not request.url.path.startswith(PUBLIC_PATHS):
            response = RedirectResponse("/login", status_code=303)
        else:
            response = await call_next(request)
        if is_new and "set-cookie" not in response.headers:
            set_session_cookie(settings, response, session)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)

    # --- pages ------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request, status: str | None = None, q: str | None = None):
        wanted = status if status in {s.value for s in NoteStatus} else None
        rows = drafts.list_drafts(settings.store, status=wanted)
        query = " ".join((q or "").split())
        if query:
            rows = [r for r in rows if query.lower() in (r.patient or "").lower()]
        return _page(request, "list.html.j2", rows=rows, status=wanted, query=query, statuses=list(NoteStatus),
                     labels=STATUS_LABEL)

    @app.get("/notes/{note_id}", response_class=HTMLResponse)
    async def note_page(request: Request, note_id: int, done: str | None = None):
        record = drafts.get_record(settings.store, note_id, viewed_by=_actor(request))
        return _note_page(request, record, message=DONE_MESSAGES.get(done or ""))

    @app.get("/notes/{note_id}/audio")
    async def audio(request: Request, note_id: int):
        _name, mime, data = drafts.get_audio(settings.store, note_id)
        return _ranged(request, data, mime)

    # --- actions ----------------------------------------------------------------------------

    @app.post("/notes/{note_id}/edit")
    async def edit(request: Request, note_id: int):
        form = await _form(request)
        record = drafts.get_record(settings.store, note_id)
        meta = drafts.meta_with(record.note.meta, **{k: form[k] for k in drafts.EDIT_FIELDS if k in form})
        text = form["text"].replace("\r\n", "\n") if "text" in form else None
        version = drafts.edit_draft(settings.store, note_id, text=text, meta=meta, by=_actor(request))
        return _done(note_id, "saved" if version else "unchanged")

    @app.post("/notes/{note_id}/acknowledge")
    async def acknowledge(request: Request, note_id: int):
        form = await _form(request)
        drafts.acknowledge(settings.store, note_id, form.get("rule", ""), form.get("reason", ""),
                           by=_actor(request))
        return _done(note_id, "acknowledged")

    @app.post("/notes/{note_id}/sign")
    async def sign(request: Request, note_id: int):
        form = await _form(request)
        # scrypt takes most of a second: off the event loop
        await run_in_threadpool(sign_note, settings.store, note_id, username=_signer(request, form),
                                passphrase=form.get("passphrase", ""))
        return _done(note_id, "signed")

    @app.post("/notes/{note_id}/addendum")
    async def addendum(request: Request, note_id: int):
        form = await _form(request)
        await run_in_threadpool(add_addendum, settings.store, note_id, form.get("text", ""),
                                username=_signer(request, form), passphrase=form.get("passphrase", ""))
        return _done(note_id, "addendum")

    @app.post("/notes/{note_id}/export")
    async def export(request: Request, note_id: int):
        form = await _form(request)
        fmt = form.get("format", "")
        if fmt not in MEDIA_TYPES:
            raise UsageError(f"unknown export format {fmt!r}")
        record = drafts.get_record(settings.store, note_id)
        data = export_note(record, fmt)
        drafts.log_export(settings.store, note_id, fmt, data, by=_actor(request))
        return Response(data, media_type=MEDIA_TYPES[fmt], headers={
            "Content-Disposition": f'attachment; filename="note-{note_id}{EXTENSIONS[fmt]}"'})

    # --- login (remote use) -----------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request):
        return _page(request, "login.html.j2", error=None)

    @app.post("/login")
    async def login(request: Request):
        form = await _form(request)
        username = form.get("username", "").strip()
        try:
            await run_in_threadpool(_check_login, settings.store, username, form.get("passphrase", ""))
        except (SigningError, NotFoundError):
            return _page(request, "login.html.j2", status_code=403, error="Wrong user name or passphrase.")
        response = RedirectResponse("/", status_code=303)
        set_session_cookie(settings, response, new_session(user=username))  # a new session ID on login
        return response

    @app.post("/logout")
    async def logout(request: Request):
        await _form(request)
        response = RedirectResponse("/login" if settings.require_login else "/", status_code=303)
        set_session_cookie(settings, response, new_session())
        return response

    @app.exception_handler(ScribeError)
    async def scribe_error(request: Request, exc: ScribeError):
        status = next((code for kind, code in ERROR_STATUS.items() if isinstance(exc, kind)), 400)
        match = re.match(r"^/notes/(\d+)", request.url.path)
        if match and request.method == "POST" and not isinstance(exc, NotFoundError):
            record = drafts.get_record(settings.store, int(match.group(1)))
            return _note_page(request, record, error=str(exc), status_code=status)
        return _page(request, "error.html.j2", status_code=status, error=str(exc))

    # --- helpers ------------------------------------------------------------------------------

    async def _form(request: Request) -> dict[str, str]:
        form = await request.form()
        if not csrf_ok(settings, request.state.session, form.get(CSRF_FIELD)):
            raise _Forbidden()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    @app.exception_handler(_Forbidden)
    async def forbidden(request: Request, exc: Exception):
        return HTMLResponse("Refused: the form's security token is missing or out of date. Reload the page.",
                            status_code=403)

    def _actor(request: Request) -> str:
        return request.state.session.get("user") or local_actor()

    def _signer(request: Request, form: dict[str, str]) -> str:
        if settings.require_login:
            return request.state.session["user"]  # remote: only the logged-in therapist signs
        username = form.get("username", "").strip()
        if not username:
            raise UsageError("choose who signs")
        return username

    def _page(request: Request, name: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
        session = request.state.session
        html = app.state.templates.get_template(name).render(
            csrf=csrf_token(settings, session), csrf_field=CSRF_FIELD, user=session.get("user"),
            require_login=settings.require_login, **values)
        return HTMLResponse(html, status_code=status_code)

    def _note_page(request: Request, record: NoteRecord, *, message: str | None = None, error: str | None = None,
                   status_code: int = 200) -> HTMLResponse:
        ctx = build_context(record.note)
        prior = drafts.prior_visit(settings.store, record)
        acked = record.acknowledged_rules()
        findings = [{**f, "ack": acked.get(f["rule"])} for f in ctx["findings"]]
        users = list_users(settings.store)
        return _page(request, "note.html.j2", status_code=status_code, record=record, message=message, error=error,
                     findings=findings, unresolved=record.unresolved_errors(), users=users,
                     prior=prior, prior_rows=_prior_rows(record, prior), status_text=status_line(record),
                     status_label=STATUS_LABEL[record.status], edit_fields=drafts.EDIT_FIELDS,
                     edit_values=_edit_values(record), ctx=ctx,
                     **{k: ctx[k] for k in ("not_stated", "not_documented")})

    def _done(note_id: int, what: str) -> RedirectResponse:
        return RedirectResponse(f"/notes/{note_id}?done={what}", status_code=303)

    return app


def _check_login(store: Store, username: str, passphrase: str) -> None:
    with store.transaction() as s:
        authenticate(s, username, passphrase)


class _Forbidden(Exception):
    """A POST without a valid CSRF token."""


def _edit_values(record: NoteRecord) -> dict[str, str]:
    meta = record.note.meta
    return {"patient": meta.patient or "", "payer": meta.payer or "",
            "date_of_service": meta.date_of_service.isoformat() if meta.date_of_service else "",
            "diagnosis_codes": ", ".join(meta.diagnosis_codes)}


def _prior_rows(record: NoteRecord, prior: dict | None) -> list[dict]:
    """Today's measures against the same patient's previous visit in the store."""
    if not prior:
        return []
    table = measure_table()
    before = {(m.measure, m.side): m for m in prior["measures"]}
    rows = []
    for m in drafts.current_measures(record.note):
        old = before.get((m.measure, m.side))
        if old is None or old.unit != m.unit:
            continue
        definition = table.get(m.measure)
        rows.append({"name": (definition.name if definition else m.measure) + (f" ({m.side})" if m.side else ""),
                     "today": _value(m), "before": _value(old),
                     "change": _change(m.value - old.value, definition.better if definition else None, m.unit)})
    return rows


def _value(m: Measure) -> str:
    return f"{m.value:g}/{m.max:g}" if m.max is not None else f"{m.value:g} {m.unit}"


def _change(amount: float, better: str | None, unit: str) -> str:
    amount = round(amount, 2)
    if amount == 0:
        return "no change"
    text = f"{'+' if amount > 0 else '−'}{abs(amount):g} {'points' if unit in ('points', 'percent') else unit}"
    if better in ("higher", "lower"):
        text += " (improved)" if (amount > 0) == (better == "higher") else " (declined)"
    return text


def _ranged(request: Request, data: bytes, mime: str) -> Response:
    """The recording, honouring a Range header so the player can seek."""
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "no-store"}
    match = RANGE.match(request.headers.get("range", "").strip())
    if not match or not (match.group(1) or match.group(2)):
        return Response(data, media_type=mime, headers=headers)
    size = len(data)
    if match.group(1):
        start = int(match.group(1))
        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(match.group(2))), size - 1
    if start >= size or start > end:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(data[start:end + 1], status_code=206, media_type=mime, headers=headers)


# --- serving -----------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(*, host: str = "127.0.0.1", port: int = 8097, allow_remote: bool = False,
          ssl_certfile: str | None = None, ssl_keyfile: str | None = None, url: str | None = None) -> int:
    """Run the review page until Ctrl-C. A non-loopback host needs `allow_remote` (and then a login)."""
    import uvicorn

    remote = not is_loopback(host)
    if remote and not allow_remote:
        raise UsageError(f"--host {host} would listen beyond this machine; add --allow-remote "
                         "(every page then requires a therapist's login)")
    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise UsageError("give both --ssl-certfile and --ssl-keyfile")
    if not 0 < port < 65536:
        raise UsageError(f"--port {port} is not a port number")
    store = open_store(url)
    if remote and not list_users(store):
        raise UsageError("no therapist can log in: add one first (scribe users add USER --name ... --credentials ...)")
    _check_port(host, port)
    app = create_app(store, require_login=remote, secure_cookies=bool(ssl_certfile),
                     allowed_hosts=["*"] if remote else None)
    scheme = "https" if ssl_certfile else "http"
    shown = f"[{host}]" if ":" in host else host
    print(f"Scribe review: {scheme}://{shown}:{port}/  (Ctrl-C to stop)", flush=True)
    if remote and not ssl_certfile:
        print("scribe: warning: remote access without TLS sends passphrases in clear text; "
              "give --ssl-certfile and --ssl-keyfile", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning", ssl_certfile=ssl_certfile,
                ssl_keyfile=ssl_keyfile, server_header=False)
    store.close()
    return 0


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror} (try --port)") from None
