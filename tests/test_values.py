"""DSError as a Python value: its code, equality, hash and repr."""
import pytest

from deepslate import DSError
from deepslate._types import to_jsonable


def test_code_defaults_to_zero_and_takes_part_in_equality():
    assert DSError("x").code == 0
    assert DSError("x", "http", 503) == DSError("x", "http", 503)
    assert DSError("x", "http", 503) != DSError("x", "http", 502)
    assert DSError("x", "http", 0) == DSError("x", "http")
    assert len({DSError("x", "http", 503), DSError("x", "http", 503), DSError("x", "http")}) == 2


def test_repr_names_a_code_only_when_there_is_one():
    assert repr(DSError("x")) == "DSError('x')"
    assert repr(DSError("x", "http")) == "DSError('x', kind='http')"
    assert repr(DSError("x", "http", 404)) == "DSError('x', kind='http', code=404)"
    assert repr(DSError("x", code=7)) == "DSError('x', kind='error', code=7)"


@pytest.mark.parametrize("bad", ["404", 4.0, True, None])
def test_a_code_that_is_not_an_int_is_refused(bad):
    with pytest.raises(TypeError, match=f"DSError code must be an int, not {type(bad).__name__}"):
        DSError("x", "http", bad)


def test_the_json_form_has_a_code_only_when_it_is_not_zero():
    assert to_jsonable(DSError("x", "k")) == {"error": "x", "kind": "k"}
    assert to_jsonable(DSError("x", "http", 429)) == {"error": "x", "kind": "http", "code": 429}
