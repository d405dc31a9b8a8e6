"""The API docs carry the project's version, and pyproject.toml is where it is written."""

import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_schema_version_is_pyprojects(viewer_client):
    with PYPROJECT.open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    response = viewer_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["info"]["version"] == version
