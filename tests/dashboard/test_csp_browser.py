"""The Content-Security-Policy in a real browser (the dashboard test's chromium and fixtures): the admin,
the dashboard, the browsable API and the Swagger UI page all work under it, and the browser reports no
violation of it on any of them (a `securitypolicyviolation` event, or a console error, would be one)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.dashboard.test_browser import PASSWORD, _wait_ready, browser_page, ledger, pytestmark  # noqa: F401
from tests.factories import UserFactory

# Every violation the page's document reports, collected before any of its scripts run.
COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def csp_admin(ledger):  # noqa: F811
    """An admin, written before the browser starts (no ORM calls while Playwright's loop runs)."""
    return UserFactory(username="csp-admin", is_staff=True, is_superuser=True, role=Role.ADMIN, password=PASSWORD)


def violations(page) -> list[str]:
    return page.evaluate("() => window.__csp || []")


@pytest.mark.django_db(transaction=True)
def test_admin_dashboard_browsable_api_and_docs_work_under_the_policy(live_server, csp_admin, browser_page):  # noqa: F811
    page = browser_page
    page.add_init_script(COLLECT_VIOLATIONS)
    seen: dict[str, list[str]] = {}

    response = page.goto(f"{live_server.url}/admin/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#id_username", "csp-admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    seen["admin index"] = violations(page)

    # A changelist with its actions bar and filters, and an add form with its related-object widgets.
    page.goto(f"{live_server.url}/admin/inventory/stockmovement/")
    page.wait_for_selector("#result_list")
    seen["admin changelist"] = violations(page)
    page.goto(f"{live_server.url}/admin/inventory/stocklocation/add/")
    page.wait_for_selector("#stocklocation_form")
    seen["admin add form"] = violations(page)

    page.goto(f"{live_server.url}/dashboard/")
    _wait_ready(page)
    seen["dashboard"] = violations(page)

    # The browsable API: its scripts run (the format dropdown toggles) for the signed-in session.
    page.goto(f"{live_server.url}/api/v1/stock_locations")
    page.wait_for_selector(".response-info")
    assert page.evaluate("() => typeof window.jQuery") == "function"
    seen["browsable API"] = violations(page)

    # Swagger UI starts from its own script file and draws the operations from the schema.
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    seen["API docs"] = violations(page)

    assert {name: found for name, found in seen.items() if found} == {}
    assert page.problems == []
