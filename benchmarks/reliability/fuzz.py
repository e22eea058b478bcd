"""Property-based fuzzing of every operation in the OpenAPI schema (schemathesis): no 5xx, and every
response matches its documented schema.

    python benchmarks/reliability/fuzz.py [--examples 25] [--max-time 180] [--seed 1]

Starts the service with small request limits (20 comments, 1,000 characters each, 256 KiB bodies, 1 MiB
uploads) so that generated requests stay cheap for the real models, seeds it with a finished job and a
stored theme model, checks the operations that need their ids on those (schemathesis' own generator
mostly reaches them with ids that do not exist), then runs ``schemathesis run`` (examples, coverage,
fuzzing and stateful phases) with ``--examples`` cases per operation and a ``--max-time`` budget.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.reliability.harness import (  # noqa: E402
    Server, result_line, survey_comments, upload_job, wait_job, write_comments_csv,
)

CHECKS = "not_a_server_error,response_schema_conformance"
LIMITS = {"TOUCHPOINTS_MAX_COMMENTS_PER_REQUEST": "20", "TOUCHPOINTS_MAX_CHARS_PER_COMMENT": "1000",
          "TOUCHPOINTS_MAX_REQUEST_BYTES": str(256 * 1024), "TOUCHPOINTS_MAX_UPLOAD_BYTES": str(1 << 20)}


def seed(server: Server, work: Path) -> dict[str, str]:
    """A completed job (with its dataset) and a stored theme model; their ids by path parameter."""
    src = work / "seed.csv"
    write_comments_csv(src, 30)
    comments = [{"id": str(i), "text": t} for i, (_, t) in enumerate(survey_comments()[:16])]
    with server.client() as c:
        job = upload_job(c, src)
        assert wait_job(c, job["id"])["status"] == "completed"
        model = c.post("/v2/themes/cluster", json={"comments": comments}).json()
    theme = next(t["theme_id"] for t in model["report"]["themes"])
    return {"job_id": job["id"], "dataset_id": job["dataset_id"], "model_id": model["model_id"], "theme_id": theme}


def check_seeded(server: Server, ids: dict[str, str]) -> tuple[int, list[str]]:
    """Call every GET operation whose path parameters the seed provides and validate the answer."""
    import schemathesis  # noqa: PLC0415

    from schemathesis.checks import not_a_server_error, response_schema_conformance  # noqa: PLC0415

    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    checks = [not_a_server_error, response_schema_conformance]  # as CHECKS: API keys are off here (local default)
    calls, failures = 0, []
    for path, methods in schema.items():
        params = re.findall(r"{(\w+)}", path)
        if not params or any(p not in ids for p in params):
            continue
        try:
            op = methods["GET"]
        except LookupError:  # no GET on this path (schemathesis raises rather than answering ``in``)
            continue
        case = op.Case(path_parameters={p: ids[p] for p in params})
        calls += 1
        try:
            case.call_and_validate(base_url=server.url, timeout=120, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - a failed check (FailureGroup): report it
            failures.append(f"GET {path}: {str(exc).strip().splitlines()[0][:200]}")
    return calls, failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=25, help="generated cases per operation and phase")
    ap.add_argument("--max-time", type=int, default=180, help="seconds for the schemathesis run")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tp-fuzz-") as tmp:
        work = Path(tmp)
        server = Server(work, env=LIMITS)
        try:
            server.start()
            ids = seed(server, work)
            seeded_calls, seeded_failures = check_seeded(server, ids)
            print(f"seeded operations: {seeded_calls} checked, {len(seeded_failures)} failed", flush=True)
            for f in seeded_failures:
                print(f"  {f}", flush=True)
            t0 = time.monotonic()
            run = subprocess.run(
                [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json", "--checks", CHECKS,
                 "--max-examples", str(args.examples), "--max-time", str(args.max_time), "--seed", str(args.seed),
                 "--workers", "1", "--request-timeout", "120", "--no-color"],
                capture_output=True, text=True, timeout=args.max_time + 300)
            took = time.monotonic() - t0
            out = run.stdout
            print(out[-6000:], flush=True)
            alive = server.proc is not None and server.proc.poll() is None
        finally:
            server.stop()
    tested = re.search(r"Tested:\s*(\d+)", out)
    cases = re.search(r"(\d+) generated", out)
    server_errors = re.search(r"Server error:\s*(\d+)", out)
    summary = (f"{tested.group(1) if tested else '?'} operations, {cases.group(1) if cases else '?'} generated cases "
               f"in {took:.0f} s, {server_errors.group(1) if server_errors else 0} 5xx, schemathesis exit "
               f"{run.returncode}; {seeded_calls} seeded-id operations, {len(seeded_failures)} failed")
    ok = run.returncode == 0 and not seeded_failures and alive
    result_line("fuzz", ok, summary)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
