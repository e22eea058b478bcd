"""``touchpoints score --engine ray``: the local runner's scoring, mapped over blocks on a Ray cluster.

The driver stages the input into fixed blocks of rows, a pool of Ray actors (one loaded pipeline per
worker, ``score_rows`` as in the local runner) takes the block ids one at a time, and each actor
writes its block's scored rows (the output's columns) plus the report's inputs (clause offsets and
sentiment, fp16 theme vectors). The driver then fits the themes on an even sample of the scored
comments, as the local runner does, the same actors assign every block's comments to that model,
and the driver writes one Parquet file and the themes report.

Exactly once: a block's files are renamed into place only when complete and a block counts as done
when its part exists, so a killed worker's block is redone whole (Ray restarts the actor and retries
the task) and a killed driver resumes from the committed parts when the same command runs again.
The state folder (``--state``, default ``OUTPUT.tpray``) must be a path every node sees (local
disk in local mode, a shared file system on a cluster):

    plan.json                     input fingerprint, block count, columns and resolved mapping
    input/block-N.parquet         staged rows (row_idx, record JSON, problem): what a worker reads
    parts/block-N.parquet         scored rows, the output's columns
    parts/block-N.units.parquet   the report's inputs for those rows
    themes.json, themes.npz       the theme model fitted on the sample
    parts/block-N.themes.json     the block's comments assigned to it
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from service.batch.columns import ColumnMapping, MappingError, to_comment
from service.batch.formats import MalformedFile
from service.batch.ingest import RowStream, file_fingerprint
from service.batch.report import DumpReport, _Dump, _theme_report
from service.batch.report_render import report_csv, report_html, report_json
from service.batch.scoring import score_rows
from service.batch.writers import write_output
from service.config import Settings, batch_process_settings
from service.storage import ExportRow
from service.storage.models import utcnow
from service.storage.repository import dumps
from service.themes.clustering import even_sample
from service.themes.model import CommentTheme

log = logging.getLogger(__name__)
PLAN_FILE = "plan.json"
MODEL_META, MODEL_ARRAYS = "themes.json", "themes.npz"
VERSION_KEY = "components_version"  # in MODEL_META: the version string of the components the themes were fitted with
UNITS_ROWS_KEY = "touchpoints.units_rows"  # a units file's footer: how many of its rows carry units


def _block(i: int) -> str:
    return f"block-{i:06d}"


def _peak_rss_mib() -> int:
    import resource  # noqa: PLC0415 - POSIX

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


@dataclass
class Plan:
    """What staging found; a re-run with the same fingerprint reuses the staged blocks and the parts."""

    fingerprint: str
    rows: int
    problems: int
    block_rows: int  # rows per block as staged (the last block may be shorter)
    blocks: int
    columns: list[list[str]]
    mapping: dict[str, Any]
    requested_block_rows: int = 0  # --block-rows; a small dump is cut finer so that every worker gets blocks

    def rows_in(self, i: int) -> int:
        return min(self.block_rows, self.rows - i * self.block_rows)

    def save(self, state: Path) -> None:
        _atomic_write_text(state / PLAN_FILE, json.dumps(asdict(self)))

    @classmethod
    def load(cls, state: Path) -> "Plan | None":
        path = state / PLAN_FILE
        return cls(**json.loads(path.read_text())) if path.exists() else None


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def stage(input_path: Path, fmt: str, mapping: ColumnMapping, state: Path, fingerprint: str, block_rows: int, *,
          sheet: str | None = None, encoding: str = "utf-8", redact: bool = False,
          progress: Callable[[int], None] | None = None) -> Plan:
    """Read the input once into ``block_rows``-row Parquet blocks; raises MalformedFile/MappingError.

    A staged plan of the same input and ``block_rows`` is reused (also when ``cut_finer`` split it)."""
    plan = Plan.load(state)
    if plan is not None and plan.fingerprint == fingerprint and (plan.requested_block_rows or plan.block_rows) == block_rows:
        return plan
    shutil.rmtree(state, ignore_errors=True)  # another input or block size: nothing of the old run applies
    (state / "input").mkdir(parents=True)
    (state / "parts").mkdir()
    stream = RowStream(input_path, fmt, mapping, sheet=sheet, encoding=encoding, redact=redact)
    blocks = 0
    buf: list[tuple[int, str, str | None]] = []
    for row_idx, record, problem in stream:
        buf.append((row_idx, dumps(record), problem))
        if len(buf) >= block_rows:
            _write_block(state, blocks, buf)
            blocks, buf = blocks + 1, []
            if progress:
                progress(block_rows)
    if buf:
        _write_block(state, blocks, buf)
        blocks += 1
        if progress:
            progress(len(buf))
    columns, stored_mapping = stream.finish()
    plan = Plan(fingerprint, stream.rows, stream.problems, block_rows, blocks, columns, stored_mapping,
                requested_block_rows=block_rows)
    plan.save(state)
    return plan


def cut_finer(state: Path, plan: Plan, min_blocks: int) -> Plan:
    """A dump of fewer than ``min_blocks`` blocks, none scored yet, re-cut into ``min_blocks`` smaller ones:
    else a 2,000-row dump in 2,000-row blocks keeps all workers but one idle. Such a dump is small
    (under ``min_blocks`` blocks), so it is re-cut in memory."""
    if plan.blocks >= min_blocks or plan.rows <= plan.blocks or len(pending(state, plan, ".parquet")) < plan.blocks:
        return plan
    rows = [r for i in range(plan.blocks) for r in _read_staged(state, i)]
    per_block = -(-len(rows) // min_blocks)
    old_blocks = plan.blocks
    plan = Plan(**{**asdict(plan), "block_rows": per_block, "blocks": -(-len(rows) // per_block)})
    (state / PLAN_FILE).unlink()  # first: a driver killed while re-cutting finds no plan and stages the input anew
    for i in range(plan.blocks):
        _write_block(state, i, rows[i * per_block : (i + 1) * per_block])
    for i in range(plan.blocks, old_blocks):
        (state / "input" / f"{_block(i)}.parquet").unlink()
    plan.save(state)
    return plan


def _write_block(state: Path, i: int, rows: Sequence[tuple[int, str, str | None]]) -> None:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    schema = pa.schema([("row_idx", pa.int64()), ("record", pa.string()), ("problem", pa.string())])
    pq.write_table(pa.table(list(map(list, zip(*rows))), schema=schema), state / "input" / f"{_block(i)}.parquet")


def _read_staged(state: Path, i: int) -> list[tuple[int, str, str | None]]:
    import pyarrow.parquet as pq  # noqa: PLC0415

    t = pq.read_table(state / "input" / f"{_block(i)}.parquet").to_pydict()
    return list(zip(t["row_idx"], t["record"], t["problem"]))


def _read_block(state: Path, i: int) -> list[tuple[int, dict[str, Any], str | None]]:
    return [(int(r), json.loads(rec), p) for r, rec, p in _read_staged(state, i)]


def worker_settings(settings: Settings) -> dict[str, Any]:
    """What a worker rebuilds its ``Settings`` from (its own environment may differ on a cluster)."""
    return settings.model_dump(mode="json", exclude={"database_url", "upload_dir"})


class BlockWorker:
    """Ray actor for both map steps: loads the pipeline once, scores blocks, then assigns them to the
    fitted themes. One pool of these serves the whole run, so no step starts its actors again."""

    def __init__(self, state: str, settings: dict[str, Any], threads: int) -> None:
        import torch  # noqa: PLC0415

        from service.pipeline import AnalysisPipeline  # noqa: PLC0415

        torch.set_num_threads(threads)
        self.settings = batch_process_settings(Settings(**{**settings, "torch_threads": threads}))
        self.state = Path(state)
        self.plan = Plan.load(self.state)
        assert self.plan is not None
        self.mapping = ColumnMapping.from_dict(self.plan.mapping)
        self.pipeline = AnalysisPipeline.from_settings(self.settings)
        self.model: Any = None  # the fitted themes, read when the first block is assigned

    def score(self, i: int) -> tuple[int, int]:
        """(rows, peak RSS MiB) of scoring block ``i`` (``score_rows`` gives back what the block freed)."""
        return self.score_block(i), _peak_rss_mib()

    def assign(self, i: int) -> tuple[int, int]:
        """(comments, peak RSS MiB) of assigning block ``i`` to the fitted themes."""
        if self.model is None:
            if self.pipeline.themes is None:
                raise RuntimeError("this worker's pipeline has no themes stage")
            self.model = load_model(self.state, self.pipeline.themes.components)
        return self.assign_block(i), _peak_rss_mib()

    def fit(self, _: int = 0) -> tuple[int, int]:
        """(comments sampled, peak RSS MiB) of fitting the themes on an even sample of the scored blocks. A worker
        fits, not the driver, so the fitted themes and every assignment share one engine's taxonomy vectors."""
        if self.pipeline.themes is None:
            raise RuntimeError("this worker's pipeline has no themes stage")
        return fit_themes(self.state, self.plan, self.settings, self.pipeline.themes.components), _peak_rss_mib()

    def score_block(self, i: int) -> int:
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        rows = _read_block(self.state, i)
        results = {r["row_idx"]: r for r in score_rows(self.pipeline, self.mapping, rows)}
        export, side = [], []
        for row_idx, record, problem in rows:
            r = dict(results[row_idx])
            units_json, blob = r.pop("units_json", None), r.pop("vectors", None)
            r["themes"] = json.loads(r.pop("themes_json") or "[]")
            r.pop("row_idx")
            export.append(ExportRow(row_idx, record, problem, r))
            comment = to_comment(record, row_idx, self.mapping) if r["status"] == "ok" else None
            meta = comment.metadata if comment is not None and not isinstance(comment, str) else None
            side.append({"row_idx": row_idx, "status": r["status"], "comment_id": str(r["comment_id"]),
                         "text": str(record.get(self.mapping.text, "")) if r["status"] == "ok" else None,
                         "language": r["language"], "sentiment": r["sentiment"], "sentiment_score": r["sentiment_score"],
                         "meta_score": meta.score if meta else None,
                         "meta_time": meta.timestamp.isoformat() if meta and meta.timestamp else None,
                         "units_json": units_json, "vectors": blob})
        parts = self.state / "parts"
        tmp = parts / f".{_block(i)}.units.{os.getpid()}.tmp"
        with_units = sum(1 for r in side if r["status"] == "ok" and r["units_json"] is not None)
        schema = _side_schema().with_metadata({UNITS_ROWS_KEY: str(with_units)})  # fit_themes reads only the footer
        pq.write_table(pa.Table.from_pylist(side, schema=schema), tmp)
        os.replace(tmp, parts / f"{_block(i)}.units.parquet")
        # the part last: its existence is what marks the block done
        write_output(parts / f"{_block(i)}.parquet", "parquet", self.plan.columns, [export])
        return len(rows)

    def assign_block(self, i: int) -> int:
        dump = _dump_of(_load_dump(self.state, [i]))[0]
        rows: dict[str, list] = {}
        if dump.texts:
            idx = np.arange(len(dump.texts))
            keys = [str(r) for r in dump.rows]
            first = np.cumsum([0] + [len(us) for us in dump.units])  # block-wide unit index -> the row's own
            for k, (row_idx, comment) in enumerate(zip(dump.rows, self.model.predict(*dump.subset(idx), keys=keys))):
                rows[str(row_idx)] = [[c.theme, c.sub, c.confidence, [int(u - first[k]) for u in c.units]]
                                      for c in comment]
        _atomic_write_text(self.state / "parts" / f"{_block(i)}.themes.json", json.dumps(rows))
        return len(rows)


