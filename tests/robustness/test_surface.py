"""What the site shows a stranger and what every page is allowed to load: the schema and docs pages need
a signed-in caller unless STOCKROOM_PUBLIC_API_DOCS opens them; every response carries the
Content-Security-Policy; `check --deploy` has nothing left to say about HSTS when HTTPS is on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]


# --- the schema and the docs page ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/schema/", "/api/schema/?format=json"])
def test_a_stranger_gets_no_schema(db, path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "You must specify an API key."}


def test_any_api_key_reads_the_schema(db):
    _key, raw = ApiKey.issue(UserFactory(role=Role.VIEWER))
    response = APIClient().get("/api/schema/", {"format": "json"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_a_stranger_is_sent_to_sign_in_for_the_docs_page(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/api/docs/"


@pytest.mark.parametrize("method", ["post", "delete"])
def test_a_stranger_writing_to_the_docs_page_gets_json(client, db, method):
    response = getattr(client, method)("/api/docs/")
    assert response.status_code == 401
    assert response.json() == {"error": "You must specify an API key."}


def test_a_signed_in_user_reads_the_docs_page_and_its_script(client, db):
    client.force_login(UserFactory(is_staff=True))
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert b"swagger-ui" in page.content
    assert b"<script>" not in page.content  # the start-up script is a file of its own (CSP)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    assert client.get("/api/schema/").status_code == 200


def test_the_setting_opens_both_to_anyone(client, db, settings):
    settings.STOCKROOM_PUBLIC_API_DOCS = True
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/", {"format": "json"}).status_code == 200


# --- Content-Security-Policy ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/admin/login/", "/dashboard/", "/api/v1/products", "/api/docs/", "/nothing/"])
def test_every_response_carries_the_policy(client, db, path):
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in policy


# --- check --deploy --------------------------------------------------------------------------------------------

def deploy_check(**env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL")}
    environ.update(SECRET_KEY="x" * 20 + "-a-long-random-looking-secret-key-for-the-check-" + "y" * 20, **env)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=120)
    return result.stdout + result.stderr


def test_check_deploy_has_no_hsts_warnings_when_https_is_on():
    output = deploy_check(STOCKROOM_HTTPS="1")
    assert "security.W005" not in output and "security.W021" not in output, output
    assert "security.W004" not in output and "security.W008" not in output, output
