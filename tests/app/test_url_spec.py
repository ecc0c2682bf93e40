"""The URL-parameter spec: links parse into widget values, bad values come back as warnings, values round-trip."""
import math

import pytest

from pages._ui import explorer_state, ntl_lab_view, qcbnn_gen_view, qcbnn_train_view
from pages._ui.url_spec import UrlSpec, choice, choices, flag, integer, number, text

SPEC = UrlSpec(
    integer("p_n", "n", 1, 6), number("p_x", "x", 0.1, round(math.pi, 2), decimals=2), choice("p_c", "c", ("a", "b")),
    choice("p_bs", "bs", (16, 32), int), choices("p_l", "l", ("ce", "was")), flag("p_f", "f"),
    text("p_t", "t", lambda raw: raw.strip() or (_ for _ in ()).throw(ValueError("it is empty here")), "some text"),
)


def test_good_values_parse_and_round_trip():
    query = {"n": "6", "x": "3.14", "c": "b", "bs": "32", "l": "ce,was", "f": "0", "t": " hi ", "other": "kept out"}
    values, warnings = SPEC.parse(query)
    assert warnings == []
    assert values == {"p_n": 6, "p_x": 3.14, "p_c": "b", "p_bs": 32, "p_l": ["ce", "was"], "p_f": False, "p_t": "hi"}
    assert SPEC.parse(SPEC.encode(values)) == (values, [])
    assert SPEC.parse({"n": ["2", "5"]})[0] == {"p_n": 2}  # a repeated parameter counts by its first value


@pytest.mark.parametrize("name, raw, expect", [
    ("n", "7", "a whole number from 1 to 6"), ("n", "2.5", "a whole number"), ("n", "٣", "a whole number"),
    ("x", "nan", "a number from 0.1 to 3.14"), ("x", "9", "a number from 0.1 to 3.14"),
    ("c", "z", "one of a, b"), ("bs", "33", "one of 16, 32"), ("l", "ce,mse", "comma-separated list of ce, was"),
    ("l", ",", "comma-separated"), ("f", "yes", "1 or 0"), ("t", "  ", "(it is empty here): expected some text"),
])
def test_each_bad_value_is_skipped_with_a_warning_naming_it(name, raw, expect):
    good = {"c": "a"} if name != "c" else {"n": "3"}
    values, warnings = SPEC.parse({**good, name: raw})
    assert values == SPEC.parse(good)[0]  # the other parameters still apply
    assert len(warnings) == 1 and f"{name}={raw!r}" in warnings[0] and expect in warnings[0]


def test_widgets_and_links_share_the_bounds():
    assert SPEC["p_n"].bounds == (1, 6) and SPEC["p_bs"].options == (16, 32)
    from qcbnn_core.ansatz import MAX_QUBITS
    assert qcbnn_gen_view.URL["gen_qubits"].hi == MAX_QUBITS  # the page's limit is the core's, defined once
    assert qcbnn_gen_view.URL["gen_range"].hi == round(math.pi, 2)


@pytest.mark.parametrize("spec", [ntl_lab_view.URL, qcbnn_gen_view.URL, qcbnn_train_view.URL, explorer_state.URL])
def test_page_specs_have_unique_parameter_names(spec):
    names = [p.name for p in spec.params.values()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("spec", [ntl_lab_view.URL, qcbnn_gen_view.URL, qcbnn_train_view.URL])
def test_widget_keys_of_a_spec_share_the_page_prefix(spec):
    assert len({p.key.split("_")[0] for p in spec.params.values()}) == 1


def test_the_explorer_link_round_trips_its_state():
    state = explorer_state.ExplorerState(target=7, temperature=0.3, logits=[0.5] * 10, probs="1 0 0 0 0 0 0 0 0 0")
    assert explorer_state.parse_query(explorer_state.to_query(state)) == (state, [])