def _side_schema():  # type: ignore[no-untyped-def]
    """The schema of a block's report inputs (``parts/block-N.units.parquet``)."""
    import pyarrow as pa  # noqa: PLC0415

    return pa.schema([("row_idx", pa.int64()), ("status", pa.string()), ("comment_id", pa.string()),
                      ("text", pa.string()), ("language", pa.string()), ("sentiment", pa.string()),
                      ("sentiment_score", pa.float64()), ("meta_score", pa.float64()), ("meta_time", pa.string()),
                      ("units_json", pa.string()), ("vectors", pa.binary())])


def _load_dump(state: Path, blocks: Sequence[int], columns: Sequence[str] | None = None) -> Iterator[dict[str, list]]:
    import pyarrow.parquet as pq  # noqa: PLC0415

    for i in blocks:
        yield pq.read_table(state / "parts" / f"{_block(i)}.units.parquet", columns=columns).to_pydict()


def _dump_of(tables: Iterator[dict[str, list]]) -> tuple[_Dump, Counter[str], Counter[str], int, int]:
    """The report's comments (those with stored units) and its counts, in row order."""
    dump, languages, sentiments = _Dump(), Counter[str](), Counter[str]()
    n = errors = 0
    for t in tables:
        for k in range(len(t["row_idx"])):
            n += 1
            if t["status"][k] != "ok":
                errors += 1
                continue
            languages[t["language"][k] or "und"] += 1
            sentiments[t["sentiment"][k] or "unscored"] += 1
            if t["units_json"][k] is None:
                continue
            label = t["sentiment"][k]
            when = datetime.fromisoformat(t["meta_time"][k]) if t["meta_time"][k] else None
            dump.add(t["text"][k], t["language"][k] or "und", t["comment_id"][k],
                     {"label": label, "score": t["sentiment_score"][k]} if label else None, t["meta_score"][k], when,
                     t["units_json"][k], t["vectors"][k], row_idx=t["row_idx"][k])
    return dump, languages, sentiments, n, errors


