"""Persistence of datasets, jobs, results and themes reports (SQLAlchemy 2.x; SQLite or PostgreSQL)."""

from service.storage.db import make_engine
from service.storage.repository import ExportRow, Repository

__all__ = ["ExportRow", "Repository", "make_engine"]
