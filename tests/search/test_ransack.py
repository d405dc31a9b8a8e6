"""The q[...] parser: every predicate, ambiguous names, typed values, sorts, and what it refuses."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import QueryDict

from inventory.models import Action, StockItem, StockMovement, Variant
from inventory.search.ransack import (
    BOOL,
    CHOICE,
    DECIMAL,
    INT,
    PREDICATES,
    STR,
    Field,
    Relation,
    Searchable,
    SearchError,
    model_fields,
    parse,
    resolve_name,
)
from tests.factories import ProductFactory, StockItemFactory, StockLocationFactory, VariantFactory

VARIANT = Searchable(
    fields={**model_fields(Variant, "id", "sku", "price", "cost_price", "is_master", "product_id",
                           "options_text", "created_at"),
            "name": Field(STR, lookup="product__name")},
)
ITEM = Searchable(
    fields=model_fields(StockItem, "id", "count_on_hand", "backorderable", "variant_id", "stock_location_id"),
    relations={"variant": Relation("variant", VARIANT)},
)
MOVEMENT = Searchable(
    fields=model_fields(StockMovement, "id", "quantity", "action", "stock_item_id", "movement_date", "notes"),
    relations={"stock_item": Relation("stock_item", ITEM)},
    default_order=("-movement_date", "-id"),
)


def q(query: str) -> QueryDict:
    return QueryDict(query)


def errors_of(query: str, searchable=MOVEMENT) -> dict:
    with pytest.raises(SearchError) as info:
        parse(q(query), searchable)
    return info.value.errors


# --- name resolution (no database) ---------------------------------------------------------------


def test_flattened_allowlist_walks_associations():
    attrs = MOVEMENT.attributes()
    assert attrs["stock_item_variant_sku"].lookup == "stock_item__variant__sku"
    assert attrs["stock_item_variant_name"].lookup == "stock_item__variant__product__name"
    assert attrs["stock_item_count_on_hand"].lookup == "stock_item__count_on_hand"
    assert "created_by_password" not in attrs
    assert "stock_item_variant_product_created_by" not in attrs


def test_stock_item_id_is_the_foreign_key_not_a_walk():
    attr, pred = resolve_name("stock_item_id_eq", MOVEMENT.attributes())
    assert (attr.lookup, pred) == ("stock_item_id", "eq")


def test_stock_item_variant_id_walks_to_the_variant():
    attr, pred = resolve_name("stock_item_variant_id_eq", MOVEMENT.attributes())
    assert attr.name == "stock_item_variant_id"
    assert attr.lookup == "stock_item__variant_id"
    assert pred == "eq"


@pytest.mark.parametrize(
    ("name", "attribute", "predicate"),
    [
        ("quantity_not_eq", "quantity", "not_eq"),
        ("quantity_lteq", "quantity", "lteq"),
        ("quantity_lt", "quantity", "lt"),
        ("id_not_in", "id", "not_in"),
        ("id_in", "id", "in"),
        ("notes_not_cont", "notes", "not_cont"),
        ("notes_i_cont", "notes", "i_cont"),
        ("notes_cont", "notes", "cont"),
        ("notes_not_null", "notes", "not_null"),
        ("stock_item_variant_cost_price_null", "stock_item_variant_cost_price", "null"),
        ("stock_item_variant_is_master_true", "stock_item_variant_is_master", "true"),
        ("stock_item_variant_product_id_eq", "stock_item_variant_product_id", "eq"),
    ],
)
def test_predicate_suffixes_resolve(name, attribute, predicate):
    attr, pred = resolve_name(name, MOVEMENT.attributes())
    assert (attr.name, pred) == (attribute, predicate)


def test_longest_allowlisted_attribute_wins_when_two_splits_are_valid():
    # Both `level` + not_eq and `level_not` + eq are allowlisted: the longer attribute is the reading.
    searchable = Searchable(fields={"level": Field(INT), "level_not": Field(INT, lookup="other")})
    attr, pred = resolve_name("level_not_eq", searchable.attributes())
    assert (attr.name, pred) == ("level_not", "eq")
    attr, pred = resolve_name("level_not_not_eq", searchable.attributes())
    assert (attr.name, pred) == ("level_not", "not_eq")


def test_unknown_predicate_and_unknown_attribute_are_named():
    errors = errors_of("q[quantity_like]=3")
    assert list(errors) == ["q[quantity_like]"]
    assert "predicate" in errors["q[quantity_like]"][0]
    errors = errors_of("q[created_by_username_eq]=admin")
    assert "'created_by_username' is not a searchable attribute" in errors["q[created_by_username_eq]"][0]


@pytest.mark.parametrize(
    "query",
    [
        "q[stock_item__variant__sku_eq]=X",  # Django lookup syntax is not an attribute
        "q[created_by_password_start]=pbkdf2",
        "q[stock_item_variant_product_created_by_id_eq]=1",
        "q[quantity]=3",
        "q[quantity_eq][0]=3",
        "q=quantity",
        "q[]=1",
    ],
)
def test_anything_outside_the_allowlist_is_refused(query):
    errors = errors_of(query)
    assert len(errors) == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("q[stock_item_backorderable_cont]=t", "does not apply"),
        ("q[quantity_cont]=1", "does not apply"),
        ("q[quantity_true]=1", "does not apply"),
        ("q[notes_true]=1", "does not apply"),
        ("q[stock_item_backorderable_gt]=1", "does not apply"),
        ("q[quantity_present]=1", "does not apply"),
    ],
)
def test_predicates_must_fit_the_attribute_type(query, message):
    (messages,) = errors_of(query).values()
    assert message in messages[0]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("q[quantity_eq]=abc", "q[quantity_eq]"),
        ("q[quantity_eq]=1.5", "q[quantity_eq]"),
        ("q[quantity_eq]=%C2%B9", "q[quantity_eq]"),  # superscript one
        ("q[quantity_eq]=%D9%A3", "q[quantity_eq]"),  # Arabic-Indic three
        ("q[stock_item_variant_price_lt]=%D9%A3", "q[stock_item_variant_price_lt]"),
        (f"q[quantity_gt]={10**30}", "q[quantity_gt]"),
        ("q[stock_item_variant_price_lt]=cheap", "q[stock_item_variant_price_lt]"),
        ("q[stock_item_variant_price_lt]=1e3", "q[stock_item_variant_price_lt]"),
        ("q[movement_date_gteq]=yesterday", "q[movement_date_gteq]"),
        ("q[movement_date_gteq]=2024-13-45", "q[movement_date_gteq]"),
        ("q[stock_item_backorderable_eq]=maybe", "q[stock_item_backorderable_eq]"),
        ("q[notes_null]=perhaps", "q[notes_null]"),
        ("q[action_eq]=stolen", "q[action_eq]"),
        ("q[id_in]=1,two,3", "q[id_in]"),
        ("q[id_in][]=1&q[id_in][]=x", "q[id_in][]"),
        ("q[quantity_eq]=1&q[quantity_eq]=2", "q[quantity_eq]"),
        ("q[quantity_eq][]=1", "q[quantity_eq][]"),
    ],
)
def test_bad_values_name_the_parameter(query, param):
    errors = errors_of(query)
    assert list(errors) == [param]


def test_every_bad_parameter_is_reported_at_once():
    errors = errors_of("q[quantity_eq]=x&q[nope_eq]=1&q[s]=password asc")
    assert set(errors) == {"q[quantity_eq]", "q[nope_eq]", "q[s]"}


def test_values_are_typed():
    search = parse(q("q[quantity_gt]=%2B5&q[stock_item_variant_price_lteq]=15.5&q[stock_item_backorderable_eq]=yes"
                     "&q[movement_date_gteq]=2024-01-05&q[movement_date_lt]=2024-02-01T10:30:00Z"), MOVEMENT)
    children = [c.children[0] for c in search.conditions]
    assert ("quantity__gt", 5) in children
    assert ("stock_item__variant__price__lte", Decimal("15.5")) in children
    assert ("stock_item__backorderable", True) in children
    assert ("movement_date__gte", datetime(2024, 1, 5, tzinfo=UTC)) in children
    assert ("movement_date__lt", datetime(2024, 2, 1, 10, 30, tzinfo=UTC)) in children


def test_empty_values_are_skipped_like_ransack_but_names_still_checked():
    search = parse(q("q[notes_cont]=&q[id_in]=&q[stock_item_variant_sku_eq]="), MOVEMENT)
    assert search.conditions == []
    assert "q[bogus_eq]" in errors_of("q[bogus_eq]=")


def test_other_parameters_are_left_alone():
    search = parse(q("page=2&per_page=5&quxx=1"), MOVEMENT)
    assert search.conditions == []


# --- sorts ----------------------------------------------------------------------------------------


def test_default_order_is_the_searchables():
    assert parse(q(""), MOVEMENT).order_by == ["-movement_date", "-id"]


@pytest.mark.parametrize(
    ("query", "order"),
    [
        ("q[s]=quantity asc", ["quantity", "-id"]),
        ("q[s]=quantity", ["quantity", "-id"]),
        ("q[s]=quantity DESC", ["-quantity", "-id"]),
        ("q[s]=quantity desc, id asc", ["-quantity", "id"]),
        ("q[s][]=stock_item_variant_sku asc&q[s][]=movement_date desc",
         ["stock_item__variant__sku", "-movement_date", "-id"]),
        ("q[sorts]=stock_item_variant_name desc", ["-stock_item__variant__product__name", "-id"]),
    ],
)
def test_sorts(query, order):
    assert parse(q(query), MOVEMENT).order_by == order


@pytest.mark.parametrize(
    "sort",
    [
        "password asc",
        "quantity sideways",
        "quantity asc; DROP TABLE inventory_stockmovement",
        "quantity asc--",
        "-quantity",
        "stock_item__variant__sku",
        "(select 1)",
        "quantity asc nulls first",
        "created_by_username",
    ],
)
def test_sort_injection_is_refused(sort):
    errors = errors_of(f"q[s]={sort.replace(';', '%3B')}")
    assert list(errors) == ["q[s]"]


def test_to_many_attributes_filter_distinct_but_do_not_sort():
    product = Searchable(fields={"id": Field(INT)},
                         relations={"variants": Relation("variants", VARIANT, many=True)})
    assert parse(q("q[variants_sku_eq]=A"), product).distinct
    assert "q[s]" in errors_of("q[s]=variants_sku asc", product)


# --- every predicate against the database ----------------------------------------------------------


@pytest.fixture
def catalog(db):
    location = StockLocationFactory()
    red = VariantFactory(sku="RED-1", price=Decimal("10.00"), cost_price=Decimal("4.00"), is_master=True,
                         product=ProductFactory(name="Red Shirt"), options_text="Size: S")
    blue = VariantFactory(sku="BLUE-2", price=Decimal("20.00"), cost_price=None,
                          product=ProductFactory(name="Blue Hat"), options_text="")
    green = VariantFactory(sku="GREEN-3", price=Decimal("30.00"), cost_price=Decimal("9.50"),
                           product=ProductFactory(name="green scarf"), options_text="Colour, Green")
    return {
        "red": StockItemFactory(stock_location=location, variant=red, count_on_hand=5),
        "blue": StockItemFactory(stock_location=location, variant=blue, backorderable=True),
        "green": StockItemFactory(stock_location=location, variant=green, count_on_hand=30),
    }


def skus(query: str) -> list[str]:
    search = parse(q(query), ITEM)
    return sorted(search.apply(StockItem.objects.all()).values_list("variant__sku", flat=True))


PREDICATE_CASES = [
    ("q[variant_sku_eq]=RED-1", ["RED-1"]),
    ("q[variant_sku_not_eq]=RED-1", ["BLUE-2", "GREEN-3"]),
    ("q[count_on_hand_lt]=5", ["BLUE-2"]),
    ("q[count_on_hand_lteq]=5", ["BLUE-2", "RED-1"]),
    ("q[count_on_hand_gt]=5", ["GREEN-3"]),
    ("q[count_on_hand_gteq]=5", ["GREEN-3", "RED-1"]),
    ("q[variant_sku_in]=RED-1,GREEN-3", ["GREEN-3", "RED-1"]),
    ("q[variant_sku_in][]=RED-1&q[variant_sku_in][]=BLUE-2", ["BLUE-2", "RED-1"]),
    ("q[variant_sku_not_in]=RED-1,GREEN-3", ["BLUE-2"]),
    ("q[variant_sku_cont]=EE", ["GREEN-3"]),
    # Ransack's text predicates ignore case on every database (issue 13).
    ("q[variant_sku_cont]=ee", ["GREEN-3"]),
    ("q[variant_sku_not_cont]=ee", ["BLUE-2", "RED-1"]),
    ("q[variant_sku_start]=bl", ["BLUE-2"]),
    ("q[variant_sku_end]=N-3", ["GREEN-3"]),
    ("q[variant_sku_eq]=red-1", []),
    ("q[variant_sku_not_cont]=EE", ["BLUE-2", "RED-1"]),
    ("q[variant_name_i_cont]=SCARF", ["GREEN-3"]),
    ("q[variant_sku_start]=BL", ["BLUE-2"]),
    ("q[variant_sku_end]=-3", ["GREEN-3"]),
    ("q[variant_cost_price_null]=1", ["BLUE-2"]),
    ("q[variant_cost_price_null]=false", ["GREEN-3", "RED-1"]),
    ("q[variant_cost_price_not_null]=true", ["GREEN-3", "RED-1"]),
    ("q[variant_cost_price_not_null]=0", ["BLUE-2"]),
    ("q[variant_options_text_present]=1", ["GREEN-3", "RED-1"]),
    ("q[variant_options_text_present]=0", ["BLUE-2"]),
    ("q[variant_options_text_blank]=true", ["BLUE-2"]),
    ("q[variant_options_text_blank]=false", ["GREEN-3", "RED-1"]),
    ("q[backorderable_true]=1", ["BLUE-2"]),
    ("q[backorderable_true]=0", ["GREEN-3", "RED-1"]),
    ("q[backorderable_false]=1", ["GREEN-3", "RED-1"]),
    ("q[backorderable_false]=0", ["BLUE-2"]),
    ("q[variant_is_master_eq]=t", ["RED-1"]),
    ("q[variant_price_gteq]=20&q[variant_price_lt]=30.00", ["BLUE-2"]),
    ("q[variant_cost_price_not_eq]=4", ["GREEN-3"]),  # null cost prices are not "not 4", as in SQL
    ("q[variant_options_text_cont]=Colour, Green", ["GREEN-3"]),
    ("q[variant_options_text_in][]=Colour, Green", ["GREEN-3"]),
]


def test_every_predicate_is_exercised():
    used = {resolve_name(name.split("]")[0][2:], ITEM.attributes())[1]
            for query, _ in PREDICATE_CASES for name in query.split("&")}
    assert used == set(PREDICATES)


@pytest.mark.parametrize(("query", "expected"), PREDICATE_CASES)
def test_predicate_against_the_database(catalog, query, expected):
    assert skus(query) == expected


def test_choice_values_filter(db):
    item = StockItemFactory(count_on_hand=10)
    from inventory import services

    services.sell(item, 3)
    services.adjust(item, -1)
    search = parse(q("q[action_in]=sold,adjusted&q[s]=quantity asc"), MOVEMENT)
    rows = list(search.apply(StockMovement.objects.all()).values_list("action", "quantity"))
    assert rows == [(Action.SOLD, -3), (Action.ADJUSTED, -1)]


def test_kinds_are_read_from_the_model():
    attrs = MOVEMENT.attributes()
    assert attrs["quantity"].kind == INT
    assert attrs["action"].kind == CHOICE
    assert attrs["stock_item_variant_price"].kind == DECIMAL
    assert attrs["stock_item_backorderable"].kind == BOOL
    assert attrs["notes"].kind == STR
