"""Page times of the web app (/app) on a 100k-row job, and how long an edit takes to reach its pages.

    python benchmarks/bench_webapp.py [--rows 100000] [--db /tmp/bench_webapp.db] [--repeat 5]

The job is made without scoring (an hour of e5 at 100k rows): the real evaluation texts whose vectors
``training.eval_themes`` caches are repeated with a little noise (as ``bench_themes.py`` does) and
stored as a job's dataset rows, results and units through ``Repository.save_chunk``; then the real
``service.batch.report.build_report`` fits, stores the theme model and writes ``tp_job_row_themes``.
The pages are then requested through the real app in-process (``TestClient``, no network), each
``--repeat`` times (the pages issue #12 added too: a keyword theme's preview, which matches every
comment's text, the XLSX exports, a share link's read-only pages); the edit is a merge of the two biggest
themes through the app's form, timed until the job's comments are re-assigned (``/app/jobs/{id}/state``
says fresh), then its undo, timed the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
LABELS = ("negative", "neutral", "positive")


def make_job(db: Path, rows: int, noise: float) -> str:
    from service.batch.report import build_report  # noqa: PLC0415
    from service.config import Settings  # noqa: PLC0415
    from service.storage import Repository, make_engine  # noqa: PLC0415
    from service.themes import ThemeComponents  # noqa: PLC0415
    from service.themes.model import flatten  # noqa: PLC0415
    from training.eval_themes import encode  # noqa: PLC0415
    from training.themes_data import sets  # noqa: PLC0415

    settings = Settings(database_url=f"sqlite:///{db}")
    comp = ThemeComponents.load(settings)
    pool = []
    for texts, langs, _, _ in sets().values():
        units, raw = encode(comp, texts, langs)  # cached by training.eval_themes
        X = comp.embedder.centering_.transform(raw, [langs[u.comment] for u in flatten(units)])
        k = 0
        for i, us in enumerate(units):
            pool.append((texts[i], langs[i], us, X[k:k + len(us)]))
            k += len(us)
    repo = Repository(make_engine(settings.database_url))
    mapping = {"text": "text", "id": "id", "language": None, "metadata": {"score": "nps", "timestamp": "date"}}
    ds = repo.create_dataset("bench-100k.csv", "csv", mapping)
    rng = np.random.default_rng(0)
    start = datetime(2026, 1, 1)
    t0 = time.perf_counter()
    records = []
    for r in range(rows):
        text = pool[r % len(pool)][0]
        records.append((r, {"id": f"r{r}", "text": text, "nps": str(r * 7 % 11),
                            "date": (start + timedelta(hours=r % 8000)).isoformat()}, None))
        if len(records) == 5000:
            repo.add_rows(ds.id, records)
            records = []
    repo.add_rows(ds.id, records)
    repo.finish_dataset(ds.id, rows, 0, [["id", "str"], ["text", "str"], ["nps", "str"], ["date", "str"]], mapping)
    job = repo.create_job(ds.id)
    owner = "bench"
    repo.claim(job.id, owner, 3600)
    cursor = 0
    while cursor < rows:
        chunk = []
        for r in range(cursor, min(cursor + 2000, rows)):
            text, lang, us, V = pool[r % len(pool)]
            v = V + noise * rng.standard_normal(V.shape, dtype=np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            h = int(hashlib.sha1(text.encode()).hexdigest(), 16)
            label = LABELS[h % 3]
            units = [[u.start, u.end, int(u.whole), LABELS[(h >> (k + 2)) % 3], 0.0] for k, u in enumerate(us)]
            chunk.append({"row_idx": r, "comment_id": f"r{r}", "status": "ok", "error": None, "language": lang,
                          "language_confidence": 0.99, "sentiment": label,
                          "sentiment_score": {"negative": -0.6, "neutral": 0.0, "positive": 0.6}[label],
                          "p_negative": 0.2, "p_neutral": 0.3, "p_positive": 0.5, "themes_json": "[]",
                          "units_json": json.dumps(units), "vectors": v.astype(np.float16).tobytes()})
        assert repo.save_chunk(job.id, owner, cursor, chunk, 3600)
        cursor += len(chunk)
    print(f"job {job.id}: {rows} rows stored in {time.perf_counter() - t0:.1f} s", flush=True)
    t_rows: list[float] = []
    replace = repo.replace_row_themes

    def timed_replace(*a, **kw):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return replace(*a, **kw)
        finally:
            t_rows.append(time.perf_counter() - t)

    repo.replace_row_themes = timed_replace  # type: ignore[method-assign]
    t0 = time.perf_counter()
    report = build_report(repo, repo.get_job(job.id), ds, settings, comp)
    repo.save_themes(job.id, report.model_dump(mode="json"))
    repo.finish(job.id, "completed", report.note, {}, owner=owner)
    print(f"themes report (fit on {report.sampled_comments}, assign all, store the model and the row themes): "
          f"{time.perf_counter() - t0:.1f} s; {report.themes.n_themes} themes, {report.themes.n_subthemes} "
          f"sub-themes; of which writing tp_job_row_themes {sum(t_rows):.1f} s", flush=True)
    return job.id


def timed(c, url: str, repeat: int) -> tuple[float, float, int]:
    times, size = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = c.get(url, follow_redirects=False)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, (url, r.status_code, r.text[:500])
        size = len(r.content)
    return statistics.median(times), max(times), size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--noise", type=float, default=0.01)
    ap.add_argument("--db", type=Path, default=Path("/tmp/bench_webapp.db"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--reuse", action="store_true", help="use the job already in --db")
    args = ap.parse_args()

    from fastapi.testclient import TestClient  # noqa: PLC0415

    from service.api.app import create_app  # noqa: PLC0415
    from service.config import Settings  # noqa: PLC0415
    from service.storage import Repository, make_engine  # noqa: PLC0415

    if not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        job_id = make_job(args.db, args.rows, args.noise)
    else:
        job_id = Repository(make_engine(f"sqlite:///{args.db}")).list_jobs(1)[0][0].id
    with TestClient(create_app(Settings(database_url=f"sqlite:///{args.db}"))) as c:
        rep = c.get(f"/v1/jobs/{job_id}/themes").json()
        themes = rep["themes"]["themes"]
        tops = sorted((t for t in themes if t["level"] == 1), key=lambda t: -t["size"])
        big = tops[0]
        sub = max((t for t in themes if t["level"] == 2), key=lambda t: t["size"])
        word = next(w for w in big["keywords"].get("en", []) + ["the"] if len(w) > 2)
        base = f"/app/jobs/{job_id}"
        pages = {
            "jobs list": "/app",
            "overview": base,
            "overview, language=fi": f"{base}?language=fi",
            "overview, sentiment=negative, sort=impact": f"{base}?sentiment=negative&sort=impact",
            f"theme page ({big['size']} comments)": f"{base}/themes/{big['theme_id']}",
            "theme page, last page": f"{base}/themes/{big['theme_id']}?page={(big['size'] + 49) // 50}",
            f"theme page, search {word!r}": f"{base}/themes/{big['theme_id']}?q={word}",
            "theme page, fi + negative clauses": f"{base}/themes/{big['theme_id']}?language=fi&clause_sentiment=negative",
            f"sub-theme page ({sub['size']} comments)": f"{base}/themes/{sub['theme_id']}",
            f"theme CSV export ({big['size']} rows)": f"{base}/themes/{big['theme_id']}/comments.csv",
            "overview CSV (/v1/jobs/{id}/themes?format=csv)": f"/v1/jobs/{job_id}/themes?format=csv",
            "overview table XLSX (current view)": f"{base}/themes.xlsx",
            f"theme XLSX export ({big['size']} rows)": f"{base}/themes/{big['theme_id']}/comments.xlsx",
            f"keyword theme preview {word!r} (every comment's text)": f"{base}/keyword?phrase={word}",
            f"keyword theme preview {word!r}, language=fi": f"{base}/keyword?phrase={word}&language=fi",
        }
        made = c.post(f"{base}/share")
        assert made.status_code == 201, made.text
        shared = re.search(r'id="new-link" type="text" readonly value="[^"]*(/app/shared/[^"]+)"', made.text).group(1)
        pages["share link: overview"] = shared
        pages[f"share link: theme page ({big['size']} comments)"] = f"{shared}/themes/{big['theme_id']}"
        print(f"\n{args.rows} rows, {len(tops)} themes; in-process TestClient, median / max of {args.repeat}\n")
        print("| page | median s | max s | bytes |\n|---|---|---|---|")
        for name, url in pages.items():
            med, worst, size = timed(c, url, args.repeat)
            print(f"| {name} | {med:.3f} | {worst:.3f} | {size:,} |", flush=True)

        a, b = tops[0], tops[1]
        t0 = time.perf_counter()
        r = c.post(f"{base}/merge", data={"theme_ids": [a["theme_id"], b["theme_id"]], "next": base},
                   follow_redirects=False)
        t_post = time.perf_counter() - t0
        assert r.status_code == 303, r.text
        while c.get(f"{base}/state").json()["state"] == "updating":
            time.sleep(0.2)
        t_all = time.perf_counter() - t0
        after = c.get(f"/v1/jobs/{job_id}/themes").json()
        assert b["theme_id"] not in {t["theme_id"] for t in after["themes"]["themes"]}
        print(f"\nmerge of {a['theme_id']} ({a['size']}) and {b['theme_id']} ({b['size']}) through the form: "
              f"answer (303) after {t_post:.1f} s, the job's {args.rows} comments re-assigned and its report rebuilt "
              f"after {t_all:.1f} s")
        med, worst, _ = timed(c, base, args.repeat)
        print(f"overview after the merge (with its edit history): {med:.3f} s median")

        t0 = time.perf_counter()
        r = c.post(f"{base}/undo", data={"next": base}, follow_redirects=False)
        t_post = time.perf_counter() - t0
        assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers["location"]
        while c.get(f"{base}/state").json()["state"] == "updating":
            time.sleep(0.2)
        t_all = time.perf_counter() - t0
        back = c.get(f"/v1/jobs/{job_id}/themes").json()
        assert b["theme_id"] in {t["theme_id"] for t in back["themes"]["themes"]}
        print(f"undo of that merge: answer (303) after {t_post:.1f} s, applied to all {args.rows} comments after "
              f"{t_all:.1f} s")


if __name__ == "__main__":
    main()
