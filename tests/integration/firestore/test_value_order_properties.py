"""Properties of the emulator's value order and field paths (no emulator process needed).

The emulator orders protobuf values by sort keys; the oracle orders the decoded
Python values independently. For any two values they must agree, and equality
must be symmetric and consistent with the order. Field paths must survive
rendering and parsing for any keys, however odd.
"""

from __future__ import annotations

import datetime
import math

import pytest
from google.cloud.firestore_v1 import GeoPoint, _helpers
from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.firestore import fieldpaths, values
from emulators.firestore.errors import RpcError
from tests.integration.firestore import oracle

_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_TIMESTAMPS = st.datetimes(
    min_value=datetime.datetime(1970, 1, 1),
    max_value=datetime.datetime(2100, 1, 1),
    timezones=st.just(datetime.UTC),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    _INT64,
    st.floats(allow_nan=True, allow_infinity=True),
    _TIMESTAMPS,
    st.text(max_size=4),
    st.binary(max_size=4),
    st.builds(GeoPoint, st.floats(-90, 90), st.floats(-180, 180)),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=3), children, max_size=3),
    ),
    max_leaves=8,
)


def _encode(value):
    return type(_helpers.encode_value(value)).pb(_helpers.encode_value(value))


def _emulator_compare(left, right) -> int:
    left_key, right_key = values.sort_key(_encode(left)), values.sort_key(_encode(right))
    return (left_key > right_key) - (left_key < right_key)


@settings(max_examples=400, deadline=None)
@given(_VALUES, _VALUES)
def test_the_emulator_orders_any_two_values_like_the_oracle(left, right):
    assert _emulator_compare(left, right) == oracle.compare(left, right)


@settings(max_examples=200, deadline=None)
@given(_VALUES, _VALUES, _VALUES)
def test_the_order_is_transitive(first, second, third):
    ordered = sorted([first, second, third], key=lambda value: values.sort_key(_encode(value)))
    assert oracle.compare(ordered[0], ordered[1]) <= 0
    assert oracle.compare(ordered[1], ordered[2]) <= 0
    assert oracle.compare(ordered[0], ordered[2]) <= 0


@settings(max_examples=200, deadline=None)
@given(_VALUES)
def test_every_value_equals_itself_including_nan(value):
    assert values.equal(_encode(value), _encode(value))


def test_integers_and_doubles_compare_by_value():
    assert values.equal(_encode(1), _encode(1.0))
    assert values.equal(_encode(0), _encode(-0.0))
    assert _emulator_compare(math.nan, -math.inf) == -1
    assert _emulator_compare(2**63 - 1, 9.223372036854776e18) == -1  # exact, not via float


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4))
def test_field_paths_round_trip_for_any_keys(keys):
    assert fieldpaths.parse(fieldpaths.render(keys)) == tuple(keys)


@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("a.b", ("a", "b")),
        ("`a.b`.c", ("a.b", "c")),
        ("`a\\`b`", ("a`b",)),
        ("`back\\\\slash`", ("back\\slash",)),
        ("_x1.`1st`", ("_x1", "1st")),
    ],
)
def test_quoted_and_escaped_field_paths(path, keys):
    assert fieldpaths.parse(path) == keys


@pytest.mark.parametrize("path", ["", "a..b", "1st", "a.", "`unterminated", "a-b", "``"])
def test_malformed_field_paths_are_invalid_arguments(path):
    with pytest.raises(RpcError) as raised:
        fieldpaths.parse(path)
    assert raised.value.code.name == "INVALID_ARGUMENT"
