"""GGUF rewrites, metadata unchanged: ``dequantize_gguf`` (-> F32/F16), ``bf16_head_gguf``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="the gguf package is not installed")

from culturealign.errors import CultureAlignError  # noqa: E402
from culturealign.models.gguf_rewrite import (  # noqa: E402
    bf16_head_gguf,
    cached_copy,
    dequantize_gguf,
)

Q = gguf.GGMLQuantizationType
V = gguf.GGUFValueType


def fields(path: Path) -> dict[str, tuple[list[Any], Any]]:
    reader = gguf.GGUFReader(path)
    return {f.name: (f.types, f.contents()) for f in reader.fields.values()}


def tensors(path: Path) -> dict[str, Any]:
    return {t.name: t for t in gguf.GGUFReader(path).tensors}


def write_tiny(path: Path, quantized: dict[str, Any]) -> Path:
    """A small GGUF written with gguf's own writer: an F32 norm and ``quantized`` 8x64 tensors."""
    rng = np.random.default_rng(0)
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("tiny")
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    writer.add_uint32("llama.block_count", 1)
    writer.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-6)
    writer.add_bool("tokenizer.ggml.add_bos_token", True)
    writer.add_array("tokenizer.ggml.tokens", ["<s>", "▁héllo", "正", "誤"])
    writer.add_array("tokenizer.ggml.scores", [0.0, -1.5, -2.0, -2.5])
    writer.add_array("tokenizer.ggml.token_type", [3, 1, 1, 1])
    writer.add_tensor("norm.weight", rng.standard_normal(64).astype(np.float32))
    for name, qtype in quantized.items():
        raw = gguf.quants.quantize(rng.standard_normal((8, 64)).astype(np.float32), qtype)
        writer.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def quantized(tmp_path_factory) -> Path:
    """Q8_0, Q4_0, Q5_0 and F32 tensors."""
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    return write_tiny(path, {"a.weight": Q.Q8_0, "b.weight": Q.Q4_0, "c.weight": Q.Q5_0})


@pytest.mark.parametrize(("dtype", "file_type"), [("F32", 0), ("F16", 1)])
def test_weights_are_the_dequantized_values_and_metadata_is_kept(
    quantized, tmp_path, dtype, file_type
):
    out = dequantize_gguf(quantized, tmp_path / "out.gguf", dtype)
    before, after = fields(quantized), fields(out)
    assert after.pop("general.file_type") == ([V.UINT32], file_type)
    assert before.pop("general.file_type")[1] == gguf.LlamaFileType.MOSTLY_Q8_0
    assert after == before  # every key, with its type (arrays: their element type too)
    src, dst = tensors(quantized), tensors(out)
    assert list(dst) == list(src)
    for name, t in src.items():
        want = np.asarray(t.data, dtype=np.float32)
        if t.tensor_type != Q.F32:
            want = gguf.quants.dequantize(t.data, t.tensor_type)
        got = dst[name]
        assert list(got.shape) == list(t.shape)  # the logical (ggml) shape
        if dtype == "F32" or name == "norm.weight":  # 1-D tensors stay F32
            assert got.tensor_type == Q.F32
            np.testing.assert_array_equal(got.data, want)
        else:
            assert got.tensor_type == Q.F16
            np.testing.assert_array_equal(got.data, want.astype(np.float16))
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left nothing behind


def test_bad_input_is_one_clear_error(quantized, tmp_path):
    with pytest.raises(CultureAlignError, match="GGUF file not found"):
        dequantize_gguf(tmp_path / "nope.gguf", tmp_path / "out.gguf")
    with pytest.raises(CultureAlignError, match="use dtype F32 or F16"):
        dequantize_gguf(quantized, tmp_path / "out.gguf", "Q8_0")
    assert not (tmp_path / "out.gguf").exists()


