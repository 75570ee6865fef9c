"""Therapists who sign notes, and their passphrases (kept only as salted scrypt hashes).

A stored hash reads `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>`, so the cost can be
raised later without invalidating existing passphrases.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .db import Store, now
from .errors import NotFoundError, SigningError, UserError
from .models import User
from .records import UserInfo

# scrypt cost: N=2^15, r=8, p=3 is one of OWASP's equivalent minimums (32 MiB, about
# 0.7 s per check on one core here); each stored hash records its own parameters.
SCRYPT_LOG2_N = 15
SCRYPT_R = 8
SCRYPT_P = 3
SCRYPT_MAXMEM = 256 * 1024 * 1024  # bytes hashlib may use
SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSPHRASE_CHARS = 8
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
# Credentials Scribe knows; others are accepted as written (a clinic may use more).
KNOWN_CREDENTIALS = ("PT", "DPT", "PTA", "OT", "OTR/L", "OTD", "COTA", "COTA/L", "SLP", "CCC-SLP", "ATC", "OCS", "NCS")
ASSISTANT_CREDENTIALS = ("PTA", "COTA", "COTA/L")
# who may co-sign an assistant's note: a PT for a PTA, an OT for a COTA
SUPERVISOR_CREDENTIALS = {"PTA": ("PT", "DPT"), "COTA": ("OT", "OTR/L", "OTD"), "COTA/L": ("OT", "OTR/L", "OTD")}


# --- passphrases -------------------------------------------------------------------------


def hash_passphrase(passphrase: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_LOG2_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key)])


def check_passphrase(passphrase: str, stored: str) -> bool:
    """True when `passphrase` matches the stored hash (constant-time comparison)."""
    try:
        kind, log2_n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(key)
        got = _scrypt(passphrase, base64.b64decode(salt), int(log2_n), int(r), int(p), len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def _scrypt(passphrase: str, salt: bytes, log2_n: int, r: int, p: int, length: int = KEY_BYTES) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=2**log2_n, r=r, p=p,
                          maxmem=SCRYPT_MAXMEM, dklen=length)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- users -------------------------------------------------------------------------------


def parse_credentials(text: str) -> list[str]:
    """'PT, DPT' or 'PT,DPT' -> ['PT', 'DPT'] (upper case, each once)."""
    items = [c.strip().upper() for c in re.split(r"[,\s]+", text or "") if c.strip()]
    return list(dict.fromkeys(items))


def info(user: User) -> UserInfo:
    return UserInfo(username=user.username, name=user.name, credentials=parse_credentials(user.credentials),
                    needs_cosign=user.needs_cosign, created_at=user.created_at)


def add_user(store: Store, username: str, *, name: str, credentials: str | list[str], passphrase: str,
             needs_cosign: bool | None = None, actor: str | None = None) -> UserInfo:
    """Add a therapist. `needs_cosign` defaults to True for assistants (PTA, COTA)."""
    creds = parse_credentials(credentials if isinstance(credentials, str) else ",".join(credentials))
    if not USERNAME.match(username or ""):
        raise UserError(f"user name {username!r}: use lower-case letters, digits, '.', '_' or '-' (start with a letter)")
    if not name or not name.strip():
        raise UserError("give the therapist's full name (--name)")
    if not creds:
        raise UserError("give the credentials, e.g. --credentials PT,DPT")
    bad = [c for c in creds if not re.fullmatch(r"[A-Z][A-Z/\-]{0,15}", c)]
    if bad:
        raise UserError(f"credential {bad[0]!r} is not a credential (e.g. PT, DPT, PTA, OTR/L)")
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise UserError(f"the passphrase must be at least {MIN_PASSPHRASE_CHARS} characters")
    if needs_cosign is None:
        needs_cosign = any(c in ASSISTANT_CREDENTIALS for c in creds)
    with store.transaction() as s:
        if s.get(User, username) is not None:
            raise UserError(f"user {username!r} already exists")
        user = User(username=username, name=" ".join(name.split()), credentials=",".join(creds),
                    passphrase_hash=hash_passphrase(passphrase), needs_cosign=needs_cosign, created_at=now())
        s.add(user)
        s.flush()
        audit.append(s, "user_added", actor=actor or username, detail=user_detail(user))
        return info(user)


def user_detail(user: User) -> dict:
    """What the audit log keeps of a user: enough for `verify` to notice a changed row."""
    return {"username": user.username, "name": user.name, "credentials": user.credentials,
            "needs_cosign": user.needs_cosign, "passphrase_sha256": audit.sha256_hex(user.passphrase_hash)}


def list_users(store: Store) -> list[UserInfo]:
    with store.transaction() as s:
        return [info(u) for u in s.scalars(select(User).order_by(User.username))]


def get_user(session: Session, username: str) -> User:
    user = session.get(User, username)
    if user is None:
        raise NotFoundError(f"no user {username!r} (add one with: scribe users add {username} --name ... "
                            "--credentials ... --passphrase-file ...)")
    return user


def authenticate(session: Session, username: str, passphrase: str) -> User:
    """The user, or SigningError when the passphrase is wrong."""
    user = get_user(session, username)
    if not check_passphrase(passphrase, user.passphrase_hash):
        raise SigningError(f"wrong passphrase for {username!r}")
    return user


def may_cosign(signer: UserInfo, cosigner: UserInfo) -> bool:
    """A supervising therapist: not an assistant, and of the signer's profession."""
    if cosigner.needs_cosign or cosigner.username == signer.username:
        return False
    wanted = {c for s in signer.credentials for c in SUPERVISOR_CREDENTIALS.get(s, ())}
    return not wanted or bool(wanted & set(cosigner.credentials))
