"""A non-editable install (what the Dockerfile does) carries the shipped models and finds them.

The package is installed with ``pip install --no-deps --target DIR`` from a copy of the source (so the
build never touches the working tree), then imported from DIR in a fresh process whose working
directory is elsewhere: the models must resolve inside DIR, and the full pipeline must load from them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAX_FILE_BYTES = 25 * 1024 * 1024

PROBE = r"""
import json, sys
from pathlib import Path
import service
from service.config import Settings
from service.pipeline import AnalysisPipeline
from service.api.app import create_app

s = Settings(database_url="sqlite:///" + sys.argv[1])
create_app(s)  # the app (routes, static files) builds from the installed package alone
p = AnalysisPipeline.from_settings(s)
print(json.dumps({"package": service.__file__, "models_dir": str(s.models_dir), "sentiment": str(s.sentiment_path),
                  "themes": str(s.themes_path), "ready": p.ready, "components": p.components()}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("install")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "service", src / "service", ignore=ignore)
    shutil.copytree(REPO / "models", src / "models", ignore=ignore)
    target = work / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return target


def test_models_are_package_data_of_the_installed_package(installed: Path):
    shipped = installed / "service" / "_models"
    repo_files = {p.relative_to(REPO / "models") for p in (REPO / "models").rglob("*") if p.is_file()}
    got = {p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file()}
    assert got == repo_files, got ^ repo_files
    for rel in got:
        assert (shipped / rel).stat().st_size == (REPO / "models" / rel).stat().st_size < MAX_FILE_BYTES, rel
    assert not (installed / "models").exists()  # nothing lands at the top of site-packages


def test_installed_service_resolves_and_loads_its_shipped_models(installed: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOUCHPOINTS_")}
    env["PYTHONPATH"] = str(installed)  # ahead of the editable install of the checkout in this venv
    proc = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "probe.db")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(out["package"]).is_relative_to(installed), out["package"]
    models = installed / "service" / "_models"
    assert Path(out["models_dir"]) == models
    assert Path(out["sentiment"]) == models / "sentiment" and Path(out["themes"]) == models / "themes"
    assert out["ready"] is True
    assert "not loaded" not in out["components"].values(), out["components"]


def test_missing_models_give_a_clear_error(tmp_path: Path, settings):
    from service.pipeline import AnalysisPipeline

    with pytest.raises(FileNotFoundError, match="TOUCHPOINTS_MODELS_DIR"):
        AnalysisPipeline.from_settings(settings.model_copy(update={"models_dir": tmp_path / "nowhere"}))
