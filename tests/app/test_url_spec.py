"""The URL-parameter spec: links parse into widget values, bad values come back as warnings, values round-trip."""
import math
import re

import pytest
from markdown_it import MarkdownIt

from pages._ui import common, explorer_state, ntl_lab_view, qcbnn_gen_view, qcbnn_train_view, tour
from pages._ui.url_spec import UrlSpec, choice, choices, flag, integer, number, text, whole
from tests.app.page_text import shown

SPEC = UrlSpec(
    integer("p_n", "n", 1, 6), number("p_x", "x", 0.1, round(math.pi, 2), decimals=2), choice("p_c", "c", ("a", "b")),
    choice("p_bs", "bs", (16, 32), whole), choices("p_l", "l", ("ce", "was")), flag("p_f", "f"),
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
    assert len(warnings) == 1 and f"{name}={raw!r}" in shown(warnings[0]) and expect in shown(warnings[0])


ALL_SPECS = [ntl_lab_view.URL, qcbnn_gen_view.URL, qcbnn_train_view.URL, explorer_state.URL, common.SEED_URL,
             tour.TOUR_URL]
NASTY = ["²", "٣", "9" * 40, "9" * 5000, "[Your account expired](https://example.com)", "![t](https://e.com/t.png)",
         "<img src=x onerror=alert(1)>", ":red[alert]", "$x^2$", "\n# heading", "1.23456", "1,,2", "0,0", "-0", "1e309"]


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: ",".join(s.params)[:40])
def test_no_value_raises_and_every_refusal_is_plain_text(spec):
    """Issue 22: ``?tour=²`` raised in ``int()``; Markdown in a value rendered as a link or a remote image."""
    md = MarkdownIt("commonmark")
    for p in spec.params.values():
        for raw in NASTY:
            values, warnings = spec.parse({p.name: raw})
            if warnings:
                html = md.render(warnings[0])
                assert not re.search(r"<(a|img|em|strong|h\d|code)\b", html), (p.name, raw, html)
                assert "://" not in warnings[0] and len(shown(warnings[0])) < 400
            else:  # accepted: the value it stands for, not a nearby one
                written = p.encode(values[p.key]).split(",")
                assert p.name in ("number", "lr", "probs") or [float(v) for v in raw.split(",")] == [
                    float(v) for v in written], (p.name, raw)


@pytest.mark.parametrize("raw, why", [("1.255", "more than 2 decimal place"), ("2.71828", "more than 2 decimal")])
def test_a_value_off_the_sliders_grid_is_refused_not_rounded(raw, why):
    """Rounding ``x=3.14159`` to 3.14 in silence showed a value the link did not ask for."""
    values, warnings = SPEC.parse({"x": "1.2"})
    assert values == {"p_x": 1.2} and not warnings
    values, warnings = SPEC.parse({"x": raw})
    assert "p_x" not in values and why in shown(warnings[0])


@pytest.mark.parametrize("raw", ["ce,,was", "ce,ce", "ce,", ",ce"])
def test_a_list_with_empty_or_repeated_items_is_refused_not_cleaned(raw):
    values, warnings = SPEC.parse({"l": raw})
    assert "p_l" not in values and "each at most once" in shown(warnings[0])


@pytest.mark.parametrize("raw", ["²", "9" * 40, "9" * 5000, "-1", "abc", "1.5"])
def test_a_bad_seed_is_warned_about_not_read_as_zero(raw):
    """Issue 22: 147 bad ``seed`` values silently became 0."""
    values, warnings = common.SEED_URL.parse({"seed": raw})
    assert not values and "seed=" in shown(warnings[0]) and "a whole number from 0 to 2147483647" in shown(warnings[0])


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
