"""Distil the pretrained top that makes theme vectors (e5 layers 6..11) into a top of fewer layers.

    python -m training.distill_theme_top --layers 2 --init 6,11 --out build/theme-top-L2

Why: the shared pass runs the lower six layers once and then two tops of six layers each (fine-tuned
for sentiment, pretrained for theme vectors); the theme top is a third of the pass (issue #11). A student
of ``--layers`` transformer layers, initialised from the pretrained layers ``--init``, learns to map the
layer-6 token states to the layer-12 ones (token cosine + mean-pooled cosine), so themes keep their
vectors at a fraction of the cost. Whether it may replace the pretrained top is decided by
``training/eval_themes.py`` on the themes sets, not by the distillation loss.

Training text: the sentiment sources' train split and XED subtitles (sv/da), each comment and its
clauses as the segmenter cuts them, the themes evaluation sets' texts removed; held-out rows are whole
comments. The teacher's states are cached under build/theme-distill (keyed by the texts, the layer and the
backbone), so further students cost only their training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import Ridge

from service.config import LANGUAGES, Settings
from service.encoder import E5File, E5Tokenizer, build_backbone, mean_pool, read_e5_file
from service.encoder.batching import length_sorted_batches, padded
from service.encoder.theme_top import DistilledTop, TopConfig
from service.segmentation import ClauseSegmenter
from service.sentiment.network import CONFIG_FILE, HeadConfig
from training.data import REPO_ROOT, read_tsv
from training.sentiment_data import iter_examples, normalise
from training.themes_data import sets

CACHE = REPO_ROOT / "build" / "theme-distill"
# Sources the themes evaluation draws its labelled sets from: never distilled on.
HELD_OUT_SOURCES = frozenset({"semeval_absa_en", "trustpilot_sv_neutral_2023"})
MAX_LENGTH = 128


def shared_split(file: E5File) -> int:
    """The layer whose input the student reads: where the shipped sentiment model's fine-tuned top starts."""
    return file.sizes.layers - HeadConfig.from_file(Settings().sentiment_path / CONFIG_FILE).trainable_layers


def comments(seed: int) -> dict[str, list[str]]:
    """Per language, distinct comments none of the themes sets holds, in a seeded order."""
    blocked = {normalise(t) for texts, *_ in sets().values() for t in texts}
    pool: dict[str, list[str]] = defaultdict(list)
    seen = set(blocked)
    for ex in iter_examples():
        if ex.split == "train" and ex.source not in HELD_OUT_SOURCES and normalise(ex.text) not in seen:
            seen.add(normalise(ex.text))
            pool[ex.lang].append(ex.text)
    for row in read_tsv("xed_emotion/xed_emotion.tsv"):  # the sentiment sources have little sv/da
        if row["lang"] in ("sv", "da") and normalise(row["text"]) not in seen:
            seen.add(normalise(row["text"]))
            pool[row["lang"]].append(row["text"])
    rng = random.Random(seed)
    out = {}
    for lang in LANGUAGES:
        out[lang] = sorted(pool[lang])
        rng.shuffle(out[lang])
    return out


def strings(per_language: int, seed: int) -> tuple[list[str], list[str], list[int]]:
    """Per language, comments and their clauses (what theme vectors are computed for) up to ``per_language``
    distinct strings, with their languages and the comment each came from (held-out rows are whole comments)."""
    segmenter = ClauseSegmenter()
    texts, langs, origin, seen = [], [], [], set()
    comment = 0
    for lang, rows in comments(seed).items():
        taken = 0
        for start in range(0, len(rows), 500):
            for units in segmenter.transform(rows[start:start + 500]):
                comment += 1
                for u in units:
                    if taken < per_language and u.text.strip() and u.text not in seen:
                        seen.add(u.text)
                        texts.append(u.text)
                        langs.append(lang)
                        origin.append(comment)
                        taken += 1
            if taken >= per_language:
                break
    return texts, langs, origin


