"""Question/answer tasks generated offline: arithmetic with n-digit operands, or local text files.

A task hands out ``(question, answer)`` string pairs with the answer in normal digit order, e.g.
``("12+34=", "46")``. Whether the model *writes* answers reversed (least significant digit first,
which makes carries local) is a property of the task: :meth:`ArithmeticTask.to_target` and
:meth:`~ArithmeticTask.from_target` convert between the two.

Splits (as in the paper's arithmetic experiments):

* ``"train"`` — operands in ``[0, 10**digits)``, minus the interpolation pairs;
* ``"interpolation"`` — held-out pairs from the same operand range as training;
* ``"extrapolation"`` — operands of exactly ``digits + 1`` digits, a length never seen in training.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

OPERATIONS = {"addition": "+", "subtraction": "-", "multiplication": "*"}
_APPLY = {"addition": operator.add, "subtraction": operator.sub, "multiplication": operator.mul}
SPLITS = ("interpolation", "extrapolation")
_INTEGER = re.compile(r"-?\d+")
# One DeepMind Mathematics file (a module at one difficulty) is tens of MB; reading keeps the text and its
# lines in memory (about 4x the file), so a larger file is refused before it is read.
MAX_QA_FILE_BYTES = 256 * 2**20
# The held-out pairs must not depend on the run's seed: runs with different seeds are scored on
# the same questions, so their metrics can be averaged and paired.
SPLIT_SEED = 20250713

Pair = tuple[str, str]


def reverse_digits(answer: str) -> str:
    """Reverse the digits of an integer string, keeping a leading minus sign in front.

    ``"120"`` ↔ ``"021"``, ``"-45"`` ↔ ``"-54"``; non-integers (``"True"``, ``"1/2"``) are returned
    unchanged. The map is its own inverse.
    """
    if not _INTEGER.fullmatch(answer):
        return answer
    sign = "-" if answer.startswith("-") else ""
    return sign + answer[len(sign):][::-1]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")


class _WritesAnswers:
    """How a task's answers are written by the model: reversed digits when ``self.reverse``."""

    reverse: bool

    def to_target(self, answer: str) -> str:
        """How the model writes ``answer`` (reversed digits when ``reverse``)."""
        return reverse_digits(answer) if self.reverse else answer

    def from_target(self, written: str) -> str:
        """Back from the written form to normal digit order."""
        return self.to_target(written)


