"""Pydantic schemas of the /v1/themes API (kept here so service/schemas.py stays the shared core)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.schemas import CommentIn, LanguageOut, ThemeOut
from service.themes.report import ThemeReport


class ClusterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: list[CommentIn] = Field(min_length=1)
    n_themes: int | None = Field(
        default=None, ge=1, description="Exact number of themes; omit for automatic (bounded by themes_max_themes)."
    )


class CommentError(BaseModel):
    id: str
    error: str


class ClusterResponse(BaseModel):
    request_id: str
    model_id: str = Field(description="Pass to POST /v1/themes/assign to place new comments in these themes.")
    ids: list[str] = Field(description="Comment ids, aligned with report.assignments and representative indexes.")
    report: ThemeReport
    errors: list[CommentError] = Field(default_factory=list, description="Unusable comments (on_invalid=report).")
    models: dict[str, str]


class ThemeDefinition(BaseModel):
    """A theme as returned in a report; enough to assign comments to it later (stateless)."""

    model_config = ConfigDict(extra="ignore")

    theme_id: str = Field(min_length=1, max_length=200)
    label: str = Field(min_length=1, max_length=500)
    touchpoint: str | None = None
    centroid: dict[str, float] = Field(
        description="Concept weights from the report; empty for vocabulary-discovered themes (skipped here)."
    )


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: list[CommentIn] = Field(min_length=1)
    model_id: str | None = Field(default=None, max_length=64, description="From POST /v1/themes/cluster.")
    themes: list[ThemeDefinition] | None = Field(
        default=None, min_length=1, description="Themes from a stored report, instead of model_id."
    )


class AssignResult(BaseModel):
    id: str
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    language: LanguageOut | None = None
    themes: list[ThemeOut] = Field(default_factory=list, description="Best first; empty = unassigned.")


class AssignResponse(BaseModel):
    request_id: str
    model_id: str | None = Field(description="None when assigned to the taxonomy or to inline themes.")
    model_version: str
    n_unassigned: int
    results: list[AssignResult]


class ConceptOut(BaseModel):
    id: str
    label: str
    weight: float
    terms: dict[str, list[str]]


class TouchpointOut(BaseModel):
    key: str
    label: str
    labels: dict[str, str]
    description: str
    concepts: list[ConceptOut]


class TaxonomyResponse(BaseModel):
    version: str
    lexicon_version: str
    touchpoints: list[TouchpointOut]
    discovery_concepts: list[ConceptOut] = Field(
        description="Lexicon concepts no touchpoint claims; enough comments about one become a discovered theme."
    )
