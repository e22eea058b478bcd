"""Is ``torch.compile`` worth it for the bf16 shared pass? Eager against compiled, same batches, one process.

    PYTHONPATH=. python benchmarks/experiments/torch_compile/probe.py [--freeze]

Times the shared pass's three parts (lower layers, sentiment top, theme top) over 1,024 survey answers in
length-sorted batches of 64, eager bf16 and then ``torch.compile(dynamic=True)`` (``--freeze``: inductor's
weight freezing too), and prints texts/s, the compile time and the largest difference in token states.
An experiment: nothing in ``service/`` compiles (README → Sentiment → Throughput says why).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch._inductor.config as inductor_config

from benchmarks.bench_throughput import survey_comments
from service.config import Settings
from service.encoder import FrozenTop, length_sorted_batches, padded, read_e5_file
from service.sentiment.model import SentimentModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--freeze", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    inductor_config.freezing = args.freeze
    file = read_e5_file()
    model = SentimentModel.load(Settings().sentiment_path, file)
    top = FrozenTop(file, model.model.split)
    net = model.model.eval().to(torch.bfloat16)
    top.to(torch.bfloat16)
    texts = survey_comments(1024)
    ids = model.encode(texts)
    batches = [padded(ids, b, model.tokenizer.pad) for b in length_sorted_batches([len(x) for x in ids], 64)]

    def run(lower, upper, theme) -> list[tuple[torch.Tensor, torch.Tensor]]:
        out = []
        with torch.inference_mode():
            for x, mask in batches:
                hidden = lower(x, mask)
                out.append((upper(hidden, mask).float(), theme(hidden, mask).float()))
        return out

    eager = (net.lower, net.upper_tokens, top.tokens)
    run(*eager)  # warm-up
    t0 = time.perf_counter()
    ref = run(*eager)
    t_eager = time.perf_counter() - t0
    compiled = tuple(torch.compile(fn, dynamic=True) for fn in eager)
    t0 = time.perf_counter()
    run(*compiled)
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = run(*compiled)
    t_compiled = time.perf_counter() - t0
    diff = max(float((a - b).abs().max()) for r, g in zip(ref, got) for a, b in zip(r, g))
    print(f"{args.threads} threads, freezing {args.freeze}: eager {len(texts) / t_eager:.1f} texts/s, compiled "
          f"{len(texts) / t_compiled:.1f} ({t_eager / t_compiled:.2f}x) after {t_compile:.1f} s of compiling and first "
          f"run; largest token-state difference {diff:.4f}")


if __name__ == "__main__":
    main()
