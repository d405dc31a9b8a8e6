"""A request body shorter than its Content-Length (the client hung up mid-upload) is refused, never read
as a shorter body: config/request_body.py wraps the WSGI application. Runs on every database: the WSGI
application is called in-process with a hand-made environ, as a server would call it."""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import ApiKey, Role
from config.request_body import CompleteBody, _ExactLengthInput
from inventory.models import IdempotencyRecord, StockItem, StockMovement
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory
from tests.wsgi import call_wsgi


@pytest.fixture
def spree_form(transactional_db):
    """A Rails-style form body for a Spree movement of 100 received, whose last byte matters: cut one byte
    short it still parses, as 10 received."""
    location = StockLocationFactory(code="MAIN")
    item = StockItemFactory(stock_location=location)
    _key, raw = ApiKey.issue(UserFactory(role=Role.MANAGER))
    body = (f"stock_movement[stock_item_id]={item.pk}&stock_movement[action]=received"
            f"&stock_movement[quantity]=100").encode()
    return {
        "path": f"/api/v1/stock_locations/{location.pk}/stock_movements",
        "body": body,
        "headers": {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_IDEMPOTENCY_KEY": "form-1"},
        "item": item,
    }


def test_a_form_body_cut_short_is_refused_not_read_as_a_smaller_quantity(spree_form):
    form = spree_form
    status, headers, payload = call_wsgi(form["path"], form["body"][:-1], declared=len(form["body"]),
                                         content_type="application/x-www-form-urlencoded", headers=form["headers"])
    assert status == 400, payload
    assert headers["Content-Type"] == "application/json"
    assert json.loads(payload) == {"error": "The request body ended before the length it announced."}
    assert StockMovement.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0
    assert StockItem.objects.get(pk=form["item"].pk).count_on_hand == 0

    # Control: the whole body is a real write of 100 (so the refusal above prevented a wrong write of 10).
    status, _headers, payload = call_wsgi(form["path"], form["body"], declared=len(form["body"]),
                                          content_type="application/x-www-form-urlencoded", headers=form["headers"])
    assert status == 201, payload
    assert json.loads(payload)["quantity"] == 100
    assert StockItem.objects.get(pk=form["item"].pk).count_on_hand == 100


@pytest.mark.django_db(transaction=True)
def test_a_json_body_cut_short_is_refused_in_the_warehouse_envelope():
    location = StockLocationFactory(code="MAIN")
    item = StockItemFactory(stock_location=location)
    _key, raw = ApiKey.issue(UserFactory(role=Role.MANAGER))
    body = json.dumps({"product_id": item.variant_id, "warehouse_id": location.pk, "movement_type": "in",
                       "quantity": 5}).encode()
    status, _headers, payload = call_wsgi("/api/v1/inventory/movements", body, declared=len(body) + 10,
                                          content_type="application/json",
                                          headers={"HTTP_AUTHORIZATION": f"Bearer {raw}"})
    assert status == 400, payload
    assert json.loads(payload) == {"error": "The request body ended before the length it announced.", "details": {}}
    assert StockMovement.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_admin_form_cut_short_is_refused():
    """Django's CSRF check cannot read the token from a body that ended early: 403, nothing saved."""
    status, _headers, _payload = call_wsgi("/admin/login/", b"username=a&password=b", declared=100,
                                           content_type="application/x-www-form-urlencoded")
    assert status == 403


def test_exact_length_input_reads_whole_bodies_in_any_pieces():
    data = b"line one\nline two\nrest"
    stream = _ExactLengthInput(io.BytesIO(data), len(data))
    assert stream.readline() == b"line one\n"
    assert stream.read(3) == b"lin"
    assert stream.readline(100) == b"e two\n"
    assert stream.read() == b"rest"
    assert stream.read() == b""
    assert stream.readline() == b""


def test_exact_length_input_never_reads_past_the_declared_length():
    stream = _ExactLengthInput(io.BytesIO(b"abcdef-and-the-next-request"), 6)
    assert stream.read(100) == b"abcdef"
    assert stream.read() == b""


@pytest.mark.parametrize("reader", ["read", "read_some", "readline", "iterate"])
def test_exact_length_input_raises_when_the_body_ends_early(reader):
    stream = _ExactLengthInput(io.BytesIO(b"quantity=10"), 12)
    with pytest.raises(OSError, match="ended after 11 of the 12 bytes"):
        if reader == "read":
            stream.read()
        elif reader == "read_some":
            stream.read(5)
            stream.read(7)
        elif reader == "readline":
            stream.readline()
        else:
            list(stream)


class _Trickle(io.RawIOBase):
    """A socket-like stream that hands out at most 3 bytes per read, though more are coming."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = 3 if size is None or size < 0 else min(size, 3)
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


def test_exact_length_input_waits_for_slow_bodies_instead_of_refusing_them():
    stream = _ExactLengthInput(_Trickle(b"stock_movement[quantity]=100"), 28)
    assert stream.read() == b"stock_movement[quantity]=100"


def test_requests_without_a_body_are_left_alone():
    seen = {}

    def app(environ, start_response):
        seen["input"] = environ["wsgi.input"]
        return []

    original = io.BytesIO(b"")
    for length in ("", "0", "abc", None):
        environ = {"wsgi.input": original}
        if length is not None:
            environ["CONTENT_LENGTH"] = length
        CompleteBody(app)(environ, lambda *a: None)
        assert seen["input"] is original


@pytest.mark.parametrize(
    ("path", "envelope"),
    [
        ("/api/v1/products", {"error"}),
        ("/api/stock_locations", {"error"}),
        ("/api/v1/inventory", {"error", "details"}),
        ("/api/v1/inventory_movements", {"statusCode", "name", "message"}),
        ("/api/v1/movements/product/1", {"error"}),
    ],
)
def test_more_query_parameters_than_django_parses_is_a_400_in_the_family_envelope(db, path, envelope):
    """Found by the fuzz run: over DATA_UPLOAD_MAX_NUMBER_FIELDS parameters Django refuses to parse the
    query string (SuspiciousOperation), which was a 500 in the Spree and warehouse families."""
    _key, raw = ApiKey.issue(UserFactory(role=Role.VIEWER))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    crowded = "&".join(f"variant_ids={i}" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 200))
    response = client.get(f"{path}?{crowded}")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == envelope


@pytest.mark.parametrize("path", ["/api/v1/inventory/allocations/1%0Ax", "/api/v1/nothing%0Ahere", "/api/x%0A",
                                  "/api/v1/inventory/%0A"])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_path_with_an_encoded_newline_is_a_json_404(db, path, method):
    """Found by the fuzz run: `.` in the catch-all patterns did not match a newline, so such a path fell
    through to Django's HTML 404 page."""
    _key, raw = ApiKey.issue(UserFactory(role=Role.ADMIN))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "error" in response.json()
