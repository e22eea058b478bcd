"""Packaging that pyproject.toml cannot express: the shipped models travel inside the package.

The model artefacts live in ``models/`` at the top of the repository (the layout the model cards and
training scripts use). A non-editable install (``pip install .``, a wheel, the Docker image) carries
them as ``service/_models/`` (package ``service._models`` mapped onto ``models/``), where
``service.config.default_models_dir`` looks first; a source checkout or editable install reads
``models/`` directly. Non-Python files inside ``service/`` (templates, static files) ship too.
Everything else (name, version, dependencies, entry points) is in pyproject.toml.
"""

import glob
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def _data_files(root: Path) -> list[str]:
    """Every non-Python file under ``root`` (relative), skipping caches and dotfiles."""
    return sorted(  # escaped: package_data entries are glob patterns
        glob.escape(str(p.relative_to(root))) for p in root.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc", ".pyo")
        and not any(part == "__pycache__" or part.startswith(".") for part in p.relative_to(root).parts)
    )


setup(
    packages=[*find_packages(include=["service", "service.*"]), "service._models"],
    package_dir={"service._models": "models"},
    include_package_data=False,  # exactly the files below; models/ subfolders are data, not packages
    package_data={"service": _data_files(HERE / "service"), "service._models": _data_files(HERE / "models")},
)
