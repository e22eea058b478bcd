"""SQLAlchemy 2.x tables for datasets, jobs, results, themes reports, theme models, taxonomy additions and API keys.

Portable column types only (no SQLite- or PostgreSQL-specific SQL), so the same code runs on
the embedded SQLite default and on a ``postgresql://`` URL. JSON payloads are stored as text
(``Text`` + ``json``) rather than a JSON type so that values with lone surrogates (broken
encodings, reported per row) survive: ``json.dumps`` escapes them as ``\\udcXX``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


DEFAULT_TENANT = "default"  # the owner of everything when API keys are off, and of data from before tenancy


def tenant_column() -> Mapped[str]:
    """The owning tenant. ``server_default`` lets :func:`service.storage.upgrade.add_missing_columns` add it
    to a table made before tenancy, its existing rows becoming the default tenant's."""
    return mapped_column(String(64), default=DEFAULT_TENANT, server_default=DEFAULT_TENANT, index=True)


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
    tenant: Mapped[str] = tenant_column()


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
    tenant: Mapped[str] = tenant_column()  # the dataset's


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
    tenant: Mapped[str] = tenant_column()


class JobRowTheme(Base):
    """One theme of one scored row of a job, as assigned by the job's stored theme model (``tp_theme_models``).

    One row per (comment, top-level theme): ``rank`` 0 is the comment's main theme, ``subtheme_id`` its
    sub-theme within that theme. Normalised rather than a JSON list per comment so that "the comments
    of theme T" is an index range scan (the primary key starts with job and theme; sub-themes have their
    own index) and the web app pages and filters 100k-row jobs in SQL. Language, comment sentiment and
    the sentiment of the clauses carrying the theme (``mention_sentiment``) are copied in, so the
    filtered overview aggregates need no join; ``search_text`` is the comment lower-cased for
    portable ``LIKE`` search (SQLite's ``lower()`` folds ASCII only). Rebuilt whenever the model is edited.
    """

    __tablename__ = "tp_job_row_themes"
    __table_args__ = (Index("ix_tp_job_row_themes_sub", "job_id", "subtheme_id", "row_idx"),
                      Index("ix_tp_job_row_themes_row", "job_id", "row_idx"))

    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("tp_jobs.id", ondelete="CASCADE"), primary_key=True)
    theme_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)  # 0 = the comment's main theme
    subtheme_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confidence: Mapped[float] = mapped_column(Float)
    language: Mapped[str] = mapped_column(String(8))
    sentiment: Mapped[str | None] = mapped_column(String(8), nullable=True)          # the whole comment's
    mention_sentiment: Mapped[str | None] = mapped_column(String(8), nullable=True)  # the carrying clauses'
    spans_json: Mapped[str] = mapped_column(Text, default="[]")  # [[start, end], ...] of the carrying clauses
    search_text: Mapped[str] = mapped_column(Text)


class ApiKey(Base):
    """An API key: only its SHA-256 is stored (the key is shown once, at creation) and a short prefix to
    recognise it in listings. A revoked key stays listed, with ``revoked_at``, and never authenticates again."""

    __tablename__ = "tp_api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256 of the whole key
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AppSecret(Base):
    """Secrets the service generates for itself once and shares across its processes (the sign-in cookie key)."""

    __tablename__ = "tp_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ThemeModelVersionRow(Base):
    """One version of a stored theme model: its state after an edit (or as fitted), who made it, when and what.

    ``number`` 1 is the model as fitted (written when it is first edited). Undo marks the current version
    undone (``undone_at``/``undone_by``) and writes the previous live version's state back to
    ``tp_theme_models``; nothing is deleted, so the history keeps every edit and every undo.
    """

    __tablename__ = "tp_theme_model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(String(32), ForeignKey("tp_theme_models.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    author: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))      # fit | rename | merge | split | move | keyword | taxonomy
    params_json: Mapped[str] = mapped_column(Text, default="{}")  # what, for the history's sentence
    state_json: Mapped[str] = mapped_column(Text)        # ThemeModel.to_state() meta
    arrays: Mapped[bytes] = mapped_column(LargeBinary)   # and its arrays (npz); empty when it shares
    arrays_of: Mapped[int | None] = mapped_column(Integer, nullable=True, server_default="0")  # (0: its own)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ShareLinkRow(Base):
    """A read-only link to a job's overview and theme pages; only the token's SHA-256 is stored."""

    __tablename__ = "tp_share_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(32), ForeignKey("tp_jobs.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TaxonomyAdditionRow(Base):
    """A touchpoint a person of a tenant added to the taxonomy (from a discovered theme, or a name with examples).

    The shipped ``models/themes/taxonomy.yaml`` stays read-only: additions live here and are appended to it
    for their tenant only (``ThemeComponents.with_additions``), so that tenant's later fits and assignments
    use them. Keys are unique per tenant; a database made before tenancy also keeps its unique ``key``.
    """

    __tablename__ = "tp_taxonomy_additions"
    __table_args__ = (Index("ix_tp_taxonomy_additions_tenant_key", "tenant", "key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    examples_json: Mapped[str] = mapped_column(Text, default="{}")  # {language: [example clause, ...]}
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    tenant: Mapped[str] = tenant_column()
