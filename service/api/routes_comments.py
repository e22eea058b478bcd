"""Real-time analysis of a batch of comments."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from service.api.comment_checks import ON_INVALID, REDACT, OnInvalid, check_and_analyze
from service.api.tenant_taxonomy import analysis_themes
from service.schemas import AnalyzeRequest, AnalyzeResponse, ErrorResponse
from service.themes import ThemeComponents

router = APIRouter(prefix="/v1", tags=["comments"])


@router.post(
    "/comments/analyze",
    response_model=AnalyzeResponse,
    responses={400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    summary="Detect language, score sentiment and assign themes for a batch of comments",
)
def analyze(body: AnalyzeRequest, request: Request, on_invalid: OnInvalid = ON_INVALID,
            redact: bool | None = REDACT,
            themes: ThemeComponents | None = Depends(analysis_themes)) -> AnalyzeResponse:
    """Touchpoints are the shipped taxonomy's and the caller's tenant's additions."""
    pipeline = request.app.state.pipeline
    results = check_and_analyze(pipeline, body.comments, on_invalid, redact, themes=themes)
    return AnalyzeResponse(
        request_id=request.state.request_id, results=results, models=pipeline.components(themes)
    )
