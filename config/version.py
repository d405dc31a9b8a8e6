"""The project's version has one source: pyproject.toml. The OpenAPI schema's `info.version` reads it here."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def project_version() -> str:
    # A source checkout reads pyproject.toml itself (an editable install's metadata may lag behind an edit);
    # an installed wheel has no pyproject.toml beside it and reads its own metadata, built from that file.
    if PYPROJECT.is_file():
        with PYPROJECT.open("rb") as file:
            return tomllib.load(file)["project"]["version"]
    return metadata.version("stockroom")
