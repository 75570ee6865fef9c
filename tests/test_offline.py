"""Scribe never touches the network at run time."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "transcripts" / "01_stroke_right_hemiparesis.txt"


def test_no_socket_is_opened_while_making_a_note(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from scribe.pipeline import note_from_file
    from scribe.render import render

    note = note_from_file(SAMPLE)
    assert "Berg" in render(note, "md")


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare(), reason="unshare -n is not permitted here")
def test_cli_works_in_a_network_namespace_with_no_network():
    r = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "scribe", "extract", str(SAMPLE), "--format", "json"],
        capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stderr
    assert '"97112": 24' in r.stdout
