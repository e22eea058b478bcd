"""Build the shipped sentiment model (models/sentiment/) from ../shared/data, on CPU.

    python -m training.train_sentiment [--threads 1]   # full build, ~17-30 min on 2 CPU cores
    python -m training.train_sentiment --max-rows-per-source 200 --epochs 1 --output-dir /tmp/s  # smoke

Steps: load + de-duplicate + hash-split (training/sentiment_data.py) -> WordPiece tokenizer
on train texts -> compact BERT trained from scratch (no multilingual pre-trained encoder is
available offline) -> temperature fitted on the dev split -> evaluation of the model, a
TF-IDF + LogisticRegression baseline and a length-only baseline on the test split ->
metrics.json + MODEL_CARD.md. Dev and test rows are never used for fitting weights.

Deterministic: fixed seeds, hash splits, per-epoch sampling from a seeded RNG, 2 threads.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from service.sentiment.model import LABELS, SentimentModel, build_config, softmax
from service.sentiment.network import SentimentNet
from training.data import REPO_ROOT
from training.eval_sentiment import evaluate_model_dir
from training.sentiment_data import Example, describe, load_examples
from training.sentiment_metrics import evaluate
from training.sentiment_tokenizer import train_tokenizer

DEFAULT_OUTPUT = REPO_ROOT / "models" / "sentiment"
# Per-epoch caps: large or weak sources are re-sampled each epoch instead of dominating it.
# English MT reviews and subtitle lines are plentiful; the customer-review sets are kept whole.
EPOCH_CAPS: dict[str, int] = {
    "scandisent_mt": 7000,
    "xed_en_native": 4000,
    "xed_fi_native": 9000,
    "xed_fi_projected": 1500,
}


def epoch_sample(train: Sequence[Example], caps: dict[str, int], rng: random.Random) -> list[Example]:
    """All rows of uncapped sources plus a fresh random subset of each capped source."""
    by_source: dict[str, list[Example]] = {}
    for ex in train:
        by_source.setdefault(ex.source, []).append(ex)
    sample: list[Example] = []
    for source in sorted(by_source):
        rows = by_source[source]
        cap = caps.get(source)
        sample.extend(rng.sample(rows, cap) if cap is not None and len(rows) > cap else rows)
    return sample


def class_weights(examples: Sequence[Example]) -> torch.Tensor:
    """Inverse class frequency ('balanced', as in the baseline): macro-F1 is the target metric."""
    counts = Counter(e.label for e in examples)
    total = sum(counts.values())
    w = [total / (len(LABELS) * max(counts.get(label, 0), 1)) for label in LABELS]
    return torch.tensor(w, dtype=torch.float32)


def make_batches(lengths: Sequence[int], batch_size: int, rng: random.Random, pool: int = 50) -> list[list[int]]:
    """Shuffled batches of similar-length rows (sorted within random pools of ``pool`` batches)."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    chunk = batch_size * pool
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """Temperature minimising dev NLL (Guo et al. 2017); one scalar, so accuracy is unchanged.

    A dense grid over log T (0.05..20) instead of a gradient solver: deterministic and cannot diverge.
    """
    z = logits.astype(np.float64)
    best_t, best_nll = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.05), np.log(20.0), 801)):
        p = softmax(z, float(t))
        nll = -float(np.mean(np.log(p[np.arange(len(gold)), gold] + 1e-12)))
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def mean_language_macro_f1(rows: Sequence[Example], logits: np.ndarray) -> float:
    """Mean over languages of the card's macro-F1 (English alone is half the dev rows)."""
    by_language = evaluate(rows, [LABELS[i] for i in logits.argmax(1)])["by_language"]
    return float(np.mean([m["macro_f1"] for m in by_language.values()]))


