"""Schemathesis against /api/schema/: every documented operation is fuzzed through the real WSGI
application (config.wsgi) on the test database, authenticated with an admin API key.

Assertions, per response: no 5xx, the status code is documented for the operation, the content type
and headers are the documented ones, and the body matches the documented schema. Generated ids are
often swapped for ids of rows the fixture created, so the fuzzer reaches past the 404s into the
validation and service code. A stateful run then chains operations along the links schemathesis
infers from the schema (create a location, read it back, put an item in it, ...).

Bounded: a handful of examples per operation (FUZZ_EXAMPLES, default 20) so the whole module stays
within a few minutes on CI; set FUZZ_EXAMPLES=200 (and FUZZ_RANDOM=1 for new cases) for a deeper local run.
"""

from __future__ import annotations

import contextlib
import os
import re
from decimal import Decimal

import hypothesis
import pytest
import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from accounts.models import KEY_PREFIX_LENGTH, ApiKey, Role, hash_key
from config.wsgi import application
from inventory import services
from inventory.api.common import ApiKeyRateThrottle
from inventory.models import StockItem
from inventory.services.allocations import allocate
from tests.factories import ProductFactory, StockLocationFactory, UserFactory, VariantFactory
from tests.robustness import routes

pytestmark = [pytest.mark.slow]

METHODS = {"get", "put", "post", "delete", "patch"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
STATEFUL_STEPS = int(os.environ.get("FUZZ_STATEFUL_STEPS", "50"))
# The same cases on every run (a stable CI) unless FUZZ_RANDOM=1 asks for new ones (a local search).
DERANDOMIZE = os.environ.get("FUZZ_RANDOM", "") != "1"

# What "conforms" means here. Left out on purpose: positive_data_acceptance (a schema-valid body may
# still break a business rule: a taken location code, an id that does not exist, an unknown ransack
# attribute inside the free-form `q` object) and negative_data_rejection (the contract itself accepts
# numbers sent as strings, which the schema types as numbers).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    # Sends the same request again without credentials and expects it refused.
    ignored_auth,
]
# In the stateful run also: a created resource can be read back, a deleted one is gone.
STATEFUL_CHECKS = [*CHECKS, use_after_free, ensure_resource_availability]

# Loaded once at import, before any database exists to hold a key: the setting that opens the documents.
with override_settings(STOCKROOM_PUBLIC_API_DOCS=True):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

# Ids of the rows the current test created, by the name the API gives them. Filled by `fuzz_data`.
KNOWN: dict[str, list] = {}

PATH_ID_KINDS = {
    "location_id": "location",
    "item_id": "item",
    "movement_id": "movement",
    "product_id": "product",
    "variant_id": "variant",
    "id": "allocation",
}
BODY_ID_KINDS = {
    "stock_item_id": "item",
    "variant_id": "variant",
    "product_id": "variant",  # the warehouse family calls a variant a product
    "warehouse_id": "location",
    "destination_warehouse_id": "location",
    "location_id": "location",
}


