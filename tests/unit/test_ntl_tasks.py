"""Arithmetic generators and the question/answer file loader."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ntl_core.tasks import ArithmeticTask, FileTask, load_qa_file, reverse_digits

_QUESTION = re.compile(r"(\d+)([-+*])(\d+)=")


def _solve(question: str) -> tuple[int, int, int]:
    """Independent check: parse the operands and compute with Python's own operators."""
    a, op, b = _QUESTION.fullmatch(question).groups()
    a, b = int(a), int(b)
    return a, b, {"+": a + b, "-": a - b, "*": a * b}[op]


@given(st.integers(-10**15, 10**15))
def test_reverse_digits_is_an_involution_and_keeps_the_sign(n):
    s = str(n)
    r = reverse_digits(s)
    assert reverse_digits(r) == s
    assert r.startswith("-") == (n < 0)
    assert r.lstrip("-") == s.lstrip("-")[::-1]


def test_reverse_digits_examples_and_non_integers():
    assert reverse_digits("120") == "021"
    assert reverse_digits("-45") == "-54"
    assert reverse_digits("True") == "True"
    assert reverse_digits("1/2") == "1/2"


@pytest.mark.parametrize("operation", ["addition", "subtraction", "multiplication"])
@pytest.mark.parametrize("digits", [1, 2, 3])
def test_answers_are_correct_and_operands_in_range(operation, digits):
    task = ArithmeticTask(operation, digits, reverse=True, test_size=64)
    for q, ans in task.sample_train(np.random.default_rng(0), 200):
        a, b, value = _solve(q)
        assert ans == str(value)
        assert 0 <= a < 10**digits and 0 <= b < 10**digits
    for q, ans in task.test_set("extrapolation"):
        a, b, value = _solve(q)
        assert ans == str(value)
        assert len(str(a)) == len(str(b)) == digits + 1  # an operand length never trained on


def test_training_never_sees_interpolation_pairs():
    task = ArithmeticTask("addition", 2, test_size=256)
    held_out = {q for q, _ in task.test_set("interpolation")}
    assert len(held_out) == 256
    train = {q for q, _ in task.sample_train(np.random.default_rng(1), 20_000)}
    assert not held_out & train
    # 20 000 uniform draws from the other 9 744 pairs cover 9 744·(1 − e^(−20000/9744)) ≈ 8 494 of them
    assert 8_200 < len(train) < 8_800


def test_interpolation_set_is_capped_for_tiny_pools():
    task = ArithmeticTask("addition", 1, test_size=256)
    assert len(task.test_set("interpolation")) == 20  # a fifth of the 100 pairs


def test_sampling_is_reproducible_and_test_sets_do_not_depend_on_the_run_seed():
    task = ArithmeticTask("multiplication", 2)
    assert task.sample_train(np.random.default_rng(5), 50) == task.sample_train(np.random.default_rng(5), 50)
    assert task.sample_train(np.random.default_rng(5), 50) != task.sample_train(np.random.default_rng(6), 50)
    assert ArithmeticTask("multiplication", 2).test_set("interpolation") == task.test_set("interpolation")


def test_targets_reverse_only_when_asked():
    assert ArithmeticTask(reverse=True).to_target("-120") == "-021"
    assert ArithmeticTask(reverse=False).to_target("-120") == "-120"
    assert ArithmeticTask(reverse=True).from_target("021") == "120"


def test_limits_and_scale():
    task = ArithmeticTask("multiplication", 2)
    assert task.value_scale == 99 * 99
    assert task.max_answer_chars == len(str(999 * 999))
    assert ArithmeticTask("subtraction", 2).max_answer_chars == len("-999")


@pytest.mark.parametrize("kwargs, message", [
    (dict(operation="division"), "unknown operation"),
    (dict(digits=0), "digits"),
    (dict(digits=13), "digits"),
    (dict(test_size=0), "test_size"),
])
def test_invalid_task_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ArithmeticTask(**kwargs)


def test_unknown_split_raises():
    with pytest.raises(ValueError, match="unknown split"):
        ArithmeticTask().test_set("validation")


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_qa_file_pairs_lines(tmp_path):
    path = _write(tmp_path, "t.txt", "What is 2 + 3?\n5\nSolve x - 1 = 0.\n1\n")
    assert load_qa_file(path) == [("What is 2 + 3?", "5"), ("Solve x - 1 = 0.", "1")]


@pytest.mark.parametrize("text, message", [
    ("q1\na1\nq2\n", "line 3 is a question without an answer"),
    ("q1\n\nq2\na2\n", "line 2 is empty"),
    ("", "empty"),
])
def test_load_qa_file_rejects_malformed_files_with_line_numbers(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_qa_file(_write(tmp_path, "bad.txt", text))


def test_load_qa_file_rejects_missing_and_binary_files(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        load_qa_file(tmp_path / "missing.txt")
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ValueError, match="cannot read"):
        load_qa_file(binary)


def test_file_task_holds_out_the_tail_and_samples_the_rest(tmp_path):
    lines = "".join(f"What is {i} + 1?\n{i + 1}\n" for i in range(50))
    task = FileTask(str(_write(tmp_path, "train.txt", lines)), test_size=5)
    held_out = task.test_set("interpolation")
    assert [a for _, a in held_out] == ["46", "47", "48", "49", "50"]
    train = task.sample_train(np.random.default_rng(0), 300)
    assert not {q for q, _ in held_out} & {q for q, _ in train}
    assert task.value_scale == 45.0
    with pytest.raises(ValueError, match="no extrapolation file"):
        task.test_set("extrapolation")
