"""The shared pass's engines by name (``Settings.inference_engine``): one factory for the service,
the benchmarks and ``training/eval_engines.py``, so each measures exactly what the service runs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import get_args

import torch

from service.config import EngineName
from service.sentiment.shared_pass import Engine, SharedPass, TorchEngine, native_bf16

log = logging.getLogger(__name__)
ENGINES: tuple[str, ...] = get_args(EngineName)
# How far a comment's probability may move when it is batched with other comments (other batch size, other
# padding), per engine: fp32 is exact to rounding; bf16 rounds each layer's output (measured max 0.011 over
# 2,000 reshuffled test comments), dynamic int8 scales activations per batch (0.106); models/sentiment/engines.json.
BATCH_TOLERANCE: dict[str, float] = {"torch": 1e-4, "onnx": 1e-4, "torch-bf16": 0.02, "onnx-int8": 0.15}


def resolve_engine(name: str) -> str:
    """``auto`` for batch scoring: torch-bf16 where bfloat16 runs in hardware (3x torch's speed, within 0.002
    macro-F1), else onnx (without bf16 units, bf16 is emulated and slower than fp32). The HTTP service resolves
    ``auto`` itself (``service.config.server_settings``)."""
    if name != "auto":
        return name
    return "torch-bf16" if native_bf16() else "onnx"


def use_engine(shared: SharedPass, name: str, version: str, threads: int = 0, cache_dir: Path | None = None) -> Engine:
    """Put engine ``name`` (or ``auto``) into ``shared`` (whose torch modules it takes over or frees); return it."""
    name = resolve_engine(name)
    if name not in ENGINES:
        raise ValueError(f"unknown inference engine {name!r}; choose one of {', '.join(ENGINES)}")
    if name == "torch":
        engine: Engine = TorchEngine(shared.model, shared.top)
    elif name == "torch-bf16":
        if not native_bf16():
            log.warning("this CPU has no native bfloat16 matrix units: torch-bf16 will be slower than onnx here")
        engine = TorchEngine(shared.model, shared.top, dtype=torch.bfloat16)
    else:
        from service.sentiment.onnx_engine import OnnxEngine  # noqa: PLC0415 - optional dependency

        engine = OnnxEngine(shared.model, shared.top, version, int8=name == "onnx-int8", threads=threads,
                            cache_dir=cache_dir)
    shared.engine = engine
    log.info("inference engine: %s", name)
    if not isinstance(engine, TorchEngine):
        shared.release_torch()
    return engine
