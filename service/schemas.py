"""Pydantic schemas at the API edge. The field contracts here are the public API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

SentimentLabel = Literal["negative", "neutral", "positive"]


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A stored timestamp in a response: the database keeps naive UTC, the API says so ("...Z"), because the
# schema's date-time format (RFC 3339) requires an offset (the fuzzer flagged the naive form).
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
# Upper bound of every paging offset: far beyond any stored row count, and within the 64-bit integers
# SQLite and PostgreSQL bind (a larger one raised OverflowError: a 500 found by the fuzzer).
MAX_OFFSET = 10**12


class CommentMetadata(BaseModel):
    """Survey context passed through untouched; unknown keys are kept under ``extra``."""

    model_config = ConfigDict(extra="allow")

    survey_id: str | None = Field(default=None, max_length=200)
    question_id: str | None = Field(default=None, max_length=200)
    timestamp: datetime | None = None
    score: float | None = Field(default=None, description="e.g. NPS 0-10 or CSAT 1-5")


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200, description="Caller's id, echoed back.")
    text: str = Field(description="The open-text answer.")
    language: str | None = Field(
        default=None, max_length=8, description="Optional hint (ISO 639-1, e.g. 'sv')."
    )
    metadata: CommentMetadata | None = None

    @field_validator("id")
    @classmethod
    def _strip_id(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("id must not be blank")
        return v


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comments: list[CommentIn] = Field(min_length=1)


class LanguageOut(BaseModel):
    code: str = Field(description="sv/da/fi/en, 'und', or another detected code such as 'no'.")
    confidence: float = Field(ge=0.0, le=1.0)
    source: Literal["detected", "hint", "rule"]
    hint_conflict: bool = Field(
        default=False, description="A language hint was given and the text clearly says otherwise: 'code' is "
        "the detected language.")


class SentenceSentiment(BaseModel):
    text: str
    start: int = Field(description="Character offset in the comment.")
    end: int
    label: SentimentLabel
    score: float = Field(ge=-1.0, le=1.0, description="P(positive) - P(negative).")
    probabilities: dict[SentimentLabel, float]


class SentimentOut(BaseModel):
    label: SentimentLabel
    score: float = Field(ge=-1.0, le=1.0, description="P(positive) - P(negative).")
    probabilities: dict[SentimentLabel, float]
    sentences: list[SentenceSentiment] = Field(default_factory=list)
    model_version: str


class ThemeOut(BaseModel):
    theme_id: str
    label: str
    confidence: float = Field(ge=0.0, le=1.0)
    touchpoint: str | None = Field(default=None, description="Taxonomy key, None for discovered themes.")
    subtheme_id: str | None = Field(default=None, description="The sub-theme inside this theme, when one fits.")
    subtheme_label: str | None = None


class CommentResult(BaseModel):
    id: str
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    language: LanguageOut | None = None
    sentiment: SentimentOut | None = None
    themes: list[ThemeOut] = Field(default_factory=list)
    metadata: CommentMetadata | None = None
    redacted: int | None = Field(
        default=None, description="PII spans replaced by placeholders before analysis; None = redaction off.")
    redacted_text: str | None = Field(
        default=None, description="With redaction on: the text as analysed (sentence offsets refer to it).")


class AnalyzeResponse(BaseModel):
    request_id: str
    results: list[CommentResult]
    models: dict[str, str] = Field(description="Component -> version used for this response.")


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(default_factory=list)
    msg: str
    type: str


class ErrorResponse(BaseModel):
    error: str
    detail: list[ErrorDetail] | str | Any = None
    request_id: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str


class ReadyOut(BaseModel):
    ready: bool
    components: dict[str, str] = Field(
        description="Component -> version, 'not loaded', or for 'database' 'ok' / 'unavailable: <reason>'.")
    not_ready: list[str] = Field(default_factory=list, description="What keeps the service from being ready: "
                                 "'models' (a required model is not loaded), 'database'.")
