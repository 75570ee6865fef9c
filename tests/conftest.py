"""Shared fixtures: every test runs with SCRIBE_HOME in a temporary folder (llm's habit),
so no test touches a real user's data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def scribe_home(tmp_path, monkeypatch):
    home = tmp_path / "scribe-home"
    monkeypatch.setenv("SCRIBE_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def migrated(tmp_path_factory) -> Path:
    """One migrated draft store, copied for each test (migrating takes about half a second)."""
    from scribe.store import open_store

    path = tmp_path_factory.mktemp("migrated") / "scribe.db"
    open_store(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def store(scribe_home, migrated):
    """An empty draft store at $SCRIBE_HOME; test files that need a user override it."""
    from scribe.store import open_store

    scribe_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(migrated, scribe_home / "scribe.db")
    s = open_store()
    yield s
    s.close()
