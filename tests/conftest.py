"""Shared fixtures: one app (and one set of loaded models) per test session."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.config import Settings


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    db = tmp_path_factory.mktemp("db") / "test.db"
    return Settings(
        max_comments_per_request=50,
        max_chars_per_comment=2000,
        max_request_bytes=256 * 1024,
        database_url=f"sqlite:///{db}",
    )


@pytest.fixture(scope="session")
def client(settings: Settings) -> TestClient:
    with TestClient(create_app(settings)) as c:
        yield c
