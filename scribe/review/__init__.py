"""The local review web app: drafts beside their dictation and recording; edit, resolve
findings, sign, add addenda, export. `scribe review` runs it on 127.0.0.1."""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
