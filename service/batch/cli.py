"""``touchpoints score INPUT -o OUTPUT``: batch-score a comment dump, resumably.

The input is first ingested into a state database next to the output (SQLite), then scored
chunk by chunk through the same runner as the API's jobs. Interrupt it (Ctrl-C, kill, crash)
and run the same command again: it resumes from the last committed chunk. The state file is
removed after a successful run unless ``--keep-state``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from service.batch.columns import ColumnMapping, MappingError, parse_metadata_spec
from service.batch.formats import FORMATS, MalformedFile, UnsupportedFormat, detect_format
from service.batch.ingest import file_fingerprint, ingest_file
from service.batch.report import DumpReport
from service.batch.report_render import report_csv, report_html, report_json
from service.batch.runner import run_job
from service.batch.writers import write_output
from service.config import Settings, batch_process_settings, get_settings
from service.logsafe import describe_error
from service.pipeline import AnalysisPipeline
from service.storage import Repository, make_engine
from service.storage.faults import storage_fault
from service.storage.models import Dataset, Job


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="batch-score a CSV/TSV/JSONL/Parquet/Excel file (resumable)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, help="comments file: .csv .tsv .jsonl .parquet .xlsx")
    p.add_argument("-o", "--output", type=Path, required=True, help="scored file; format from its extension")
    p.add_argument("--input-format", choices=FORMATS, help="override detection by extension")
    p.add_argument("--output-format", choices=FORMATS, help="override detection by extension")
    p.add_argument("--text-col", help="column with the comment text (default: text/comment/answer/... )")
    p.add_argument("--id-col", help="column with the comment id (default: 'id' if present, else row number)")
    p.add_argument("--language-col", help="column with a language hint (sv/da/fi/en)")
    p.add_argument("--meta", action="append", default=[], metavar="FIELD[=COLUMN]",
                   help="pass a column as comment metadata, e.g. --meta score=NPS --meta survey_id; repeatable")
    p.add_argument("--sheet", help="Excel sheet to read (default: the first)")
    p.add_argument("--encoding", default="utf-8",
                   help="text encoding of CSV/TSV/JSONL input, e.g. cp1252 for some Excel exports (default utf-8)")
    p.add_argument("--redact", action=argparse.BooleanOptionalAction, default=None,
                   help="replace e-mail addresses, phone numbers, URLs, card numbers and personal identity numbers "
                        "in the text column with placeholders ([EMAIL], [PHONE], ...) before anything is stored or "
                        "scored; the output holds the redacted text and a tp_redacted count "
                        "(default: the TOUCHPOINTS_REDACT_PII setting)")
    p.add_argument("--chunk-rows", type=int, help="rows per committed chunk (default from settings)")
    p.add_argument("--report", type=Path, metavar="PREFIX",
                   help="themes report files PREFIX.json/.csv/.html (default: OUTPUT without extension + '.themes')")
    p.add_argument("--no-report", action="store_true", help="skip the themes report")
    p.add_argument("--errors-out", type=Path, help="also write the rejected rows (row, id, error) to this CSV")
    p.add_argument("--state", type=Path, help="resume state database (default: OUTPUT.tpstate.db)")
    p.add_argument("--restart", action="store_true", help="discard saved progress and start over")
    p.add_argument("--keep-state", action="store_true", help="keep the state database after success")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    ray = p.add_argument_group("Ray (--engine ray: the same scoring mapped over blocks on a Ray cluster; Parquet out)")
    ray.add_argument("--engine", choices=["local", "ray"], default="local",
                     help="local (this process, default) or ray (service/batch/ray_runner.py)")
    ray.add_argument("--address", default="local",
                     help="ray: 'local' (start Ray on this machine), 'auto' (the cluster this node is in) or an address")
    ray.add_argument("--workers", type=int, help="ray: scoring actors (default: the cluster's CPUs // --worker-threads)")
    ray.add_argument("--worker-threads", type=int, default=1, help="ray: CPU threads per worker (default 1)")
    ray.add_argument("--block-rows", type=int, default=2000, help="ray: rows per block (the unit of retry; default 2000)")
    p.set_defaults(func=run_score)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _progress(desc: str, total: int | None, initial: int, disable: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=" rows", dynamic_ncols=True,
                disable=disable, file=sys.stderr, smoothing=0.1)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _dataset(repo: Repository, args: argparse.Namespace, fmt: str, mapping: ColumnMapping,
             settings: Settings) -> Dataset:
    """The ingested input: reused from the state file if the input is unchanged, else (re-)read."""
    redact = settings.redact_pii if getattr(args, "redact", None) is None else args.redact
    fp = file_fingerprint(args.input, mapping, args.sheet, args.encoding, redact=redact)
    keep = None
    for ds in repo.all_datasets():
        if keep is None and ds.fingerprint == fp and ds.status == "ready":
            keep = ds
        else:
            repo.delete_dataset(ds.id)  # other input, other mapping, or an interrupted read
    if keep is not None:
        return keep
    with _progress("reading", None, 0, args.no_progress) as bar:
        return ingest_file(repo, args.input, fmt, mapping, sheet=args.sheet, encoding=args.encoding, fingerprint=fp,
                           chunk_rows=max(500, settings.batch_chunk_rows), progress=bar.update, redact=redact)


def _job(repo: Repository, ds: Dataset, args: argparse.Namespace) -> Job:
    jobs = [j for j in repo.jobs_of_dataset(ds.id) if j.status != "failed"]
    if jobs:
        return jobs[-1]
    return repo.create_job(ds.id, {"chunk_rows": args.chunk_rows})


def _write_reports(repo: Repository, job: Job, prefix: Path) -> list[Path]:
    stored = repo.get_themes(job.id)
    if stored is None:
        return []
    report = DumpReport.model_validate(stored)
    paths = [Path(f"{prefix}.json"), Path(f"{prefix}.csv"), Path(f"{prefix}.html")]
    paths[0].write_text(report_json(report), encoding="utf-8")
    paths[1].write_text(report_csv(report), encoding="utf-8", newline="")
    paths[2].write_text(report_html(report), encoding="utf-8")
    return paths


def _write_errors(repo: Repository, job_id: str, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["row", "id", "error"])
        w.writeheader()
        offset = 0
        while batch := repo.errors(job_id, offset, 5000):
            w.writerows(batch)
            offset += len(batch)


def run_score(args: argparse.Namespace, pipeline: AnalysisPipeline | None = None,
              settings: Settings | None = None, timings: dict[str, float] | None = None) -> int:
    """Exit status: 0 done (bad rows are reported, not fatal), 1 job failed, 2 unusable input, 3 storage fault
    (full or read-only disk; resumable), 130 interrupted (Ctrl-C or SIGTERM; resumable).

    ``timings`` (if given) receives seconds per phase: read, load_models, score, themes_report, write.
    """
    settings = batch_process_settings(settings or get_settings())
    timings = {} if timings is None else timings
    if args.chunk_rows:
        settings = settings.model_copy(update={"batch_chunk_rows": args.chunk_rows})
    if not args.input.is_file():
        _say(f"error: {args.input} is not a file")
        return 2
    try:
        fmt_in = detect_format(args.input, args.input_format)
        fmt_out = detect_format(args.output, args.output_format)
    except UnsupportedFormat as exc:
        _say(f"error: {exc}")
        return 2
    try:
        "".encode(args.encoding)
    except LookupError:
        _say(f"error: unknown encoding {args.encoding!r}")
        return 2
    mapping = ColumnMapping(text=args.text_col, id=args.id_col, language=args.language_col,
                            metadata=parse_metadata_spec(args.meta))
    ray = getattr(args, "engine", "local") == "ray"
    state = args.state or Path(f"{args.output}.{'tpray' if ray else 'tpstate.db'}")
    try:
        with _sigterm_as_interrupt():
            lock = _lock(Path(f"{state}.lock"))
            if lock is None:
                _say(f"error: another 'touchpoints score' is writing {args.output} (lock {state}.lock); wait for it")
                return 2
            try:
                if ray:
                    from service.batch import ray_runner  # noqa: PLC0415 - Ray is imported only when chosen

                    return ray_runner.run(args, settings, timings, state, fmt_in, fmt_out, mapping, _say, _progress)
                return _score_locked(args, pipeline, settings, timings, state, fmt_in, fmt_out, mapping)
            finally:
                Path(f"{state}.lock").unlink(missing_ok=True)
                lock.close()
    except KeyboardInterrupt:  # outside scoring, which handles its own (reading restarts, writing is redone)
        _say("\ninterrupted; run the same command to resume")
        return 130
    except Exception as exc:
        if (fault := storage_fault(exc)) is None:
            raise
        _say(f"error: {fault.what} ({describe_error(exc)}); every chunk scored so far is kept in {state}: "
             "free space (or make the output folder writable) and run the same command to resume")
        return 3


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a container stop) stops a run like Ctrl-C: the lease is released, exit 130, resumable."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _lock(path: Path) -> IO[bytes] | None:
    """Exclusive advisory lock (released by the OS even on kill -9), so two runs never share a state file."""
    f = open(path, "wb")  # noqa: SIM115 - held for the whole run
    try:
        import fcntl  # noqa: PLC0415 - POSIX only; elsewhere runs are not guarded
    except ImportError:
        return f
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    return f


def _score_locked(args: argparse.Namespace, pipeline: AnalysisPipeline | None, settings: Settings,
                  timings: dict[str, float], state: Path, fmt_in: str, fmt_out: str, mapping: ColumnMapping) -> int:
    if args.restart:
        _remove_sqlite(state)
    engine = make_engine(f"sqlite:///{state}")
    repo = Repository(engine)
    t0 = time.perf_counter()
    try:
        try:
            ds = _dataset(repo, args, fmt_in, mapping, settings)
        except (MalformedFile, MappingError) as exc:
            _say(f"error: {args.input}: {exc}")
            return 2
        timings["read"] = time.perf_counter() - t0
        job = _job(repo, ds, args)
        if job.status != "completed":
            done_before = job.rows_done
            if done_before:
                _say(f"resuming: {done_before} of {job.total_rows} rows already scored")
            t0 = time.perf_counter()
            pipeline = pipeline or AnalysisPipeline.from_settings(settings)
            timings["load_models"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            owner = f"cli-{os.getpid()}"
            repo.claim(job.id, owner, settings.job_lease_seconds, force=True)
            with _progress("scoring", job.total_rows, done_before, args.no_progress) as bar:

                def advance(n: int) -> None:
                    bar.update(n)
                    if bar.n >= job.total_rows:  # the themes report follows; keep the final rate honest
                        bar.close()
                        _say("building the themes report ...")

                try:
                    outcome = run_job(repo, job.id, owner, pipeline, settings, progress=advance, timings=timings)
                except KeyboardInterrupt:
                    repo.release(job.id, owner)
                    bar.close()
                    done = repo.get_job(job.id).rows_done
                    _say(f"\ninterrupted: {done} of {job.total_rows} rows saved; run the same command to resume")
                    return 130
            if outcome != "completed":
                _say(f"error: job ended as {outcome}: {repo.get_job(job.id).message}")
                return 1
            scored_now = job.total_rows - done_before
            timings["score"] = time.perf_counter() - t0 - timings.get("themes_report", 0.0)
        else:
            scored_now = 0
        job = repo.get_job(job.id)
        t0 = time.perf_counter()
        n = write_output(args.output, fmt_out, json.loads(ds.columns_json), repo.iter_export(job.id, ds.id))
        timings["write"] = time.perf_counter() - t0
        reports = [] if args.no_report else _write_reports(
            repo, job, args.report or args.output.with_suffix("").with_name(args.output.stem + ".themes"))
        if args.errors_out:
            _write_errors(repo, job.id, args.errors_out)
        rate = f", {scored_now / timings['score']:.0f} rows/s scoring" if scored_now and timings.get("score") else ""
        _say(f"wrote {n} rows to {args.output} ({n - job.n_errors} scored, {job.n_errors} rejected{rate})")
        if isinstance(redaction := json.loads(ds.mapping_json).get("redaction"), dict):
            _say(f"redacted {redaction['spans']} PII spans (e-mail, phone, URL, card, personal id) before scoring")
        for e in repo.errors(job.id, 0, 5):
            _say(f"  rejected row {e['row']} (id {e['id']}): {e['error']}")
        undecodable = sum("invalid UTF-8" in (e["error"] or "") for e in repo.errors(job.id, 0, 1000))
        if undecodable and args.encoding.lower().replace("-", "") in ("utf8", "utf_8"):
            _say(f"hint: {undecodable} rejected rows hold bytes that are not UTF-8; if the file comes from "
                 "Excel or an older survey tool, try --encoding cp1252")
        if job.n_errors > 5:
            _say(f"  ... {job.n_errors - 5} more; see tp_status/tp_error in the output"
                 + ("" if args.errors_out else " or use --errors-out"))
        for p in reports:
            _say(f"themes report: {p}")
        if job.message:
            _say(f"note: {job.message}")
        phases = ("read", "load_models", "score", "themes_report", "write")
        _say("time: " + ", ".join(f"{k} {timings[k]:.1f}s" for k in phases if k in timings))
    finally:
        engine.dispose()
    if not args.keep_state:
        _remove_sqlite(state)
    return 0