def _known(kind: str) -> st.SearchStrategy:
    return st.sampled_from(KNOWN[kind]) if KNOWN.get(kind) else st.nothing()


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half the time, every id in the path is one that exists."""
    swaps = {name: _known(PATH_ID_KINDS[name]) for name in path_parameters or {} if name in PATH_ID_KINDS}
    if not swaps:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.fixed_dictionaries(swaps).map(lambda s: {**path_parameters, **s}))


def _swap_body_ids(body, draw_ids):
    if isinstance(body, dict):
        return {k: draw_ids.get(k, _swap_body_ids(v, draw_ids)) if k in BODY_ID_KINDS else _swap_body_ids(v, draw_ids)
                for k, v in body.items()}
    if isinstance(body, list):
        return [_swap_body_ids(v, draw_ids) for v in body]
    return body


@schema.hook
def flatmap_body(context, body):
    """Half the time, ids inside the body (also inside wrappers and adjustment rows) exist."""
    if not isinstance(body, dict | list):
        return st.just(body)
    swaps = st.fixed_dictionaries({name: _known(kind) for name, kind in BODY_ID_KINDS.items() if KNOWN.get(kind)})
    return st.one_of(st.just(body), swaps.map(lambda ids: _swap_body_ids(body, ids)))


# The admin key every generated request carries. Given to schemathesis as the API's credentials (not
# as extra headers), so its ignored_auth check knows what to strip when it probes for enforcement.
FUZZ_KEY = "sr_fuzz_admin_key_not_a_secret_0001"


@schema.auth(refresh_interval=None, retry_on=[])
class AdminKey:
    def get(self, case, context):
        return FUZZ_KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def fuzz_data(transactional_db, monkeypatch):
    """A small catalogue with a ledger, and an admin key. Committed for real (transactional_db), as the
    application would see it; the tables are flushed after each test."""
    # The fuzzer is one client sending far more than a person would: throttling is tested elsewhere.
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "1000000/min"})
    main = StockLocationFactory(code="MAIN", name="Main warehouse", propagate_all_variants=True)
    shop = StockLocationFactory(code="SHOP", name="Downtown store", propagate_all_variants=True)
    product = ProductFactory(name="Ruby on Rails Tote", slug="ror-tote")
    master = services.create_variant(product, sku="ROR-00011", price=Decimal("15.99"), is_master=True)
    variant = VariantFactory(product=product, sku="ROR-00012")
    items = {}
    for location in (main, shop):
        for v in (master, variant):
            # Both locations propagate every variant, so creating the variant created its items.
            items[(location.pk, v.pk)] = StockItem.objects.get(stock_location=location, variant=v)
    movements = [
        services.receive(items[(main.pk, master.pk)], 20, value_per_unit=Decimal("4.00")),
        services.receive(items[(main.pk, variant.pk)], 5, value_per_unit=Decimal("6.50")),
        services.sell(items[(main.pk, master.pk)], 3),
    ]
    transfer = services.transfer(main, shop, [(master, 2)])
    allocation = allocate(items[(main.pk, master.pk)], 1)
    admin = UserFactory(role=Role.ADMIN)
    ApiKey.objects.create(user=admin, prefix=FUZZ_KEY[:KEY_PREFIX_LENGTH], hashed_key=hash_key(FUZZ_KEY))
    KNOWN.clear()
    KNOWN.update(
        location=[main.pk, shop.pk],
        item=[i.pk for i in items.values()],
        movement=[m.pk for m in movements] + list(transfer.movements.values_list("pk", flat=True)),
        product=[str(product.pk), product.slug],
        variant=[master.pk, variant.pk],
        allocation=[allocation.pk],
    )
    yield
    KNOWN.clear()


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms(case, fuzz_data):
    """No 5xx, and every response is one the schema documents (status, headers, content type, body)."""
    case.call_and_validate(checks=CHECKS)


def test_stateful_sequences_conform(fuzz_data):
    """Operations chained along the links schemathesis infers from the schema (a created location's id
    feeds its stock items, a created item's id its movements, ...), with the same checks plus: what was
    created can be read back, and what was deleted is gone."""
    calls: list[tuple[str, int]] = []
    failures: dict[str, str] = {}

    class Workflow(schema.as_state_machine()):
        def after_call(self, response, case):
            super().after_call(response, case)
            calls.append((case.operation.label, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Failures are collected rather than raised: the run goes on and reports every distinct one,
            # and Hypothesis never replays a scenario (see below).
            try:
                case.validate_response(response, checks=STATEFUL_CHECKS, transport_kwargs=kwargs)
            except FailureGroup as group:
                for failure in group.exceptions:
                    failures.setdefault(f"{case.operation.label}: {failure.title}", str(group))

    # Schemathesis feeds values it saw in responses back into generation, so when Hypothesis replays a
    # choice sequence the strategies may draw differently (FlakyStrategyDefinition); schemathesis's own
    # runner tolerates this too. It ends the run early, it is not a failed check: every response up to
    # there was checked.
    with contextlib.suppress(FlakyStrategyDefinition):
        Workflow.run(
            settings=hypothesis.settings(
                max_examples=EXAMPLES,
                stateful_step_count=STATEFUL_STEPS,
                phases=[Phase.explicit, Phase.generate],
                deadline=None,
                derandomize=DERANDOMIZE,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
        )

    assert not failures, "\n\n".join(failures.values())
    # Not vacuous: many operations were reached, and resources were created and deleted along the way.
    assert len({label for label, _ in calls}) >= 20, sorted({label for label, _ in calls})
    statuses = {status for _, status in calls}
    assert {200, 201} <= statuses, statuses


def test_the_schema_lists_every_api_route():
    """"Every route" is only as good as the schema: each /api/ route of the URLconf (walked, not listed by
    hand) must be in it with every method its view serves, so nothing escapes the fuzzing. Left out: the
    catch-all 404s and the schema and docs pages. The trailing-slash spellings and the Spree routes' /api/
    mount are documented once, under their /api/v1/ path without the slash: such a route counts as covered
    when it is served by the very view class (or a subclass) the documented path is, so the fuzzing of the
    documented path exercises its code."""
    def shape(template: str) -> str:  # parameter names may differ between the URLconf and the schema
        return re.sub(r"\{[^}]+\}", "{}", template)

    def canonical(template: str) -> str:
        path = template.rstrip("/")
        return path if path.startswith("/api/v1/") else "/api/v1/" + path.removeprefix("/api/")

    documented = {shape(path): {m for m in ops if m in METHODS} for path, ops in schema.raw_schema["paths"].items()}
    api_routes = [r for r in routes.api_routes()
                  if not r.catch_all and not shape(r.template).startswith(("/api/schema/", "/api/docs/"))]
    documented_views = {shape(r.template): r.view_class for r in api_routes if shape(r.template) in documented}
    missing = []
    for route in api_routes:
        template = shape(route.template)
        served = set(route.methods or ()) & METHODS
        path = template if template in documented else canonical(template)
        if path != template and not (path in documented_views and route.view_class is not None
                                     and issubclass(route.view_class, documented_views[path])):
            missing.append((template, f"not served by the view of {path}"))
        elif path not in documented or not served <= documented[path]:
            missing.append((template, sorted(served - documented.get(path, set()))))
    assert missing == []
    # Not vacuous: the aliases were really checked against their documented twins.
    assert any(shape(r.template).startswith("/api/stock_locations") for r in api_routes)