def _stored_model(state: Path) -> tuple[dict, dict[str, np.ndarray]]:
    meta = json.loads((state / MODEL_META).read_text())
    with np.load(state / MODEL_ARRAYS) as z:
        return meta, {k: z[k] for k in z.files}


def load_model(state: Path, components: Any) -> Any:
    """The fitted themes with the configured stages (a worker assigns with them)."""
    return components.new_model().load_state(*_stored_model(state))


def load_report_model(state: Path) -> tuple[Any, str]:
    """(the fitted themes without any stage, the theme components' version): all the driver's report reads, so
    the driver loads no encoder and embeds no taxonomy (the workers did both)."""
    from service.themes.model import ThemeModel  # noqa: PLC0415 - the themes stack, when used

    meta, arrays = _stored_model(state)
    return ThemeModel.stored(meta, arrays), str(meta.get(VERSION_KEY, "not recorded (fitted by an older version)"))


def fit_themes(state: Path, plan: Plan, settings: Settings, components: Any) -> int:
    """Fit on an even sample of the scored comments (as ``service.batch.report`` does); the sample's size."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    # how many rows of each block carry units: the files' footers, not their contents
    has_units = [int(pq.read_schema(state / "parts" / f"{_block(i)}.units.parquet").metadata[UNITS_ROWS_KEY.encode()])
                 for i in range(plan.blocks)]
    total = sum(has_units)
    if total < 2:
        return 0
    chosen = even_sample(total, settings.themes_report_max_comments)
    picks = set(chosen.tolist())
    first = np.cumsum([0] + has_units)  # the index (among unit-carrying rows) of each block's first one
    blocks = sorted(set((np.searchsorted(first, chosen, side="right") - 1).tolist()))  # only blocks with picks
    sample = _Dump()
    for i, t in zip(blocks, _load_dump(state, blocks)):
        seen = int(first[i])
        for k in range(len(t["row_idx"])):
            if t["status"][k] != "ok" or t["units_json"][k] is None:
                continue
            if seen in picks:
                sample.add(t["text"][k], t["language"][k] or "und", t["comment_id"][k], None, None, None,
                           t["units_json"][k], t["vectors"][k], row_idx=t["row_idx"][k])
            seen += 1
    model = components.new_model().fit(*sample.subset(np.arange(len(sample.texts))))
    meta, arrays = model.to_state()
    meta[VERSION_KEY] = components.version  # for the driver's report, which loads no theme components
    np.savez(state / f".{MODEL_ARRAYS}", **arrays)
    os.replace(state / f".{MODEL_ARRAYS}", state / MODEL_ARRAYS)
    _atomic_write_text(state / MODEL_META, json.dumps(meta))
    return len(sample.texts)


def build_dump_report(state: Path, plan: Plan, name: str, sampled: int) -> DumpReport:
    """The local runner's report, from the parts and the map step's assignments (themes when ``sampled``)."""
    dump, languages, sentiments, n, errors = _dump_of(_load_dump(state, range(plan.blocks)))
    themes = None
    if sampled:
        model, version = load_report_model(state)
        assigned: list[list[CommentTheme]] = []
        by_row: dict[str, list] = {}
        for i in range(plan.blocks):
            by_row.update(json.loads((state / "parts" / f"{_block(i)}.themes.json").read_text()))
        first_unit = np.cumsum([0] + [len(us) for us in dump.units])
        for k, row_idx in enumerate(dump.rows):
            assigned.append([CommentTheme(t, s, c, tuple(int(first_unit[k]) + u for u in us))
                             for t, s, c, us in by_row.get(str(row_idx), [])])
        themes = _theme_report(model, dump, assigned, version)
    return DumpReport(job_id=f"ray-{plan.fingerprint[:12]}", dataset=name, generated_at=utcnow().isoformat() + "Z",
                      rows=n, scored=n - errors, errors=errors, languages=dict(languages.most_common()),
                      sentiment=dict(sentiments.most_common()), sampled_comments=sampled, themes=themes,
                      note=None if themes is not None else "themes skipped (no theme models or under 2 comments)")


def merge_parts(state: Path, plan: Plan, output: Path) -> int:
    """Concatenate the parts in row order into ``output`` (renamed into place when complete)."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    n = 0
    writer = None
    try:
        for i in range(plan.blocks):
            table = pq.read_table(state / "parts" / f"{_block(i)}.parquet")
            writer = writer or pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            n += table.num_rows
        if writer is not None:
            writer.close()
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def pending(state: Path, plan: Plan, suffix: str) -> list[int]:
    return [i for i in range(plan.blocks) if not (state / "parts" / f"{_block(i)}{suffix}").exists()]


