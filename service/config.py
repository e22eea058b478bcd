"""All runtime configuration in one place.

Every value can be overridden by an environment variable prefixed ``TOUCHPOINTS_``
(e.g. ``TOUCHPOINTS_MAX_COMMENTS_PER_REQUEST=500``) so that the container, the CLI and
the tests share one source of truth.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent  # the source checkout (editable install); site-packages when installed
INSTALLED_MODELS_DIR = PACKAGE_DIR / "_models"  # models/ as shipped inside the package by setup.py


def default_models_dir() -> Path:
    """The shipped models: ``service/_models`` in an installed package (wheel, ``pip install .``, the
    Docker image), else ``models/`` of the source checkout the package is imported from."""
    if INSTALLED_MODELS_DIR.is_dir():
        return INSTALLED_MODELS_DIR
    return REPO_ROOT / "models"


DEFAULT_MODELS_DIR = default_models_dir()


UnitMode = Literal["spans", "separate"]  # how clause vectors are computed (Settings.inference_units)
EngineName = Literal["torch", "torch-bf16", "onnx", "onnx-int8"]  # the shared pass's engines (service.sentiment.engines)
# What ``auto`` means in the HTTP service (create_app): with torch the oneDNN primitive caches (an entry per new
# input shape) grew the server's RSS by ~800 MiB over 180 s of load, where ONNX Runtime's stayed flat (issue #13).
SERVER_AUTO_ENGINE = "onnx"
LANGUAGES: tuple[str, ...] = ("sv", "da", "fi", "en")  # the languages every model is built and measured for


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOUCHPOINTS_", env_file=None, extra="ignore")

    # --- languages -------------------------------------------------------------------
    languages: list[str] = Field(
        default=list(LANGUAGES),
        description="Languages the service analyses; anything else is reported as 'und' or its own code.",
    )
    langid_min_letters: int = Field(
        default=2, description="Fewer letters than this (emoji-only, digits, '??') gives 'und'."
    )
    langid_min_confidence: float | None = Field(
        default=None, description="Top-language probability below this gives 'und' (default: the calibrated "
        "threshold shipped with the language-ID combiner)."
    )
    langid_low_memory: bool = Field(
        default=False, description="lingua trigram mode: ~430 MiB less RAM, less accurate (README: language ID)."
    )

    # --- request limits ----------------------------------------------------------------
    max_comments_per_request: int = Field(default=1000, ge=1)
    max_chars_per_comment: int = Field(default=5000, ge=1)
    max_request_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    # --- models ----------------------------------------------------------------------
    models_dir: Path = Field(
        default=DEFAULT_MODELS_DIR,
        description="Shipped model artefacts (langid/, sentiment/, themes/); found inside the installed package "
        "or the source checkout.",
    )
    sentiment_model_dir: Path | None = None  # defaults to models_dir / "sentiment"
    themes_dir: Path | None = None  # defaults to models_dir / "themes"
    inference_batch_size: int = Field(default=64, ge=1)
    torch_threads: int = Field(default=0, ge=0, description="0 = torch default")
    inference_engine: EngineName | Literal["auto"] = Field(
        default="auto",
        description="Encoder engine: auto (the HTTP service: onnx; batch scoring (touchpoints score, Ray): torch-bf16 "
        "where the CPU multiplies bfloat16 in hardware, else onnx), "
        "torch-bf16 (bfloat16 weights: ~3x torch's speed on such CPUs, within 0.002 macro-F1 of torch; a comment's "
        "probabilities move by up to ~0.01 with its batch), onnx (ONNX Runtime fp32: torch's results to 1e-5 in any "
        "batch), torch (the fp32 reference), onnx-int8 (int8 top layers; probabilities move by up to ~0.1 with the "
        "batch); measured in models/sentiment/engines.json.",
    )
    inference_coalesce_texts: int = Field(
        default=256, ge=0,
        description="Concurrent callers (API requests, jobs) have their encoder work run as one batch of up to this "
        "many strings (a lone caller runs at once); 0 = each caller alone. Batch scoring (touchpoints score, Ray "
        "workers) has one caller and never coalesces. With torch-bf16 a comment's scores then "
        "depend on its batch mates within the engine's bound (service/sentiment/engines.py).",
    )
    inference_cache_dir: Path | None = Field(
        default=None, description="Where exported ONNX graphs are cached (default ~/.cache/touchpoints/onnx).")
    inference_units: UnitMode = Field(
        default="separate",
        description="Clauses' theme vectors: separate (each clause encoded as its own string) or spans (pooled "
        "from the comment's own encoder pass: fewer tokens; both measured in models/themes/span_pooling.json). "
        "Sentence and clause sentiment is always encoded alone.",
    )
    sentiment_max_sentences: int = Field(
        default=50, ge=1, description="Sentence-level scores are returned for at most this many sentences per comment."
    )

    # --- privacy ---------------------------------------------------------------------
    redact_pii: bool = Field(
        default=False,
        description="Default for the per-request 'redact' option: replace e-mail addresses, phone numbers, URLs, "
        "card numbers and personal identity numbers with placeholders before anything is analysed or stored.",
    )

    # --- API keys, tenants, rate limits, CORS (README: API keys and tenants) ------------------
    auth_required: bool = Field(
        default=False,
        description="Require an API key (`touchpoints keys create`) on every API route and a sign-in for /app; "
        "each key's tenant sees only its own datasets, jobs and theme models. Off: everything is tenant 'default'.",
    )
    rate_limit_per_minute: float = Field(
        default=600.0, ge=0.0,
        description="Requests per minute per API key (token bucket, per process: N workers allow N times this); "
        "0 = no limit. Only with auth_required.",
    )
    rate_limit_burst: int = Field(default=60, ge=1, description="Requests a key may send at once before the rate applies.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Browser origins allowed to call the API cross-origin (comma-separated, e.g. "
        "https://dash.example.com); empty = no CORS headers at all.",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the web app's sign-in cookie; unset = a random secret generated once and kept in the database.",
    )
    session_max_age_seconds: int = Field(default=12 * 3600, ge=60, description="A web app sign-in lasts this long.")

    # --- persistence -----------------------------------------------------------------
    database_url: str = Field(
        default="sqlite:///./touchpoints.db",
        description="SQLAlchemy URL; SQLite by default, a postgresql:// URL works the same.",
    )

    # --- batch scoring (CLI `touchpoints score` and /v1/jobs) ---------------------------
    batch_chunk_rows: int = Field(default=500, ge=1, description="Rows scored and committed per transaction.")
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024, description="Dataset upload size limit.")
    upload_dir: Path | None = Field(default=None, description="Where uploads are spooled; None = system temp.")
    job_poll_seconds: float = Field(default=1.0, gt=0, description="Idle worker's wait between queue checks.")
    job_lease_seconds: float = Field(
        default=120.0, gt=0,
        description="A running job whose owner has not checkpointed for this long is taken over (crash recovery).",
    )
    job_max_attempts: int = Field(default=3, ge=1, description="Resumes before a job is marked failed.")
    themes_report_max_comments: int = Field(
        default=20_000, ge=100, description="Comments sampled (evenly) for the clustering step of a themes report."
    )

    # --- themes (service/themes) --------------------------------------------------------
    themes_min_theme_size: int = Field(default=3, ge=1, description="A discovered theme or sub-theme needs at least this many comments...")
    themes_min_theme_share: float = Field(
        default=0.005, ge=0.0, le=0.5, description="...and at least this share of the input (the larger wins)."
    )
    themes_group_distance: float = Field(
        default=0.45, gt=0.0, lt=2.0,
        description="Cosine distance within which comments vote together on their touchpoint (tight groups).",
    )
    themes_discovery_cohesion: float = Field(
        default=0.35, gt=0.0, lt=1.0,
        description="A discovered theme is split until its comments' mean cosine to its centre reaches this (higher = more, narrower).",
    )
    themes_subtheme_cohesion: float = Field(
        default=0.35, gt=0.0, lt=1.0, description="The same, for sub-themes inside a theme (measured relative to the theme)."
    )
    themes_max_cluster_units: int = Field(
        default=4000, ge=100, description="Clustering fits at most this many vectors per step (bounded memory); the rest are assigned."
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """``TOUCHPOINTS_CORS_ORIGINS=https://a.example,https://b.example`` (a JSON list works too)."""
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @property
    def sentiment_path(self) -> Path:
        return self.sentiment_model_dir or self.models_dir / "sentiment"

    @property
    def themes_path(self) -> Path:
        return self.themes_dir or self.models_dir / "themes"


def server_settings(settings: Settings) -> Settings:
    """What the HTTP service runs: ``auto`` is ``SERVER_AUTO_ENGINE``, and concurrent requests coalesce (as set)."""
    if settings.inference_engine != "auto":
        return settings
    return settings.model_copy(update={"inference_engine": SERVER_AUTO_ENGINE})


def batch_process_settings(settings: Settings) -> Settings:
    """What a batch process (``touchpoints score``, a Ray worker) runs: it is the encoder's only caller, so there is
    nothing to coalesce, and the hand-off to the coalescer's encoder thread only costs (torch-bf16: README, Sentiment
    → throughput; ``benchmarks/bench_throughput.py --coalesce 256`` measures it). ``auto`` resolves in
    ``service.sentiment.engines.resolve_engine``."""
    return settings.model_copy(update={"inference_coalesce_texts": 0})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