def held_out(origin: list[int], at_least: int, seed: int) -> tuple[list[int], list[int]]:
    """(train rows, held-out rows): seeded whole comments held out until ``at_least`` strings, so no clause of a
    held-out comment is trained on."""
    comments_ = sorted(set(origin))
    random.Random(seed).shuffle(comments_)
    by: dict[int, list[int]] = defaultdict(list)
    for row, c in enumerate(origin):
        by[c].append(row)
    held: list[int] = []
    for c in comments_:
        if len(held) >= at_least:
            break
        held += by[c]
    chosen = set(held)
    return [r for r in range(len(origin)) if r not in chosen], sorted(held)


def teacher_states(file: E5File, texts: list[str], start: int, batch_size: int = 64) -> dict:
    """Layer-``start`` input and last-layer token states (fp16) of every text, from the frozen encoder."""
    model = build_backbone(file, dropout=0.0)
    tok = E5Tokenizer(file)
    ids = tok.encode(texts, MAX_LENGTH)
    lower: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    upper: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    t0 = time.time()
    with torch.inference_mode():
        for n, batch in enumerate(length_sorted_batches([len(x) for x in ids], batch_size)):
            input_ids, mask = padded(ids, batch, tok.pad)
            out = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
            for row, i in enumerate(batch):
                k = len(ids[i])
                lower[i] = out.hidden_states[start][row, :k].to(torch.float16).clone()
                upper[i] = out.last_hidden_state[row, :k].to(torch.float16).clone()
            if n % 100 == 0:
                print(f"teacher {n * batch_size}/{len(ids)} {time.time() - t0:.0f}s", flush=True)
    return {"lower": lower, "upper": upper, "backbone_sha256": file.sha256, "teacher_seconds": time.time() - t0}


def load_or_build(file: E5File, per_language: int, seed: int,
                  start: int) -> tuple[list[str], list[str], list[int], dict]:
    texts, langs, origin = strings(per_language, seed)
    h = hashlib.sha256(f"{start}\x00{file.sha256}\x00".encode())
    h.update("\x00".join(texts).encode("utf-8", "surrogatepass"))
    path = CACHE / f"states-{h.hexdigest()[:16]}.pt"
    if path.exists():
        return texts, langs, origin, torch.load(path)
    states = teacher_states(file, texts, start)
    CACHE.mkdir(parents=True, exist_ok=True)
    torch.save(states, path)
    return texts, langs, origin, states


def stack(states: list[torch.Tensor], batch: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(states[i]) for i in batch)
    out = torch.zeros((len(batch), width, states[batch[0]].shape[1]))
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, i in enumerate(batch):
        out[row, : len(states[i])] = states[i].float()
        mask[row, : len(states[i])] = 1
    return out, mask