class WorkerPool:
    """``workers`` ``BlockWorker`` actors (``threads`` CPUs each) for every map step of one run.

    A worker that dies is restarted (its constructor runs again) and its block retried: a block's
    files are only renamed into place when complete, so a half-done block leaves nothing behind."""

    def __init__(self, state: Path, settings: Settings, workers: int, threads: int) -> None:
        self.state, self.settings, self.workers, self.threads = state, settings, workers, threads
        self.actors: list[Any] = []  # started by the first step that has blocks to do
        self.peak_rss_mib = 0

    def map(self, method: str, blocks: Sequence[int], progress: Callable[[int], None] | None = None) -> None:
        """Call ``method`` on every block, one block per task, a new block to whichever actor is free."""
        import ray  # noqa: PLC0415

        if blocks and not self.actors:
            actor = ray.remote(BlockWorker).options(num_cpus=self.threads, max_restarts=-1, max_task_retries=3)
            self.actors = [actor.remote(str(self.state), worker_settings(self.settings), self.threads)
                           for _ in range(self.workers)]
        todo, running = list(blocks), {}
        idle = list(self.actors)
        while todo or running:
            while todo and idle:
                a = idle.pop()
                running[getattr(a, method).remote(todo.pop(0))] = a
            done, _ = ray.wait(list(running), num_returns=1)
            idle.append(running.pop(done[0]))
            rows, rss = ray.get(done[0])
            self.peak_rss_mib = max(self.peak_rss_mib, rss)
            if progress:
                progress(rows)

    def close(self) -> None:
        import ray  # noqa: PLC0415

        for a in self.actors:
            ray.kill(a)


