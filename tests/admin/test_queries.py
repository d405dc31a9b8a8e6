"""Changelists cost a constant number of queries, however many rows they show."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.admin.conftest import build_ledger
from tests.admin.helpers import admin_url
from tests.admin.test_pages import MODELS
from tests.factories import StockLocationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_rows(superuser_client, django_assert_max_num_queries, model):
    small = build_ledger(2)
    url = admin_url(model, "changelist")
    superuser_client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as two_rows:
        assert superuser_client.get(url).status_code == 200
    assert model.objects.count() >= 2

    build_ledger(18, main=small["main"], shop=small["shop"])
    StockLocationFactory.create_batch(18)
    assert model.objects.count() >= 20
    with django_assert_max_num_queries(len(two_rows)):
        response = superuser_client.get(url)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 20
