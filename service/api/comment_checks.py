"""The request rules every comment-batch route shares: size limit, unique ids, usable text.

One place so /v1/comments/analyze and the /v2/themes routes cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from fastapi import Query

from service.api.errors import ApiError
from service.pipeline import AnalysisPipeline, ThemeInputs
from service.schemas import CommentIn, CommentResult
from service.themes import ThemeComponents

OnInvalid = Literal["reject", "report"]
ON_INVALID = Query(
    "reject",
    description="'reject': any unusable comment fails the request with 422 listing every one. "
    "'report': usable comments are processed, unusable ones come back with status 'error' and the reason.",
)

REDACT = Query(
    None,
    description="Replace e-mail addresses, phone numbers, URLs, card numbers and personal identity numbers "
    "(sv/da/fi) with placeholders such as [EMAIL] before anything is analysed or stored; results then carry "
    "the redacted text and the number of replaced spans. Default: the service's TOUCHPOINTS_REDACT_PII setting.",
)


def check_comments(
    pipeline: AnalysisPipeline, comments: Sequence[CommentIn], on_invalid: OnInvalid
) -> list[str | None]:
    """Apply the shared rules (413/422 via :class:`ApiError`); per comment, None or why it is unusable."""
    limit = pipeline.settings.max_comments_per_request
    if len(comments) > limit:
        raise ApiError(413, "too_many_comments", f"{len(comments)} comments in one request; the limit is {limit}")
    seen: dict[str, int] = {}
    dupes = []
    for i, c in enumerate(comments):
        if c.id in seen:
            dupes.append({"loc": ["body", "comments", i, "id"],
                          "msg": f"duplicate id {c.id!r} (first at index {seen[c.id]})", "type": "duplicate_id"})
        seen.setdefault(c.id, i)
    if dupes:
        raise ApiError(422, "invalid_request", dupes)
    reasons = pipeline.validate(comments)
    if on_invalid == "reject":
        bad = [{"loc": ["body", "comments", i, "text"], "msg": r, "type": "invalid_text"}
               for i, r in enumerate(reasons) if r is not None]
        if bad:
            raise ApiError(422, "invalid_request", bad)
    return reasons


def check_and_analyze(
    pipeline: AnalysisPipeline, comments: Sequence[CommentIn], on_invalid: OnInvalid, redact: bool | None = None,
    themes: ThemeComponents | None = None,
) -> list[CommentResult]:
    """Apply the shared rules, then run the pipeline once (``redact``: None = the settings' default; ``themes``:
    the caller's tenant's taxonomy, None = the shipped one)."""
    return pipeline.analyze(comments, reasons=check_comments(pipeline, comments, on_invalid), redact=redact,
                            themes=themes)


def check_and_analyze_with_inputs(
    pipeline: AnalysisPipeline, comments: Sequence[CommentIn], on_invalid: OnInvalid, redact: bool | None = None,
    themes: ThemeComponents | None = None,
) -> tuple[list[CommentResult], ThemeInputs | None]:
    """As :func:`check_and_analyze`, also returning the usable comments' theme units and vectors
    (computed in the same encoder pass; None without a theme stage)."""
    return pipeline.analyze_with_inputs(comments, reasons=check_comments(pipeline, comments, on_invalid),
                                        redact=redact, themes=themes)
