"""Real-time analysis of a batch of comments."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from service.api.errors import ApiError
from service.schemas import AnalyzeRequest, AnalyzeResponse, ErrorResponse

router = APIRouter(prefix="/v1", tags=["comments"])


@router.post(
    "/comments/analyze",
    response_model=AnalyzeResponse,
    responses={400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    summary="Detect language, score sentiment and assign themes for a batch of comments",
)
def analyze(
    body: AnalyzeRequest,
    request: Request,
    on_invalid: Literal["reject", "report"] = Query(
        "reject",
        description="'reject': any unusable comment fails the request with 422 listing every one. "
        "'report': usable comments are analysed, unusable ones come back with status 'error'.",
    ),
) -> AnalyzeResponse:
    pipeline = request.app.state.pipeline
    settings = pipeline.settings
    n = len(body.comments)
    if n > settings.max_comments_per_request:
        raise ApiError(413, "too_many_comments",
                       f"{n} comments in one request; the limit is {settings.max_comments_per_request}")
    seen: dict[str, int] = {}
    dupes = []
    for i, c in enumerate(body.comments):
        if c.id in seen:
            dupes.append({"loc": ["body", "comments", i, "id"], "msg": f"duplicate id {c.id!r} (first at index {seen[c.id]})", "type": "duplicate_id"})
        seen.setdefault(c.id, i)
    if dupes:
        raise ApiError(422, "invalid_request", dupes)
    if on_invalid == "reject":
        reasons = pipeline.validate(body.comments)
        bad = [
            {"loc": ["body", "comments", i, "text"], "msg": r, "type": "invalid_text"}
            for i, r in enumerate(reasons) if r is not None
        ]
        if bad:
            raise ApiError(422, "invalid_request", bad)
    results = pipeline.analyze(body.comments)
    return AnalyzeResponse(
        request_id=request.state.request_id, results=results, models=pipeline.components()
    )
