"""Rewrite a GGUF file with other tensor types, metadata kept: for comparisons and for speed.

* :func:`dequantize_gguf`: every quantized tensor de-quantized (F32/F16): the same model in
  plain floats, to compare llama.cpp with a backend running the same de-quantized weights.
* :func:`bf16_head_gguf`: the output layer (the LM head) as its own BF16 tensor. Models with a
  large vocabulary tie it to a quantized token embedding (gemma-3: 262,144 x 640 in Q8_0, 168M
  of gemma-3-270m's ~270M weights), and on a CPU with AVX512-BF16 llama.cpp multiplies BF16
  matrices faster than Q8_0 ones (measured: docs/results/backend_throughput.md).

Both go through gguf-py's reader and writer (the llama.cpp project's own Python package); every
metadata key is copied with its type, and the write is atomic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from culturealign.errors import CultureAlignError

HEAD, EMBEDDING = "output.weight", "token_embd.weight"


@dataclass
class _Tensor:
    """One tensor of the file to write: its data is made only when it is written."""

    name: str
    shape: list[int]  # the numpy shape of the data (bytes per row for quantized types)
    dtype: np.dtype[Any]
    nbytes: int
    raw: Any  # gguf.GGMLQuantizationType for data given as bytes, else None
    data: Callable[[], np.ndarray]


def dequantize_gguf(src: str | Path, dst: str | Path, dtype: str = "F32") -> Path:
    """Write ``dst``: ``src`` with every quantized tensor de-quantized (``F32`` or ``F16``).

    Same model, same metadata (only ``general.file_type`` changes), weights equal to what the
    quantized file encodes. llama.cpp running it does plain float arithmetic, so it can be
    compared with a backend that runs the same de-quantized weights (the HF backend's copy of an
    embedded GGUF) without the 8-bit activation quantization of llama.cpp's quantized dot
    products. ``F16`` rounds the de-quantized values to half precision (smaller, and llama.cpp
    converts activations to f16); 1-D tensors (norms) stay F32, as llama.cpp requires.
    """
    import gguf

    if dtype not in ("F32", "F16"):
        raise CultureAlignError(f"cannot de-quantize to {dtype!r}", "use dtype F32 or F16")
    reader = _reader(src)
    f32, f16 = gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16

    def plan(tensor: Any) -> _Tensor:
        keep = dtype == "F32" or len(tensor.shape) == 1 or tensor.tensor_type == f32
        out = np.dtype(np.float32 if keep else np.float16)
        shape = [int(n) for n in reversed(tensor.shape)]  # ggml order -> numpy order

        def data() -> np.ndarray:
            values = np.asarray(tensor.data)
            if tensor.tensor_type not in (f32, f16):
                values = gguf.quants.dequantize(values, tensor.tensor_type)
            return np.ascontiguousarray(values, dtype=out)

        return _Tensor(tensor.name, shape, out, out.itemsize * int(np.prod(shape)), None, data)

    file_type = gguf.LlamaFileType.ALL_F32 if dtype == "F32" else gguf.LlamaFileType.MOSTLY_F16
    return _write(reader, Path(dst), [plan(t) for t in reader.tensors], int(file_type))


def bf16_head_gguf(src: str | Path, dst: str | Path) -> Path:
    """Write ``dst``: ``src`` with its output layer as a BF16 ``output.weight``.

    A head tied to the token embedding gets its own copy (the embedding stays as it is, for the
    input lookup); a separate head is converted. The values are the de-quantized weights rounded
    to BF16 (8 significant bits; llama.cpp's Q8_0 dot product rounds the activations to 8 bits
    too, BF16 rounds both sides).
    """
    import gguf

    reader = _reader(src)
    names = [t.name for t in reader.tensors]
    source = HEAD if HEAD in names else EMBEDDING
    if source not in names:
        raise CultureAlignError(
            f"{src} has neither {HEAD} nor {EMBEDDING}", "give a GGUF of a language model"
        )
    bf16 = gguf.GGMLQuantizationType.BF16
    tensors = [_copy(t) for t in reader.tensors if t.name != HEAD]
    head = next(t for t in reader.tensors if t.name == source)
    if head.tensor_type == bf16:
        raise CultureAlignError(f"the output layer of {src} is already BF16", "load it as it is")
    rows, cols = (int(n) for n in reversed(head.shape))

    def data() -> np.ndarray:
        values = np.asarray(head.data)
        if head.tensor_type != gguf.GGMLQuantizationType.F32:
            values = gguf.quants.dequantize(values, head.tensor_type)
        return gguf.quants.quantize(values.reshape(rows, cols).astype(np.float32), bf16)

    tensors.append(_Tensor(HEAD, [rows, 2 * cols], np.dtype(np.uint8), 2 * rows * cols, bf16, data))
    return _write(reader, Path(dst), tensors, None)


def cached_copy(src: Path, kind: str, write: Callable[[Path, Path], Path]) -> Path:
    """The copy of ``src`` made by ``write(src, target)`` in the culturealign cache, made once.

    Named by the source's size, mtime, name and a hash of its path, and ``kind``: a changed
    source gets a new copy, and the copy of its older version is removed.
    """
    import hashlib

    from culturealign.paths import cache_dir

    stat = src.stat()
    tag = hashlib.sha256(str(src.resolve()).encode("utf-8")).hexdigest()[:8]
    name = f"{src.stem}-{tag}-{kind}.gguf"
    target = cache_dir("gguf") / f"{stat.st_size}-{int(stat.st_mtime)}-{name}"
    if not target.is_file():
        for old in target.parent.glob(f"*-{name}"):
            old.unlink(missing_ok=True)
        write(src, target)
    return target


def _reader(src: str | Path) -> Any:
    import gguf

    src = Path(src)
    if not src.is_file():
        raise CultureAlignError(f"GGUF file not found: {src}", "give an existing .gguf file")
    reader = gguf.GGUFReader(src)
    if reader.get_field(gguf.Keys.General.ARCHITECTURE) is None:
        raise CultureAlignError(f"{src} has no {gguf.Keys.General.ARCHITECTURE}", "is it a GGUF?")
    return reader


def _copy(tensor: Any) -> _Tensor:
    """``tensor`` as it is in the source file."""
    data = np.asarray(tensor.data)
    quantized = data.dtype == np.uint8
    return _Tensor(
        tensor.name,
        list(data.shape),
        data.dtype,
        int(data.nbytes),
        tensor.tensor_type if quantized else None,
        lambda: data,
    )


def _write(reader: Any, dst: Path, tensors: list[_Tensor], file_type: int | None) -> Path:
    """``reader``'s metadata (``general.file_type`` replaced when given) and ``tensors``."""
    import gguf

    from culturealign.paths import atomic_path

    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    with atomic_path(dst) as tmp:
        writer = gguf.GGUFWriter(tmp, arch, endianess=reader.endianess)
        for field in reader.fields.values():
            # GGUF.* are the reader's virtual fields; the writer adds the architecture itself.
            if field.name.startswith("GGUF.") or field.name == gguf.Keys.General.ARCHITECTURE:
                continue
            vtype = field.types[0]
            sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
            value = field.contents()
            if field.name == gguf.Keys.General.FILE_TYPE and file_type is not None:
                value = file_type
            if field.name == gguf.Keys.General.ALIGNMENT:
                writer.data_alignment = int(value)
            writer.add_key_value(field.name, value, vtype, sub_type=sub)
        for t in tensors:  # every tensor's size goes into the header before any data
            writer.add_tensor_info(t.name, t.shape, t.dtype, t.nbytes, raw_dtype=t.raw)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for t in tensors:
            writer.write_tensor_data(np.ascontiguousarray(t.data()))
        writer.close()
    return dst
