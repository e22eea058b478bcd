"""``touchpoints`` command line: ``serve`` runs the API; other subcommands register here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.malloc_arenas import limit_arenas  # noqa: PLC0415

    limit_arenas()  # before any request thread exists
    uvicorn.run("service.api.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="touchpoints", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP API (settings from TOUCHPOINTS_* env vars)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_serve)

    from service.batch.cli import add_parser as add_score_parser  # noqa: PLC0415

    add_score_parser(sub)
    from service.auth.cli import add_parser as add_keys_parser  # noqa: PLC0415

    add_keys_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))
