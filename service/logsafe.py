"""Logging that never carries comment text.

Comment text may hold personal data, so it is never logged: log calls name ids, counts and row
numbers only. Exceptions are the one way text could still leak in (a library error that quotes its
input, a database error that quotes the statement's parameters), so errors are logged with their
type and stack frames but without their message: :func:`log_exception` instead of
``log.exception``. Database engines are created with ``hide_parameters=True`` for the same reason.
"""

from __future__ import annotations

import logging
import traceback


def exception_summary(exc: BaseException) -> str:
    """Type and stack (file, line, function, code line) of ``exc`` and its causes: never its message."""
    parts: list[str] = []
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        frames = "".join(traceback.format_list(traceback.extract_tb(e.__traceback__)))
        parts.append(f"{type(e).__module__}.{type(e).__qualname__} (message withheld: may quote comment text)\n"
                     f"{frames}".rstrip())
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    return "\n  caused by: ".join(parts)


def log_exception(logger: logging.Logger, msg: str, *args: object, exc: BaseException | None = None,
                  level: int = logging.ERROR) -> None:
    """Like ``logger.exception(msg, *args)`` for the exception being handled (or ``exc``), minus its message.

    ``msg`` and ``args`` must not contain comment text either: ids, counts and row numbers only.
    """
    import sys  # noqa: PLC0415

    exc = exc or sys.exc_info()[1]
    if exc is None:
        logger.log(level, msg, *args)
        return
    logger.log(level, msg + ": %s", *args, exception_summary(exc))


def describe_error(exc: BaseException, limit: int = 300) -> str:
    """A short, text-free description of an infrastructure error (database, file system) for status
    endpoints: the type and the driver's first message line, never the SQL parameters."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy DBAPIError: the driver's own exception
    inner = orig if isinstance(orig, BaseException) else exc
    first = (str(inner).strip().splitlines() or [""])[0]
    return f"{type(inner).__name__}: {first}"[:limit]
