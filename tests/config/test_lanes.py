"""config/lanes.py: cookie-less API requests skip the browser-session middleware; everything else, and every
answer, is as through the full stack. The project's WSGI application is called in-process with a hand-made
environ, as a server calls it."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from config.lanes import SESSION_ONLY, CookielessApiLane
from config.wsgi import application
from tests.factories import ApiKeyFactory, StockItemFactory, StockLocationFactory, UserFactory
from tests.wsgi import call_wsgi

LANE = application.app  # inside CompleteBody


def call(method: str, path: str, *, body: dict | None = None, **headers: str) -> tuple[int, dict, bytes]:
    return call_wsgi(path, b"" if body is None else json.dumps(body).encode(), method=method, headers=headers)


def middleware_of(handler) -> list[str]:
    """The classes in a handler's chain, outermost first: each link is Django's exception wrapper around a
    middleware instance, whose get_response is the next link (the last one wraps the handler's own method)."""
    names, link = [], handler._middleware_chain
    while True:
        cells = dict(zip(link.__code__.co_freevars, link.__closure__ or (), strict=True))
        middleware = cells["get_response"].cell_contents
        if not hasattr(middleware, "get_response"):
            return names
        names.append(f"{type(middleware).__module__}.{type(middleware).__qualname__}")
        link = middleware.get_response


def test_the_api_lane_is_the_full_stack_without_the_session_middleware():
    assert middleware_of(LANE.full) == list(settings.MIDDLEWARE)
    assert middleware_of(LANE.api) == [name for name in settings.MIDDLEWARE if name not in SESSION_ONLY]
    assert set(middleware_of(LANE.full)) - set(middleware_of(LANE.api)) == SESSION_ONLY


@pytest.mark.parametrize(("path", "cookie", "lane"), [
    ("/api/v1/stock_locations", None, "api"),
    ("/api/v1/stock_locations/1/stock_movements", None, "api"),
    ("/api/v1/stock_locations", "sessionid=x", "full"),
    ("/api/v1/stock_locations", "", "full"),
    ("/api/stock_locations", None, "full"),
    ("/api/docs/", None, "full"),
    ("/admin/", None, "full"),
])
def test_which_lane_serves_a_request(path, cookie, lane):
    served = []
    router = CookielessApiLane(full=lambda environ, start: served.append("full"),
                               api=lambda environ, start: served.append("api"))
    environ = {"PATH_INFO": path, **({} if cookie is None else {"HTTP_COOKIE": cookie})}
    router(environ, None)
    assert served == [lane]


@pytest.fixture
def stock(transactional_db):
    # transactional_db: a request ends as a server's does, and Django then closes the connection
    # (close_old_connections), which a test wrapped in a transaction would not survive.
    location = StockLocationFactory(code="MAIN")
    return location, StockItemFactory(stock_location=location)


def test_a_cookie_less_movement_post_is_answered_as_by_the_full_stack(stock):
    location, item = stock
    key = ApiKeyFactory(user=UserFactory(role=Role.MANAGER))
    path = f"/api/v1/stock_locations/{location.pk}/stock_movements"
    body = {"stock_movement": {"stock_item_id": item.pk, "quantity": 5, "action": "received"}}
    answers = []
    for cookie in ({}, {"HTTP_COOKIE": "unrelated=1"}):  # the API lane, then the full stack
        status, headers, payload = call("POST", path, body=body, HTTP_AUTHORIZATION=f"Bearer {key.raw}", **cookie)
        answer = json.loads(payload)
        answers.append((status, headers.get("Content-Type"), headers.get("X-Frame-Options"),
                        headers.get("Content-Security-Policy"), sorted(answer), answer["quantity"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 201 and answers[0][2] == "DENY"
    item.refresh_from_db()
    assert item.count_on_hand == 10


def test_the_browsable_api_still_authenticates_by_session(stock):
    browser = Client()
    browser.force_login(UserFactory(role=Role.VIEWER))
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    assert call("GET", "/api/v1/stock_locations", HTTP_COOKIE=cookie, HTTP_ACCEPT="application/json")[0] == 200
    status, _, payload = call("GET", "/api/v1/stock_locations", HTTP_ACCEPT="application/json")
    assert status == 401 and json.loads(payload) == {"error": "You must specify an API key."}


def test_the_api_docs_without_a_cookie_still_send_a_browser_to_the_login(transactional_db):
    status, headers, _ = call("GET", "/api/docs/")
    assert status == 302 and "login" in headers["Location"]