def train(args: argparse.Namespace) -> Path:
    t0 = time.perf_counter()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    data = load_examples(args.max_rows_per_source)
    train_rows, dev_rows = data["train"], data["dev"]
    print(f"rows: train {len(train_rows)} dev {len(dev_rows)} test {len(data['test'])}", flush=True)
    print("train by source:", json.dumps(describe(train_rows)), flush=True)

    tokenizer = train_tokenizer((e.text for e in train_rows), vocab_size=args.vocab_size)
    config = build_config(
        tokenizer.get_vocab_size(), args.hidden, args.layers, args.heads, args.intermediate, args.max_length,
        ngram_buckets=args.ngram_buckets, ngram_dim=args.ngram_dim,
    )
    net = SentimentNet(config)
    model = SentimentModel(tokenizer, net)
    train_texts = [e.text for e in train_rows]
    ids = {e.key: x for e, x in zip(train_rows, model.encode(train_texts))}
    all_bags = model.ngram_bags(train_texts)  # None without an n-gram branch
    bags = dict(zip((e.key for e in train_rows), all_bags)) if all_bags is not None else None
    label_idx = {label: i for i, label in enumerate(LABELS)}

    rng = random.Random(args.seed)
    caps = {**EPOCH_CAPS, **args.cap}
    samples = [epoch_sample(train_rows, caps, rng) for _ in range(args.epochs)]
    batches_per_epoch = [math.ceil(len(s) / args.batch_size) for s in samples]
    total_steps = sum(batches_per_epoch)
    warmup = max(1, int(0.06 * total_steps))
    # The n-gram table gets a higher rate: each row is touched only by the few texts holding it.
    ngram_params = [p for n, p in net.named_parameters() if n.startswith("ngram_bag.")]
    other_params = [p for n, p in net.named_parameters() if not n.startswith("ngram_bag.")]
    groups = [{"params": other_params, "lr": args.lr}]
    if ngram_params:
        groups.append({"params": ngram_params, "lr": args.lr * args.ngram_lr_scale, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup)))
    )
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights(samples[0]))
    print(f"model: {sum(p.numel() for p in net.parameters()) / 1e6:.2f}M params, vocab {config.vocab_size}, "
          f"{args.epochs} epochs x ~{len(samples[0])} rows = {total_steps} steps", flush=True)

    dev_gold = np.array([label_idx[e.label] for e in dev_rows])
    best_f1, best_state = -1.0, None
    step = 0
    for epoch, sample in enumerate(samples):
        net.train()
        seqs = [ids[e.key] for e in sample]
        sample_bags = [bags[e.key] for e in sample] if bags is not None else None
        y_all = [label_idx[e.label] for e in sample]
        t_epoch, running = time.perf_counter(), 0.0
        for b, batch in enumerate(make_batches([len(s) for s in seqs], args.batch_size, rng)):
            y = torch.tensor([y_all[i] for i in batch])
            joint, *aux = net.forward_parts(**model.batch_inputs(seqs, sample_bags, batch))
            loss = loss_fn(joint, y) + args.aux_loss_weight * sum((loss_fn(a, y) for a in aux), torch.zeros(()))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if b else loss.item()
            if b % 200 == 0:
                rate = (b + 1) * args.batch_size / (time.perf_counter() - t_epoch)
                print(f"epoch {epoch + 1} step {b}/{batches_per_epoch[epoch]} loss {running:.3f} "
                      f"({rate:.0f} rows/s, {time.perf_counter() - t0:.0f}s)", flush=True)
        dev_logits = model.logits([e.text for e in dev_rows], args.eval_batch_size)
        f1 = mean_language_macro_f1(dev_rows, dev_logits)
        print(f"epoch {epoch + 1} done in {time.perf_counter() - t_epoch:.0f}s: dev macro-F1 (mean of languages) {f1:.4f}", flush=True)
        if f1 > best_f1:
            best_f1, best_state = f1, {k: v.detach().clone() for k, v in net.state_dict().items()}

    assert best_state is not None
    net.load_state_dict(best_state)
    dev_logits = model.logits([e.text for e in dev_rows], args.eval_batch_size)
    model.temperature = fit_temperature(dev_logits, dev_gold)
    train_seconds = time.perf_counter() - t0
    print(f"temperature {model.temperature:.3f}; trained in {train_seconds:.0f}s", flush=True)

    out = args.output_dir
    model.save(out, fp16=True, extra={
        "fitted_on": "dev split",
        "dev_mean_language_macro_f1": round(best_f1, 4),
        "training": {
            "command": "python -m training.train_sentiment " + " ".join(args.argv),
            "seed": args.seed, "epochs": args.epochs, "train_seconds": round(train_seconds, 1),
            "epoch_caps": caps,
            "train_rows_by_source": describe(train_rows),
        },
    })
    if not args.skip_eval:
        evaluate_model_dir(out, data, card=True, batch_size=args.eval_batch_size)
    print(f"done in {time.perf_counter() - t0:.0f}s -> {out}", flush=True)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument("--max-rows-per-source", type=int, default=None, help="first N usable rows per file (tests)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--eval-batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--vocab-size", type=int, default=12000)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=768)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--ngram-buckets", type=int, default=2**18, help="hashed word 1-2-gram branch; 0 = plain BERT")
    ap.add_argument("--ngram-dim", type=int, default=16)
    ap.add_argument("--ngram-lr-scale", type=float, default=10.0)
    ap.add_argument("--aux-loss-weight", type=float, default=0.5,
                    help="weight of the encoder-only and n-gram-only auxiliary losses (0 = joint loss only)")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads; 1 is faster when other jobs share the 2 cores (OpenMP threads spin-wait)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-eval", action="store_true", help="do not write metrics.json / MODEL_CARD.md")
    ap.add_argument("--cap", action="append", default=[], metavar="SOURCE=N",
                    help=f"rows per epoch drawn from SOURCE (default caps: {EPOCH_CAPS})")
    args = ap.parse_args(argv)
    try:
        args.cap = {src: int(n) for src, n in (item.split("=", 1) for item in args.cap)}
    except ValueError:
        ap.error("--cap wants SOURCE=N with an integer N")
    args.argv = [a for a in (argv if argv is not None else __import__("sys").argv[1:])]
    return args


def main(argv: list[str] | None = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()