def connect(address: str, workers: int | None, threads: int) -> int:
    """``ray.init`` for ``local`` (this machine, ``workers`` x ``threads`` CPUs) or a cluster address; the
    number of workers to run (default: the cluster's CPUs // threads)."""
    import ray  # noqa: PLC0415

    if not ray.is_initialized():
        if address == "local":
            n = workers or max(1, (os.cpu_count() or 1) // threads)
            ray.init(num_cpus=n * threads, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     _node_ip_address="127.0.0.1")  # local mode talks over loopback only
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return workers or max(1, cpus // threads)


def remove_temporaries(state: Path) -> None:
    """Files a killed worker or driver left half-written (never renamed into place)."""
    for pattern in (".*.tmp", ".*.partial"):
        for p in (state / "parts").glob(pattern):
            p.unlink(missing_ok=True)


def run(args: Any, settings: Settings, timings: dict[str, float], state: Path, fmt_in: str, fmt_out: str,
        mapping: ColumnMapping, say: Callable[[str], None], progress: Callable[..., Any]) -> int:
    """The driver of ``touchpoints score --engine ray`` (exit codes as the local runner's)."""
    from service.themes import themes_available  # noqa: PLC0415 - the themes stack, when used

    if fmt_out != "parquet":
        say("error: --engine ray writes Parquet; give an OUTPUT ending in .parquet")
        return 2
    threads = args.worker_threads
    if args.restart:
        shutil.rmtree(state, ignore_errors=True)
    redact = settings.redact_pii if getattr(args, "redact", None) is None else args.redact
    fingerprint = file_fingerprint(args.input, mapping, args.sheet, args.encoding, redact=redact)
    t0 = time.perf_counter()
    try:
        with progress("reading", None, 0, args.no_progress) as bar:
            plan = stage(args.input, fmt_in, mapping, state, fingerprint, args.block_rows, sheet=args.sheet,
                         encoding=args.encoding, redact=redact, progress=bar.update)
    except (MalformedFile, MappingError) as exc:
        shutil.rmtree(state, ignore_errors=True)
        say(f"error: {args.input}: {exc}")
        return 2
    remove_temporaries(state)
    timings["read"] = time.perf_counter() - t0
    workers = connect(args.address, args.workers, threads)
    plan = cut_finer(state, plan, 2 * workers)
    todo = pending(state, plan, ".parquet")
    if len(todo) < plan.blocks:
        say(f"resuming: {plan.blocks - len(todo)} of {plan.blocks} blocks already scored")
    say(f"ray: {workers} workers x {threads} threads, {plan.blocks} blocks of {plan.block_rows} rows")
    t0 = time.perf_counter()
    scored_rows = sum(plan.rows_in(b) for b in todo)
    pool = WorkerPool(state, settings, workers, threads)
    try:
        with progress("scoring", plan.rows, plan.rows - scored_rows, args.no_progress) as bar:
            pool.map("score", todo, bar.update)
        timings["score"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        sampled = 0
        if not args.no_report and themes_available(settings.themes_path):
            if not (state / MODEL_META).exists():
                say("fitting themes on a sample ...")
                pool.map("fit", [0])  # in a worker: its engine embedded the units and embeds the taxonomy
            if (state / MODEL_META).exists():
                sampled = int(json.loads((state / MODEL_META).read_text())["n_comments"])
                pool.map("assign", pending(state, plan, ".themes.json"))
        timings["themes_report"] = time.perf_counter() - t0
    finally:
        pool.close()
    peak = pool.peak_rss_mib
    t0 = time.perf_counter()
    n = merge_parts(state, plan, args.output)
    report = None if args.no_report else build_dump_report(state, plan, args.input.name, sampled)
    if report is not None:
        prefix = args.report or args.output.with_suffix("").with_name(args.output.stem + ".themes")
        for ext, render in (("json", report_json), ("csv", report_csv), ("html", report_html)):
            Path(f"{prefix}.{ext}").write_text(render(report), encoding="utf-8")
        say(f"themes report: {prefix}.json/.csv/.html")
    timings["write"] = time.perf_counter() - t0
    rate = f", {scored_rows / timings['score']:.0f} rows/s scoring" if scored_rows and timings["score"] else ""
    errors = report.errors if report is not None else None
    say(f"wrote {n} rows to {args.output}" + (f" ({n - errors} scored, {errors} rejected{rate})" if errors is not None
                                             else rate))
    say("time: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
        + (f"; peak worker RSS {peak} MiB" if peak else ""))
    if not args.keep_state:
        shutil.rmtree(state, ignore_errors=True)
    return 0
