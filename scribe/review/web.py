"""The review app's plumbing: settings, sessions and CSRF tokens, security headers, and
the Jinja environment (autoescaped; Scribe's note macros importable).

Sessions live in a signed cookie (HttpOnly, SameSite=Strict, Secure under TLS) that
holds a random session ID and, after a login, the user name. Every POST carries a
CSRF token, an HMAC of the session ID under the server's secret, checked in constant
time; a POST whose Origin is another host is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jinja2
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from ..export import when
from ..store.db import Store

SESSION_COOKIE = "scribe_session"
SESSION_MAX_AGE_SECONDS = 12 * 60 * 60  # a working day; then log in again
CSRF_FIELD = "csrf_token"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
# Everything from this server only: no CDN, no inline script, no framing.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
                           "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make Chromium send Origin: null
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold health information
}


@dataclass
class ReviewSettings:
    store: Store
    require_login: bool = False
    secure_cookies: bool = False
    allowed_hosts: list[str] = field(default_factory=lambda: list(LOOPBACK_HOSTS))
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt="scribe-session")


# --- sessions and CSRF ----------------------------------------------------------------------------


def load_session(settings: ReviewSettings, request: Request) -> tuple[dict[str, Any], bool]:
    """(session, is_new): the cookie's session, or a fresh one."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            data = settings.serializer.loads(raw, max_age=SESSION_MAX_AGE_SECONDS)
            if isinstance(data, dict) and isinstance(data.get("sid"), str):
                return data, False
        except BadSignature:
            pass
    return new_session(), True


def new_session(user: str | None = None) -> dict[str, Any]:
    return {"sid": secrets.token_urlsafe(24), "user": user}


def set_session_cookie(settings: ReviewSettings, response: Response, session: dict[str, Any]) -> None:
    response.set_cookie(SESSION_COOKIE, settings.serializer.dumps(session), max_age=SESSION_MAX_AGE_SECONDS,
                        httponly=True, samesite="strict", secure=settings.secure_cookies, path="/")


def csrf_token(settings: ReviewSettings, session: dict[str, Any]) -> str:
    return hmac.new(settings.secret, f"csrf:{session['sid']}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(settings: ReviewSettings, session: dict[str, Any], token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(csrf_token(settings, session), str(token))


def same_origin(request: Request) -> bool:
    """False when the browser says the POST came from a page of another host."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


# --- templates ---------------------------------------------------------------------------------


def environment() -> jinja2.Environment:
    """Autoescaped Jinja: the review templates first, then Scribe's note macros."""
    here = str(resources.files("scribe.review").joinpath("templates"))
    notes = str(resources.files("scribe.templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(here), jinja2.FileSystemLoader(notes)]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["htmlattr"] = lambda value: Markup(html.escape(str(value), quote=True))
    env.filters["when"] = when
    return env
