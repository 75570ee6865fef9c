"""Shared fixtures: every test runs with SCRIBE_HOME in a temporary folder (llm's habit),
so no test touches a real user's data."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def scribe_home(tmp_path, monkeypatch):
    home = tmp_path / "scribe-home"
    monkeypatch.setenv("SCRIBE_HOME", str(home))
    return home
