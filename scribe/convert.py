"""CTranslate2 Whisper model -> openai-whisper checkpoint, as pure functions.

The CTranslate2 `model.bin` layout is the one `ctranslate2.specs.model_spec.ModelSpec.
_serialize` writes (binary version 6): a header, then each variable as name, rank,
shape, dtype id and raw bytes, then aliases (a duplicated variable stored once, e.g. the
decoder's output projection tied to the token embedding). The Whisper variable names
are those of `ctranslate2.specs.whisper_spec.WhisperSpec` as filled by CTranslate2's
Transformers converter: self-attention Q, K and V are fused into one linear layer, the
cross-attention K and V into another, and the key projection (which has no bias in
Whisper) gets a zero bias. We split them back into openai-whisper's names.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ModelError

# model_spec.CURRENT_BINARY_VERSION; versions below it use older layouts we never meet.
CT2_BINARY_VERSION = 6
CT2_SPEC_NAME = "WhisperSpec"
# model_spec._dtype_to_type_id: the position in this tuple is the dtype id in the file.
CT2_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
# common_spec.Activation.GELU: Whisper's feed-forward activation.
GELU = 3


@dataclass
class Ct2Model:
    """The variables of a CTranslate2 model.bin (aliases resolved)."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


# --- reading and writing the CTranslate2 format ------------------------------------------