@dataclass(frozen=True)
class ArithmeticTask(_WritesAnswers):
    """``a <op> b =`` with operands drawn uniformly from ``[0, 10**digits)``.

    Attributes:
        operation: ``"addition"``, ``"subtraction"`` (answers may be negative) or ``"multiplication"``.
        digits: maximal number of digits of a training operand (1–12).
        reverse: the model writes answers least significant digit first.
        test_size: size of each held-out split (interpolation is capped at a fifth of all pairs).
    """

    operation: str = "addition"
    digits: int = 2
    reverse: bool = True
    test_size: int = 256

    splits = SPLITS

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise ValueError(f"unknown operation {self.operation!r}; choose one of {tuple(OPERATIONS)}")
        if not 1 <= int(self.digits) <= 12:
            raise ValueError(f"digits must be between 1 and 12, got {self.digits}")
        if self.test_size < 1:
            raise ValueError(f"test_size must be at least 1, got {self.test_size}")

    def question(self, a: int, b: int) -> str:
        """The prompt for ``a <op> b``, e.g. ``"12+34="``."""
        return f"{a}{OPERATIONS[self.operation]}{b}="

    def answer(self, a: int, b: int) -> str:
        """The true answer in normal digit order, e.g. ``"46"``."""
        return str(_APPLY[self.operation](a, b))

    @property
    def max_answer_chars(self) -> int:
        """Longest answer string over both test splits (sign included), for generation limits."""
        big = 10 ** (self.digits + 1) - 1
        return max(len(self.answer(big, big)), len(self.answer(0, big)))

    @property
    def value_scale(self) -> float:
        """Largest |answer| on training operands; regression targets are divided by it."""
        big = 10**self.digits - 1
        return float(max(abs(int(self.answer(big, big))), abs(int(self.answer(0, big))), 1))

    def _pool_size(self) -> int:
        return (10**self.digits) ** 2

    @cached_property
    def _interpolation_codes(self) -> np.ndarray:
        """Held-out pairs of the training range, encoded as ``a * 10**digits + b`` (random order)."""
        n = min(self.test_size, self._pool_size() // 5)
        rng = np.random.default_rng(SPLIT_SEED)
        if self._pool_size() <= 10**6:
            return rng.choice(self._pool_size(), size=n, replace=False)
        # Pool too large to permute: draw until n distinct pairs, keeping first-drawn order.
        codes: dict[int, None] = {}
        while len(codes) < n:
            codes.update(dict.fromkeys(int(c) for c in rng.integers(0, self._pool_size(), size=n)))
        return np.array(list(codes)[:n], dtype=np.int64)

    def _pairs(self, a: np.ndarray, b: np.ndarray) -> list[Pair]:
        return [(self.question(int(x), int(y)), self.answer(int(x), int(y))) for x, y in zip(a, b)]

    def test_set(self, split: str) -> list[Pair]:
        """The held-out ``(question, answer)`` pairs of ``split`` (same for every run seed)."""
        _check_split(split)
        m = 10**self.digits
        if split == "interpolation":
            codes = self._interpolation_codes
            return self._pairs(codes // m, codes % m)
        rng = np.random.default_rng(SPLIT_SEED + 1)
        a, b = (rng.integers(m, 10 * m, size=self.test_size) for _ in range(2))
        return self._pairs(a, b)

    def sample_train(self, rng: np.random.Generator, n: int) -> list[Pair]:
        """``n`` training pairs drawn uniformly (with replacement) outside the interpolation set.

        Args:
            rng: the run's data generator; the same seed gives the same sequence of batches.
            n: number of pairs.
        """
        m = 10**self.digits
        held_out = self._interpolation_codes
        codes = np.empty(0, dtype=np.int64)
        while codes.size < n:  # rejection sampling; at most a fifth of the pool is held out
            draw = rng.integers(0, m * m, size=2 * n, dtype=np.int64)
            codes = np.concatenate([codes, draw[~np.isin(draw, held_out)]])
        codes = codes[:n]
        return self._pairs(codes // m, codes % m)

    def fixed_train_set(self, size: int) -> list[Pair]:
        """``size`` distinct training pairs outside the interpolation set, the same for every seed.

        The paper trained on a fixed data set for several epochs; a run's seed then changes only
        the initial weights and the order in which these pairs are visited.

        Raises:
            ValueError: if ``size`` exceeds the pairs available outside the interpolation set.
        """
        m = 10**self.digits
        available = m * m - len(self._interpolation_codes)
        if not 1 <= size <= available:
            raise ValueError(f"train_size must be between 1 and {available} for {self.digits}-digit operands, got {size}")
        rng = np.random.default_rng(SPLIT_SEED + 2)
        codes: dict[int, None] = {}
        held_out = set(int(c) for c in self._interpolation_codes)
        while len(codes) < size:
            codes.update(dict.fromkeys(int(c) for c in rng.integers(0, m * m, size=2 * size) if int(c) not in held_out))
        chosen = np.array(list(codes)[:size], dtype=np.int64)
        return self._pairs(chosen // m, chosen % m)


def load_qa_file(path: str | Path) -> list[Pair]:
    """Read a DeepMind-Mathematics-style text file: question and answer on alternating lines.

    Args:
        path: a UTF-8 text file; trailing newlines and surrounding whitespace are ignored.

    Returns:
        ``(question, answer)`` pairs in file order.

    Raises:
        ValueError: if the file cannot be read, is empty, has an odd number of lines or an empty
            line (the message names the 1-based line number).
    """
    file = Path(path)
    try:
        if file.exists() and not file.is_file():  # /dev/zero or a pipe would be read until memory runs out
            raise ValueError(f"question/answer file {path} is not a regular file")
        if file.exists() and file.stat().st_size > MAX_QA_FILE_BYTES:
            raise ValueError(f"question/answer file {path} has {file.stat().st_size:,} bytes; at most "
                             f"{MAX_QA_FILE_BYTES:,} are read")
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read question/answer file {path}: {err}") from err
    lines = text.rstrip("\n").split("\n")
    if lines == [""]:
        raise ValueError(f"{path}: file is empty")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise ValueError(f"{path}: line {number} is empty; expected alternating question/answer lines")
    if len(lines) % 2:
        raise ValueError(f"{path}: line {len(lines)} is a question without an answer line")
    return [(q.strip(), a.strip()) for q, a in zip(lines[::2], lines[1::2])]


@dataclass(frozen=True)
class FileTask(_WritesAnswers):
    """Questions and answers from local files (DeepMind-Mathematics layout).

    Attributes:
        train_path: training file.
        interpolation_path: test file; when ``None``, the last ``test_size`` training pairs
            (at most a fifth of them) are held out instead.
        extrapolation_path: optional test file for the extrapolation split.
        reverse: write integer answers least significant digit first.
        test_size: number of pairs held out from ``train_path`` when there is no interpolation file.
    """

    train_path: str
    interpolation_path: str | None = None
    extrapolation_path: str | None = None
    reverse: bool = False
    test_size: int = 256

    @property
    def splits(self) -> tuple[str, ...]:
        """Held-out splits of this task: extrapolation only with an extrapolation file."""
        return SPLITS if self.extrapolation_path else ("interpolation",)

    def __post_init__(self) -> None:
        train = load_qa_file(self.train_path)  # fail early, with the line number, on bad files
        if self.interpolation_path is None and len(train) < 5:
            raise ValueError(f"{self.train_path}: need at least 5 pairs to hold some out for testing")
        for path in (self.interpolation_path, self.extrapolation_path):
            if path is not None:
                load_qa_file(path)

    @cached_property
    def _train_and_holdout(self) -> tuple[list[Pair], list[Pair]]:
        pairs = load_qa_file(self.train_path)
        if self.interpolation_path is not None:
            return pairs, load_qa_file(self.interpolation_path)
        n = min(self.test_size, len(pairs) // 5)
        return pairs[:-n], pairs[-n:]

    @cached_property
    def max_answer_chars(self) -> int:
        pairs = [p for path in (self.train_path, self.interpolation_path, self.extrapolation_path)
                 if path is not None for p in load_qa_file(path)]
        return max(len(a) for _, a in pairs)

    @cached_property
    def value_scale(self) -> float:
        values = [abs(float(a)) for _, a in self._train_and_holdout[0] if _is_float(a)]
        if not values:
            raise ValueError(f"{self.train_path}: no numeric answers, so a regression head cannot be trained")
        return max(max(values), 1.0)

    def test_set(self, split: str) -> list[Pair]:
        _check_split(split)
        if split == "interpolation":
            return self._train_and_holdout[1]
        if self.extrapolation_path is None:
            raise ValueError("this task has no extrapolation file")
        return load_qa_file(self.extrapolation_path)

    def sample_train(self, rng: np.random.Generator, n: int) -> list[Pair]:
        train = self._train_and_holdout[0]
        return [train[i] for i in rng.integers(0, len(train), size=n)]


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


Task = ArithmeticTask | FileTask
