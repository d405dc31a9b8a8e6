"""The short-cut content negotiation answers exactly what DRF's own would, for every Accept it may see."""

from __future__ import annotations

import pytest
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from inventory.api.common.negotiation import ContentNegotiation

ACCEPTS = [None, "*/*", "application/json", "text/html", "application/json; indent=4", "text/html, */*;q=0.8",
           "application/*", "", "application/xml", "*/*; q=0.5, application/json"]


def choose(negotiation, accept: str | None, query: str = "", suffix: str | None = None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/stock_locations{query}", **headers))
    renderers = [JSONRenderer(), BrowsableAPIRenderer()]
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except exceptions.NotAcceptable:
        return "406"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=api", "?format=json", "?page=2"])
def test_same_answer_as_drf(accept, query):
    assert choose(ContentNegotiation(), accept, query) == choose(DefaultContentNegotiation(), accept, query)


@pytest.mark.parametrize("accept", ACCEPTS)
def test_same_answer_as_drf_with_a_format_suffix(accept):
    assert choose(ContentNegotiation(), accept, suffix="api") == choose(DefaultContentNegotiation(), accept,
                                                                         suffix="api")


def test_the_short_cut_is_taken_for_json_clients(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("went through DRF's negotiation")

    monkeypatch.setattr(DefaultContentNegotiation, "select_renderer", refuse)
    assert choose(ContentNegotiation(), None) == ("JSONRenderer", "application/json")
    assert choose(ContentNegotiation(), "application/json") == ("JSONRenderer", "application/json")
    with pytest.raises(AssertionError):
        choose(ContentNegotiation(), "text/html")