class _Reader:
    def __init__(self, data: bytes | memoryview):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, fmt: str) -> int:
        try:
            (value,) = struct.unpack_from("<" + fmt, self.data, self.pos)
        except struct.error:
            raise ModelError(f"model.bin is truncated at byte {self.pos}") from None
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        # uint16 length including the NUL terminator, UTF-8 bytes, NUL
        n = self.take("H")
        raw = bytes(self.data[self.pos : self.pos + n])
        if len(raw) < n or n == 0 or raw[-1] != 0:
            raise ModelError(f"model.bin is truncated or corrupt at byte {self.pos}")
        self.pos += n
        return raw[:-1].decode("utf-8")

    def raw(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise ModelError(f"model.bin is truncated: {n} bytes wanted at byte {self.pos}, "
                               f"{len(self.data) - self.pos} left")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def read_ct2(data: bytes | memoryview) -> Ct2Model:
    """Parse the bytes of a CTranslate2 model.bin (parts already concatenated)."""
    r = _Reader(data)
    version = r.take("I")
    if version != CT2_BINARY_VERSION:
        raise ModelError(f"model.bin has binary version {version}, expected {CT2_BINARY_VERSION}")
    model = Ct2Model(spec=r.string(), revision=r.take("I"))
    for _ in range(r.take("I")):
        name = r.string()
        shape = tuple(r.take("I") for _ in range(r.take("B")))
        type_id = r.take("B")
        if type_id >= len(CT2_DTYPES):
            raise ModelError(f"variable {name}: unknown dtype id {type_id}")
        dtype = CT2_DTYPES[type_id]
        nbytes = r.take("I")
        buf = r.raw(nbytes)
        if dtype == "bfloat16":
            raise ModelError(f"variable {name} is bfloat16, which this converter does not read")
        arr = np.frombuffer(buf, dtype=np.dtype(dtype).newbyteorder("<"))
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise ModelError(f"variable {name}: {nbytes} bytes do not fit shape {list(shape)}")
        model.variables[name] = arr.reshape(shape)
    for _ in range(r.take("I")):
        alias, target = r.string(), r.string()
        model.aliases[alias] = target
    if r.pos != len(r.data):
        raise ModelError(f"model.bin has {len(r.data) - r.pos} unexpected bytes after the aliases")
    for alias, target in model.aliases.items():
        if target not in model.variables:
            raise ModelError(f"alias {alias} points to a missing variable {target}")
        model.variables[alias] = model.variables[target]
    return model


def write_ct2(variables: dict[str, np.ndarray], *, aliases: dict[str, str] | None = None,
              spec: str = CT2_SPEC_NAME, revision: int = 3) -> bytes:
    """The bytes of a model.bin holding `variables` (what ModelSpec._serialize writes)."""

    def string(s: str) -> bytes:
        raw = s.encode("utf-8")
        return struct.pack("<H", len(raw) + 1) + raw + b"\0"

    out = [struct.pack("<I", CT2_BINARY_VERSION), string(spec), struct.pack("<I", revision),
           struct.pack("<I", len(variables))]
    for name, value in sorted(variables.items()):
        value = np.asarray(value)
        out += [string(name), struct.pack("<B", value.ndim),
                b"".join(struct.pack("<I", d) for d in value.shape),
                struct.pack("<B", CT2_DTYPES.index(value.dtype.name)),
                struct.pack("<I", value.nbytes), value.tobytes()]
    aliases = aliases or {}
    out.append(struct.pack("<I", len(aliases)))
    for alias, target in sorted(aliases.items()):
        out += [string(alias), string(target)]
    return b"".join(out)


# --- CTranslate2 Whisper -> openai-whisper -----------------------------------------------


def _layers(variables: dict[str, np.ndarray], stack: str) -> int:
    found = {int(m.group(1)) for k in variables if (m := re.match(rf"{stack}/layer_(\d+)/", k))}
    if not found or found != set(range(len(found))):
        raise ModelError(f"no consecutive {stack} layers in the model")
    return len(found)


def _scalar(variables: dict[str, np.ndarray], name: str) -> int | None:
    v = variables.get(name)
    return None if v is None else int(np.asarray(v).reshape(-1)[0])


def _split(weight: np.ndarray, parts: int, name: str) -> list[np.ndarray]:
    if weight.shape[0] % parts:
        raise ModelError(f"{name}: {weight.shape[0]} rows cannot be split into {parts} equal parts")
    return np.split(weight, parts, axis=0)


def ct2_whisper_state_dict(model: Ct2Model) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(dims, state dict) of openai-whisper from a CTranslate2 WhisperSpec model."""
    if model.spec != CT2_SPEC_NAME:
        raise ModelError(f"model.bin holds a {model.spec}, not a {CT2_SPEC_NAME}")
    v = model.variables

    def get(name: str) -> np.ndarray:
        if name not in v:
            raise ModelError(f"model.bin has no variable {name}")
        return v[name]

    if _scalar(v, "decoder/activation") not in (None, GELU):
        raise ModelError("decoder activation is not GELU: not a Whisper model")
    if _scalar(v, "decoder/scale_embeddings"):
        raise ModelError("decoder scales its embeddings: not a Whisper model")
    if any(k.endswith("weight_scale") for k in v):
        raise ModelError("model.bin is quantized (int8/int16); only float weights can be converted")

    sd: dict[str, np.ndarray] = {}

    def linear(dst: str, src: str, *, bias: bool = True) -> None:
        sd[f"{dst}.weight"] = get(f"{src}/weight")
        if bias:
            sd[f"{dst}.bias"] = get(f"{src}/bias")

    def norm(dst: str, src: str) -> None:
        sd[f"{dst}.weight"] = get(f"{src}/gamma")
        sd[f"{dst}.bias"] = get(f"{src}/beta")

    def self_attention(dst: str, src: str) -> None:
        q, k, val = _split(get(f"{src}/linear_0/weight"), 3, f"{src}/linear_0/weight")
        qb, _kb, vb = _split(get(f"{src}/linear_0/bias"), 3, f"{src}/linear_0/bias")
        # Whisper's key projection has no bias; the converter fused a zero one. Any key
        # bias adds the same q.b to every score of a query, which softmax ignores, so
        # dropping it is exact.
        sd.update({f"{dst}.query.weight": q, f"{dst}.query.bias": qb, f"{dst}.key.weight": k,
                   f"{dst}.value.weight": val, f"{dst}.value.bias": vb})
        linear(f"{dst}.out", f"{src}/linear_1")

    def cross_attention(dst: str, src: str) -> None:
        linear(f"{dst}.query", f"{src}/linear_0")
        k, val = _split(get(f"{src}/linear_1/weight"), 2, f"{src}/linear_1/weight")
        _kb, vb = _split(get(f"{src}/linear_1/bias"), 2, f"{src}/linear_1/bias")
        sd.update({f"{dst}.key.weight": k, f"{dst}.value.weight": val, f"{dst}.value.bias": vb})
        linear(f"{dst}.out", f"{src}/linear_2")

    def mlp(dst: str, src: str) -> None:
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")

    n_audio_layer, n_text_layer = _layers(v, "encoder"), _layers(v, "decoder")
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    sd["encoder.positional_embedding"] = get("encoder/position_encodings/encodings")
    for i in range(n_audio_layer):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        self_attention(f"{dst}.attn", f"{src}/self_attention")
        mlp(dst, src)
    norm("encoder.ln_post", "encoder/layer_norm")

    sd["decoder.token_embedding.weight"] = get("decoder/embeddings/weight")
    sd["decoder.positional_embedding"] = get("decoder/position_encodings/encodings")
    for i in range(n_text_layer):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        self_attention(f"{dst}.attn", f"{src}/self_attention")
        norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        cross_attention(f"{dst}.cross_attn", f"{src}/attention")
        mlp(dst, src)
    norm("decoder.ln", "decoder/layer_norm")
    # openai-whisper computes logits with the token embedding (tied weights)
    proj = v.get("decoder/projection/weight")
    if proj is not None and not np.array_equal(proj, sd["decoder.token_embedding.weight"]):
        raise ModelError("decoder projection is not tied to the token embedding")
    if v.get("decoder/projection/bias") is not None and np.any(v["decoder/projection/bias"]):
        raise ModelError("decoder projection has a bias, which openai-whisper cannot hold")

    conv1 = sd["encoder.conv1.weight"]
    audio_pos, text_pos = sd["encoder.positional_embedding"], sd["decoder.positional_embedding"]
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(audio_pos.shape[0]),
        "n_audio_state": int(audio_pos.shape[1]),
        "n_audio_head": _scalar(v, "encoder/num_heads"),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(sd["decoder.token_embedding.weight"].shape[0]),
        "n_text_ctx": int(text_pos.shape[0]),
        "n_text_state": int(text_pos.shape[1]),
        "n_text_head": _scalar(v, "decoder/num_heads"),
        "n_text_layer": n_text_layer,
    }
    if dims["n_audio_head"] is None or dims["n_text_head"] is None:
        raise ModelError("model.bin does not record the number of attention heads")
    return dims, {k: np.ascontiguousarray(a) for k, a in sd.items()}


def alignment_heads(config: dict[str, Any], dims: dict[str, Any]) -> list[list[int]]:
    """The cross-attention heads used for word timestamps, from the model's config.json."""
    heads = config.get("alignment_heads")
    if not heads:  # CTranslate2's own default: every head of the second half of the layers
        n, h = dims["n_text_layer"], dims["n_text_head"]
        return [[layer, head] for layer in range(n // 2, n) for head in range(h)]
    out = [[int(layer), int(head)] for layer, head in heads]
    for layer, head in out:
        if not (0 <= layer < dims["n_text_layer"] and 0 <= head < dims["n_text_head"]):
            raise ModelError(f"alignment head ({layer}, {head}) is outside the decoder")
    return out


def convert(data: bytes | memoryview, config: dict[str, Any]) -> dict[str, Any]:
    """An openai-whisper checkpoint from model.bin bytes and config.json: {"dims",
    "model_state_dict" (torch tensors, dtype kept), "alignment_heads"}."""
    import torch

    dims, sd = ct2_whisper_state_dict(read_ct2(data))
    return {
        "dims": dims,
        "model_state_dict": {k: torch.from_numpy(a.copy()) for k, a in sd.items()},
        "alignment_heads": alignment_heads(config, dims),
    }


def tensor_sha256(state_dict: dict[str, Any]) -> str:
    """SHA-256 over the tensors of a state dict: name, dtype, shape and bytes, by name.

    Independent of how the file was written (pickle layout, zip timestamps), so the
    same weights from two packagings hash the same.
    """
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name]
        a = t.detach().cpu().contiguous().numpy() if hasattr(t, "detach") else np.ascontiguousarray(t)
        h.update(f"{name}\0{a.dtype.name}\0{list(a.shape)}\0".encode())
        h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()
