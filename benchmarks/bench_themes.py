"""Time and peak memory of a 100k-comment themes report with the embeddings already computed.

    python benchmarks/bench_themes.py [--rows 100000] [--pool-cache build/themes-cache]

What a batch job does after scoring (``service.batch.report._themes``): fit themes on an even sample
(``themes_report_max_comments``), assign every comment, build the typed report (aspect sentiment,
NPS impact, monthly trend). Comments: the real evaluation texts whose vectors ``training.eval_themes``
cached (Trustpilot sv/da, bitext, banking77, SemEval, the parallel sets; ~10k distinct), repeated to
``--rows`` with a little Gaussian noise on each copy's vectors, so no two rows are identical. Scores
and timestamps are synthetic. Each phase runs in this process; peak RSS is ``ru_maxrss``.
Baseline in the same run: what a user would otherwise do with the same vectors, MiniBatchKMeans
(k = 20) fitted on the same sample and predicting every row.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--noise", type=float, default=0.01, help="per-dimension std of the noise added to each copy")
    args = ap.parse_args()

    from sklearn.cluster import MiniBatchKMeans  # noqa: PLC0415

    from service.batch.report import _Dump, _themes  # noqa: PLC0415
    from service.config import Settings  # noqa: PLC0415
    from service.themes import ThemeComponents  # noqa: PLC0415
    from service.themes.clustering import even_sample  # noqa: PLC0415
    from service.themes.model import flatten  # noqa: PLC0415
    from training.eval_themes import encode  # noqa: PLC0415
    from training.themes_data import sets  # noqa: PLC0415

    settings = Settings()
    t0 = time.perf_counter()
    comp = ThemeComponents.load(settings)
    pool_t, pool_l, pool_u, pool_v = [], [], [], []
    for texts, langs, _, _ in sets().values():
        units, raw = encode(comp, texts, langs)  # cached by training.eval_themes; encodes once otherwise
        X = comp.embedder.centering_.transform(raw, [langs[u.comment] for u in flatten(units)])
        k = 0
        for i, us in enumerate(units):
            pool_t.append(texts[i])
            pool_l.append(langs[i])
            pool_u.append(us)
            pool_v.append(X[k:k + len(us)])
            k += len(us)
    t_pool = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    dump = _Dump()
    start = datetime(2026, 1, 1)
    for r in range(args.rows):
        j = r % len(pool_t)
        us = pool_u[j]
        v = pool_v[j] + args.noise * rng.standard_normal(pool_v[j].shape, dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        rows = [[u.start, u.end, int(u.whole), ("negative", "neutral", "positive")[(r + k) % 3], 0.0]
                for k, u in enumerate(us)]
        dump.add(pool_t[j], pool_l[j], str(r), {"label": "neutral", "score": 0.0}, float(r % 11),
                 start + timedelta(hours=r % 8000), json.dumps(rows), v.astype(np.float16).tobytes())
    n_units = sum(len(u) for u in dump.units)
    print(f"pool: {len(pool_t)} distinct comments ({t_pool:.1f} s incl. loading); dump: {args.rows} comments, "
          f"{n_units} units; RSS so far {rss_mib():.0f} MiB", flush=True)

    sample = even_sample(args.rows, settings.themes_report_max_comments)
    t0 = time.perf_counter()
    report = _themes(dump, sample, comp, lambda: None)
    t_ours = time.perf_counter() - t0
    rss_ours = rss_mib()
    print(f"e5 themes report: {t_ours:.1f} s (fit on {len(sample)}, assign {args.rows}, report), "
          f"{report.n_themes} themes + {report.n_subthemes} sub-themes, {report.unassigned_share:.1%} unassigned; "
          f"peak RSS {rss_ours:.0f} MiB", flush=True)

    t0 = time.perf_counter()
    fit_x = np.concatenate([dump.vectors[i][:1] for i in sample]).astype(np.float32)  # whole-comment vectors
    km = MiniBatchKMeans(n_clusters=20, random_state=0, n_init=3).fit(fit_x)
    for s in range(0, args.rows, 5000):
        km.predict(np.concatenate([dump.vectors[i][:1] for i in range(s, min(s + 5000, args.rows))]).astype(np.float32))
    t_km = time.perf_counter() - t0
    print(f"baseline MiniBatchKMeans k=20 (fit on the same sample, predict all; no labels, no report): {t_km:.1f} s; "
          f"peak RSS {rss_mib():.0f} MiB")
    print(json.dumps({"rows": args.rows, "units": n_units, "sample": len(sample), "themes_report_s": round(t_ours, 1),
                      "peak_rss_mib": round(rss_ours), "kmeans_baseline_s": round(t_km, 1)}))


if __name__ == "__main__":
    main()