def test_bf16_head_copies_a_tied_embedding_and_keeps_the_rest(tmp_path):
    """No output.weight (a tied head): it is added, BF16 of the de-quantized embedding."""
    tied = write_tiny(tmp_path / "tied.gguf", {"token_embd.weight": Q.Q8_0, "a.weight": Q.Q4_0})
    out = bf16_head_gguf(tied, tmp_path / "out.gguf")
    before, after = fields(tied), fields(out)
    assert after.pop("GGUF.tensor_count")[1] == before.pop("GGUF.tensor_count")[1] + 1
    assert after == before  # file type included: the body is as it was
    src, dst = tensors(tied), tensors(out)
    assert list(dst) == [*src, "output.weight"]
    for name, t in src.items():
        assert dst[name].tensor_type == t.tensor_type
        np.testing.assert_array_equal(dst[name].data, t.data)  # the same bytes
    head = dst["output.weight"]
    embedding = src["token_embd.weight"]
    assert head.tensor_type == Q.BF16 and list(head.shape) == list(embedding.shape)
    values = gguf.quants.dequantize(embedding.data, Q.Q8_0)
    got = gguf.quants.dequantize(head.data, Q.BF16)
    assert np.abs(got - values).max() <= np.abs(values).max() * 2**-8  # 8 significant bits
    rounded = gguf.quants.dequantize(gguf.quants.quantize(values, Q.BF16), Q.BF16)
    np.testing.assert_array_equal(got, rounded)  # gguf's own BF16 rounding


def test_bf16_head_converts_a_separate_head(tmp_path):
    untied = write_tiny(
        tmp_path / "untied.gguf", {"token_embd.weight": Q.Q8_0, "output.weight": Q.Q4_0}
    )
    out = bf16_head_gguf(untied, tmp_path / "out.gguf")
    src, dst = tensors(untied), tensors(out)
    assert sorted(dst) == sorted(src) and dst["output.weight"].tensor_type == Q.BF16
    assert dst["token_embd.weight"].tensor_type == Q.Q8_0
    values = gguf.quants.dequantize(src["output.weight"].data, Q.Q4_0)
    rounded = gguf.quants.dequantize(gguf.quants.quantize(values, Q.BF16), Q.BF16)
    np.testing.assert_array_equal(
        gguf.quants.dequantize(dst["output.weight"].data, Q.BF16), rounded
    )


def test_bf16_head_bad_input_is_one_clear_error(quantized, tmp_path):
    head = bf16_head_gguf(
        write_tiny(tmp_path / "t.gguf", {"token_embd.weight": Q.Q8_0}), tmp_path / "h.gguf"
    )
    with pytest.raises(CultureAlignError, match="already BF16"):
        bf16_head_gguf(head, tmp_path / "again.gguf")
    with pytest.raises(CultureAlignError, match="neither output.weight nor token_embd.weight"):
        bf16_head_gguf(quantized, tmp_path / "none.gguf")
    with pytest.raises(CultureAlignError, match="GGUF file not found"):
        bf16_head_gguf(tmp_path / "nope.gguf", tmp_path / "none.gguf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.gguf", "t.gguf"]


def test_cached_copy_is_made_once_and_again_when_the_source_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("CULTUREALIGN_CACHE", str(tmp_path / "cache"))
    src = write_tiny(tmp_path / "m.gguf", {"token_embd.weight": Q.Q8_0})
    made = []

    def write(source: Path, target: Path) -> Path:
        made.append(target)
        return bf16_head_gguf(source, target)

    first = cached_copy(src, "bf16-head", write)
    assert cached_copy(src, "bf16-head", write) == first and made == [first]
    os.utime(src, (1_000_000, 1_000_000))  # the source changed
    second = cached_copy(src, "bf16-head", write)
    assert made == [first, second] and second.is_file() and not first.exists()
    assert tensors(second)["output.weight"].tensor_type == Q.BF16


@pytest.mark.integration
def test_shipped_gemma_file_round_trips(equal_weight_gguf):
    """The real conversion the agreement tests use: Q4_K, Q5_0, Q6_K, Q8_0 -> F32."""
    from culturealign.models.embedded import EMBEDDED

    shipped = EMBEDDED["gemma-3-270m"].gguf_path()
    before, after = fields(shipped), fields(equal_weight_gguf)
    assert after.pop("general.file_type")[1] == 0 and before.pop("general.file_type")[1] == 15
    assert after == before
    src, dst = tensors(shipped), tensors(equal_weight_gguf)
    assert list(dst) == list(src) and all(t.tensor_type == Q.F32 for t in dst.values())
    smallest: dict[Any, str] = {}  # one tensor of each quantization type, the smallest
    for name, t in sorted(src.items(), key=lambda kv: int(kv[1].n_elements)):
        if t.tensor_type != Q.F32:
            smallest.setdefault(t.tensor_type, name)
    assert {Q.Q4_K, Q.Q5_0, Q.Q6_K, Q.Q8_0} <= set(smallest)
    for qtype, name in smallest.items():
        want = gguf.quants.dequantize(src[name].data, qtype)
        np.testing.assert_array_equal(dst[name].data, want)
