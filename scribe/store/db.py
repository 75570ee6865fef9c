"""Where the store lives and how it is opened: SQLite in the user's data folder by
default ($SCRIBE_HOME when set), any SQLAlchemy URL through $SCRIBE_DB_URL (a clinic's
PostgreSQL: postgresql+psycopg://user@host/scribe). Opening migrates the schema to the
newest version with Alembic (migrations/ ships inside the package).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .errors import StoreError

HOME_ENV = "SCRIBE_HOME"
URL_ENV = "SCRIBE_DB_URL"
DB_FILE = "scribe.db"
SQLITE_TIMEOUT_SECONDS = 30  # wait this long for another writer before failing
PRIVATE_DIR_MODE = 0o700  # the store holds health information: owner only
PRIVATE_FILE_MODE = 0o600


def data_dir() -> Path:
    """$SCRIBE_HOME, else the platform's user data folder for Scribe."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("scribe", appauthor=False))


def database_url() -> str:
    """$SCRIBE_DB_URL, else SQLite at <data dir>/scribe.db."""
    url = os.environ.get(URL_ENV)
    return url if url else f"sqlite:///{data_dir() / DB_FILE}"


def now() -> str:
    """The time as stored: ISO 8601 UTC with microseconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_actor() -> str:
    """Who is at this terminal (recorded for unsigned actions such as edits and views)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class Store:
    """An open database: an engine and a session factory. Create with `open_store()`."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction, committed on success, rolled back on error."""
        try:
            with self.sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"database error: {_one_line(exc)}", path=_shown(self.url)) from exc

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None) -> Store:
    """Open (and create or migrate) the store at `url`, default `database_url()`."""
    url = url or database_url()
    engine = _engine(url)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the database: {_one_line(exc)}", path=_shown(url)) from exc
    return Store(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            folder = Path(path).parent
            try:
                folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
                Path(path).touch(mode=PRIVATE_FILE_MODE, exist_ok=True)
            except OSError as exc:  # $SCRIBE_HOME is a file, or not writable
                raise StoreError(f"cannot create the database here: {exc.strerror or exc}",
                                 path=str(exc.filename or path)) from exc
        # the review app's worker threads share the pool: a connection is used by one thread at a time
        engine = create_engine(url, connect_args={"timeout": SQLITE_TIMEOUT_SECONDS, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"cannot use database URL: {_one_line(exc)}", path=_shown(url)) from exc


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrations_dir() -> Path:
    return Path(str(resources.files("scribe.store").joinpath("migrations")))


def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (no-op when it is there already)."""
    from alembic import command

    at_head = (revision == "head" and "alembic_version" in inspect(engine).get_table_names()
               and current_revision(engine) == head_revision())
    if at_head:
        return
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def new_revision(message: str) -> Path:
    """For developers changing models.py: write the next migrations/versions/NNNN_*.py,
    autogenerated against a scratch database at head. Review it before committing."""
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = _alembic_config()
    number = f"{int(head_revision()) + 1:04d}"
    engine = create_engine("sqlite://")
    migrate(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True, rev_id=number)
    script = ScriptDirectory.from_config(cfg).get_revision(number)
    return Path(script.path)


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return " ".join(text.split())[:300]


def _shown(url: str) -> str:
    """The URL without a password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as given
        return url