def centres(states: dict, rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's mean token state and mean pooled vector: e5's states share one large common direction,
    so cosines are taken after removing it (themes compare vectors with each language's mean removed)."""
    tokens = torch.stack([states["upper"][i].float().mean(0) for i in rows])
    counts = torch.tensor([len(states["upper"][i]) for i in rows], dtype=torch.float32)
    return (tokens * counts[:, None]).sum(0) / counts.sum(), tokens.mean(0)


def loss_of(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor,
            centre: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(token cosine loss over real tokens, mean-pooled cosine loss), both after removing the teacher's centres."""
    cos = torch.nn.functional.cosine_similarity
    m = mask.to(student.dtype)
    token = ((1 - cos(student - centre[0], teacher - centre[0], dim=-1)) * m).sum() / m.sum()
    pooled = 1 - cos(mean_pool(student, mask) - centre[1], mean_pool(teacher, mask) - centre[1], dim=-1)
    return token, pooled.mean()


def pooled_vectors(top: DistilledTop | None, states: dict, rows: list[int],
                   batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """(student, teacher) mean-pooled vectors of ``rows``, in that order; no student: the layer-6 states."""
    batches = length_sorted_batches([len(states["lower"][i]) for i in rows], batch_size)
    student = np.zeros((len(rows), states["lower"][rows[0]].shape[1]), np.float32)
    teacher = np.zeros_like(student)
    with torch.inference_mode():
        for batch in batches:
            idx = [rows[b] for b in batch]
            lower, mask = stack(states["lower"], idx)
            upper, _ = stack(states["upper"], idx)
            student[batch] = (top(lower, mask) if top is not None else mean_pool(lower, mask)).numpy()
            teacher[batch] = mean_pool(upper, mask).numpy()
    return student, teacher


def agreement(student: np.ndarray, teacher: np.ndarray, langs: list[str]) -> dict[str, float]:
    """How close the student's vectors are to the teacher's, after each language's mean is removed (as themes do):
    mean cosine, and how often the nearest neighbour (by the teacher) stays the nearest (by the student)."""
    lang = np.asarray(langs)
    out = {}
    centred = []
    for x in (student, teacher):
        x = x.copy()
        for code in set(langs):
            x[lang == code] -= x[lang == code].mean(axis=0)
        centred.append(x / np.linalg.norm(x, axis=1, keepdims=True))
    s, t = centred
    out["cosine"] = float((s * t).sum(1).mean())
    out["cosine_p05"] = float(np.quantile((s * t).sum(1), 0.05))
    ss, tt = s @ s.T, t @ t.T
    np.fill_diagonal(ss, -2)
    np.fill_diagonal(tt, -2)
    out["nn_kept"] = float((ss.argmax(1) == tt.argmax(1)).mean())
    top_t = np.argsort(-tt, axis=1)[:, :10]
    top_s = np.argsort(-ss, axis=1)[:, :10]
    out["top10_overlap"] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top_t, top_s)]))
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--init", default="6,11", help="pretrained layer indices the student's layers start from")
    ap.add_argument("--per-language", type=int, default=15000, help="strings (comments and clauses) per language")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    init = [int(x) for x in args.init.split(",")]
    if len(init) != args.layers:
        raise SystemExit(f"--init names {len(init)} layers, --layers is {args.layers}")
    torch.manual_seed(args.seed)
    file = read_e5_file()
    start = shared_split(file)
    texts, langs, origin, states = load_or_build(file, args.per_language, args.seed, start)
    rng = random.Random(args.seed)
    train, held = held_out(origin, 2000, args.seed)
    rng.shuffle(train)
    config = TopConfig(backbone_sha256=file.sha256, start=start, init=tuple(init))
    top = DistilledTop(file, config)
    top.train()
    opt = torch.optim.AdamW(top.parameters(), lr=args.lr, weight_decay=0.01)
    batches = length_sorted_batches([len(states["lower"][i]) for i in train], args.batch_size)
    steps = args.epochs * len(batches)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / 200) * max(0.0, 1 - s / steps))
    print(f"{len(texts)} strings ({len(train)} train, {len(held)} held out), {steps} steps", flush=True)
    centre = centres(states, train)
    t0 = time.time()
    for epoch in range(args.epochs):
        rng.shuffle(batches)
        total = [0.0, 0.0]
        for n, batch in enumerate(batches):
            idx = [train[b] for b in batch]
            lower, mask = stack(states["lower"], idx)
            upper, _ = stack(states["upper"], idx)
            token, pooled = loss_of(top.tokens(lower, mask), upper, mask, centre)
            (token + pooled).backward()
            torch.nn.utils.clip_grad_norm_(top.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            total[0] += token.item()
            total[1] += pooled.item()
            if n % 200 == 0:
                print(f"epoch {epoch} step {n}/{len(batches)} token {total[0] / (n + 1):.4f} "
                      f"pooled {total[1] / (n + 1):.4f} {time.time() - t0:.0f}s", flush=True)
    train_seconds = round(time.time() - t0, 1)
    top.eval()
    held_langs = [langs[i] for i in held]
    layer6, teacher = pooled_vectors(None, states, held)
    ridge = Ridge(alpha=1.0).fit(*pooled_vectors(None, states, train))  # the cheapest student: a linear map
    compared = {
        f"layer {start} pooled": layer6,
        f"ridge map from pooled layer {start}": ridge.predict(layer6).astype(np.float32),
        "student before training": pooled_vectors(DistilledTop(file, config).eval(), states, held)[0],
        "student": pooled_vectors(top, states, held)[0],
    }
    res = {"layers": args.layers, "init": init, "epochs": args.epochs, "lr": args.lr, "strings": len(texts),
           "held_out_strings": len(held), "train_seconds": train_seconds,
           "teacher_seconds": round(states["teacher_seconds"], 1),
           "held_out": {name: agreement(vectors, teacher, held_langs) for name, vectors in compared.items()}}
    top.save(args.out)
    (args.out / "distill.json").write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
