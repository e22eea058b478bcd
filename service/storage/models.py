"""SQLAlchemy 2.x tables for datasets, jobs, results and themes reports.

Portable column types only (no SQLite- or PostgreSQL-specific SQL), so the same code runs on
the embedded SQLite default and on a ``postgresql://`` URL. JSON payloads are stored as text
(``Text`` + ``json``) rather than a JSON type so that values with lone surrogates (broken
encodings, reported per row) survive: ``json.dumps`` escapes them as ``\\udcXX``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Naive UTC: DateTime columns are tz-naive so SQLite and PostgreSQL compare alike."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Dataset(Base):
    """An accepted input file: its rows live in ``dataset_rows`` once ingestion completed."""

    __tablename__ = "tp_datasets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="ingesting")  # ingesting | ready
    n_rows: Mapped[int] = mapped_column(Integer, default=0)
    n_problems: Mapped[int] = mapped_column(Integer, default=0)
    columns_json: Mapped[str] = mapped_column(Text, default="[]")  # [[name, kind], ...] in first-seen order
    mapping_json: Mapped[str] = mapped_column(Text, default="{}")
    fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DatasetRow(Base):
    __tablename__ = "tp_dataset_rows"

    dataset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("tp_datasets.id", ondelete="CASCADE"), primary_key=True
    )
    row_idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_json: Mapped[str] = mapped_column(Text)
    problem: Mapped[str | None] = mapped_column(Text, nullable=True)  # reader-level defect of this row


class Job(Base):
    """A scoring run over one dataset; ``rows_done`` is the committed cursor a resume starts from."""

    __tablename__ = "tp_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(String(32), ForeignKey("tp_datasets.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    n_errors: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    options_json: Mapped[str] = mapped_column(Text, default="{}")
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    models_json: Mapped[str] = mapped_column(Text, default="{}")
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class JobResult(Base):
    """One scored (or rejected) row; the primary key makes a duplicate row impossible."""

    __tablename__ = "tp_job_results"

    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("tp_jobs.id", ondelete="CASCADE"), primary_key=True)
    row_idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(8))  # ok | error
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    language_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    sentiment: Mapped[str | None] = mapped_column(String(8), nullable=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_negative: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_neutral: Mapped[float | None] = mapped_column(Float, nullable=True)
    p_positive: Mapped[float | None] = mapped_column(Float, nullable=True)
    themes_json: Mapped[str] = mapped_column(Text, default="[]")


class JobUnits(Base):
    """A scored row's theme units (clause offsets + their sentiment) and their e5 vectors (fp16).

    Stored with the results so a themes report, or a re-cluster with other settings, never
    re-encodes the dump. A separate table, so databases made before it only gain a table.
    """

    __tablename__ = "tp_job_units"

    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("tp_jobs.id", ondelete="CASCADE"), primary_key=True)
    row_idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    units_json: Mapped[str] = mapped_column(Text)  # [[start, end, whole, sentiment label, sentiment score], ...]
    vectors: Mapped[bytes] = mapped_column(LargeBinary)  # float16, len(units) x dim, row-major


class ThemesReportRow(Base):
    """The themes report of a finished job (aggregates + clustering), rendered on demand."""

    __tablename__ = "tp_job_themes"

    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("tp_jobs.id", ondelete="CASCADE"), primary_key=True)
    report_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ThemeModelRow(Base):
    """A fitted theme model (``ThemeModel.to_state``), kept so comments can be assigned to its themes later.

    ``meta_json`` holds the model's JSON state (and the record of the comments it was fitted on, which
    rebuilds the report after an edit); ``arrays`` the ``np.savez_compressed`` bytes of its vectors.
    """

    __tablename__ = "tp_theme_models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    model_version: Mapped[str] = mapped_column(String(200))
    n_comments: Mapped[int] = mapped_column(Integer, default=0)
    meta_json: Mapped[str] = mapped_column(Text)
    arrays: Mapped[bytes] = mapped_column(LargeBinary)
    report_json: Mapped[str] = mapped_column(Text)
