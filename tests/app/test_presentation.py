"""Presentation for a class: test-only presets are not offered to students."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ntl_core.presets import PRESETS, STUDENT_PRESETS, TEST_PRESETS

LAB = str(Path(__file__).resolve().parents[2] / "pages" / "ntl_training_lab.py")


def test_lab_offers_no_test_preset_unless_a_link_asks_for_it():
    assert TEST_PRESETS and TEST_PRESETS <= set(PRESETS) and not TEST_PRESETS & set(STUDENT_PRESETS)
    at = AppTest.from_file(LAB, default_timeout=120).run()
    assert not at.exception
    assert not TEST_PRESETS & set(at.selectbox(key="lab_preset").options)
    linked = AppTest.from_file(LAB, default_timeout=120)
    linked.query_params["preset"] = "tiny"
    linked.run()
    assert linked.selectbox(key="lab_preset").value == "tiny"  # the CI/test links keep working
