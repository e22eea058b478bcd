"""Response/request models of the dataset and job API (``service/api/routes_jobs.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.schemas import UtcDatetime

JobStatus = Literal["pending", "running", "completed", "failed"]


class DatasetOut(BaseModel):
    id: str
    name: str
    format: str
    rows: int = Field(description="Data rows accepted (bad ones included: they are reported per row).")
    unparseable_rows: int = Field(description="Rows the reader could not parse (wrong field count, bad JSON).")
    columns: list[str]
    mapping: dict[str, Any] = Field(description="Resolved columns for text, id, language hint and metadata.")
    redacted: int | None = Field(default=None, description="PII spans replaced by placeholders before the rows "
                                 "were stored (the text column; every cell of unparseable rows); None = not redacted.")
    created_at: UtcDatetime


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str


class JobOut(BaseModel):
    id: str
    dataset_id: str
    status: JobStatus
    phase: Literal["queued", "scoring", "themes_report"] | None = Field(
        default=None, description="What a pending/running job is doing; None once finished.")
    total_rows: int
    rows_done: int
    progress: float = Field(ge=0.0, le=1.0)
    errors: int = Field(description="Rows rejected so far (see /errors).")
    attempts: int
    message: str | None = None
    redacted: int | None = Field(default=None, description="PII spans its dataset had replaced at upload; "
                                 "None = uploaded without redaction.")
    models: dict[str, str] = Field(default_factory=dict)
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    links: dict[str, str]


class RowError(BaseModel):
    row: int = Field(description="1-based data row number in the uploaded file.")
    id: str | None
    error: str


class JobErrorsOut(BaseModel):
    job_id: str
    total: int
    offset: int
    errors: list[RowError]
