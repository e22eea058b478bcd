"""Pydantic schemas of the themes API (kept here so service/schemas.py stays the shared core).

/v2 references themes through a stored model id: the public format never carries vectors.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.schemas import CommentIn, LanguageOut, ThemeOut, UtcDatetime
from service.themes.report import ThemeReport

class CommentError(BaseModel):
    id: str
    error: str


class ClusterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: list[CommentIn] = Field(min_length=1)
    include_assignments: bool = Field(default=True, description="Per-comment themes in the report.")


class ClusterResponse(BaseModel):
    request_id: str
    model_id: str = Field(description="The stored model: assign new comments to it, edit its themes.")
    report: ThemeReport
    errors: list[CommentError] = Field(default_factory=list, description="Unusable comments (on_invalid=report).")
    redacted: int | None = Field(default=None, description="PII spans replaced in the comments before clustering "
                                 "(the report and the stored model hold only redacted text); None = redaction off.")
    models: dict[str, str]


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: list[CommentIn] = Field(min_length=1)
    model_id: str | None = Field(default=None, max_length=64,
                                 description="A stored model; omit for the taxonomy touchpoints alone.")


class AssignResult(BaseModel):
    id: str
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    language: LanguageOut | None = None
    themes: list[ThemeOut] = Field(default_factory=list, description="Main theme first; empty = unassigned.")
    redacted: int | None = Field(default=None, description="PII spans replaced before analysis; None = redaction off.")
    redacted_text: str | None = Field(default=None, description="With redaction on: the text as analysed.")


class AssignResponse(BaseModel):
    request_id: str
    model_id: str | None = Field(description="None when assigned to the taxonomy alone.")
    model_version: str
    n_unassigned: int = Field(description="Usable comments without any theme.")
    results: list[AssignResult]
    models: dict[str, str]


class ModelTheme(BaseModel):
    """A theme of a stored model, as assignment uses it (edits included)."""

    theme_id: str
    parent_id: str | None = Field(description="The top-level theme of a sub-theme; None at the top level.")
    level: int = Field(description="1 = touchpoint or discovered theme, 2 = sub-theme.")
    label: str
    labels: dict[str, str]
    touchpoint: str | None
    discovered: bool
    edited: bool = Field(description="Renamed, merged or split by a person.")
    size: int = Field(description="Comments of the fitted batch that mention it (the report's size; 0 if none).")
    keywords: dict[str, list[str]]


class ModelInfo(BaseModel):
    model_id: str
    created_at: UtcDatetime
    model_version: str
    n_comments: int


class ModelOut(ModelInfo):
    themes: list[ModelTheme] = Field(description="Every live theme of the model, the taxonomy's touchpoints included.")
    report: ThemeReport = Field(description="The report over the fitted comments, rebuilt after each edit.")


class ModelListOut(BaseModel):
    models: list[ModelInfo]


class RenameRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200)
    labels: dict[str, str] | None = Field(default=None, max_length=20,
                                          description="language -> label; omitted = none (the label everywhere).")


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    theme_ids: list[str] = Field(min_length=2, max_length=50,
                                 description="Same level (and parent); the first keeps its id and absorbs the others.")
    label: str | None = Field(default=None, min_length=1, max_length=200)


class SplitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=2, ge=2, le=8, description="Sub-themes to make (a sub-theme splits into siblings).")


class KeywordThemeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phrase: str = Field(min_length=2, max_length=200, description="Matched at the start of a word, any case.")
    language: str | None = Field(default=None, max_length=8, description="Only comments in this language.")
    label: str | None = Field(default=None, max_length=200, description="Omitted: the phrase in quotes.")


class VersionOut(BaseModel):
    number: int = Field(description="1 = the model as fitted.")
    created_at: UtcDatetime
    author: str
    action: str = Field(description="fit, rename, merge, split, move, keyword, taxonomy or undo.")
    params: dict[str, Any]
    undone: bool
    undone_at: UtcDatetime | None = None
    undone_by: str | None = None


class HistoryOut(BaseModel):
    model_id: str
    versions: list[VersionOut] = Field(description="Newest first; empty until the model is first edited.")


class ThemeEditResponse(BaseModel):
    model_id: str
    changed: list[str] = Field(description="The renamed or merged theme, or the sub-themes a split made.")
    themes: list[ModelTheme]


class TouchpointOut(BaseModel):
    key: str
    label: str
    labels: dict[str, str]
    description: str
    concepts: list[str] = Field(description="Lexicon concept ids whose mention adds a prior for this touchpoint.")
    examples: dict[str, list[str]] = Field(description="language -> example clauses the mapper embeds.")


class TaxonomyResponse(BaseModel):
    version: str
    lexicon_version: str
    model_version: str = Field(description="The theme model version assignments report.")
    touchpoints: list[TouchpointOut]
