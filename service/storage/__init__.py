"""Persistence of datasets, jobs, results, themes reports and theme models (SQLAlchemy 2.x; SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.storage.db import make_engine
from service.storage.repository import ExportRow, Repository

if TYPE_CHECKING:
    from service.storage.theme_models import FitRecord, ThemeModelStore

__all__ = ["ExportRow", "FitRecord", "Repository", "ThemeModelStore", "make_engine"]


def __getattr__(name: str) -> Any:
    """The theme-model store imports the themes stack (torch); load it only for its users."""
    if name in ("ThemeModelStore", "FitRecord"):
        from service.storage import theme_models  # noqa: PLC0415

        return getattr(theme_models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
