"""Fixtures of the dashboard's page and data tests."""

from __future__ import annotations

import pytest

from tests.dashboard.ledger import build_ledger
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fifo(settings):
    settings.STOCKROOM_VALUATION = "fifo"


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="dash-staff", is_staff=True))
    return client


@pytest.fixture
def ledger():
    return build_ledger()
