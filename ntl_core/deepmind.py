"""DeepMind Mathematics tasks, generated locally by DeepMind's own generator (PyPI ``mathematics-dataset``).

The NTL paper evaluates on DeepMind Mathematics (Saxton et al., 2019). Nothing is downloaded: the generator
package writes the questions here, deterministically from a seed, and the sets are cached on disk as
question/answer text files (the layout :func:`ntl_core.tasks.load_qa_file` reads).

Modules offered (:data:`MODULES`): those whose answers are one number written as an integer or a decimal —
``arithmetic__add_or_sub``, ``arithmetic__add_sub_multiple``, ``arithmetic__mul``, ``numbers__round_number``,
``numbers__place_value``. Left out on purpose: ``arithmetic__div`` and ``arithmetic__mixed`` answer with
fractions (``-3/28``), whose digits carry no place value a digit-level regression could use; the other
modules answer with words, lists or expressions.

Splits follow the generator: training questions at a chosen difficulty (``easy``/``medium``/``hard`` are the
generator's three thirds of the training entropy range, ``all`` the whole range), ``interpolation`` from the
generator's ``test()`` modules (the same kinds of question, at a fixed entropy inside the training range) and
``extrapolation`` from its ``test_extra()`` modules (bigger numbers or longer expressions than in training).
Any test question that also occurs in the training set is dropped, so the splits are disjoint.
"""
from __future__ import annotations

import hashlib
import os
import random
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ntl_core.tasks import SPLITS, Pair, _WritesAnswers, load_qa_file

MODULES: dict[str, str] = {
    # name → its extrapolation module in the generator's test_extra()
    "arithmetic__add_or_sub": "arithmetic__add_or_sub_big",
    "arithmetic__add_sub_multiple": "arithmetic__add_sub_multiple_longer",
    "arithmetic__mul": "arithmetic__mul_big",
    "numbers__round_number": "numbers__round_number_big",
    "numbers__place_value": "numbers__place_value_big",
}
# What a student reads in the task picker.
MODULE_LABELS: dict[str, str] = {
    "arithmetic__add_or_sub": "add or subtract two numbers (integers and decimals)",
    "arithmetic__add_sub_multiple": "add and subtract several integers, with brackets",
    "arithmetic__mul": "multiply two numbers (integers and decimals)",
    "numbers__round_number": "round a number (to a power of ten or decimal places)",
    "numbers__place_value": "name one digit of a number (its place value)",
}
TASK_PREFIX = "dm:"
DIFFICULTIES = {"easy": (0, 3), "medium": (1, 3), "hard": (2, 3), "all": (0, 1)}
DEFAULT_TRAIN_SIZE = 50_000
MAX_TRAIN_SIZE = 500_000  # ~0.3 ms a question: a bigger set would take minutes to generate once
DATA_SEED = 20190402  # fixed: every run seed trains and is scored on the same questions (paired runs)
# The generator's own limits (generate_settings.py): longer questions/answers are dropped and redrawn.
MAX_QUESTION_CHARS, MAX_ANSWER_CHARS = 160, 30
_FORMAT = "v1"  # bump when the generation below changes: cached files of an old format are not reused


class GeneratorUnavailable(ValueError):
    """The ``mathematics-dataset`` package cannot be imported; the message says how to get it."""


def _patch_sympy() -> None:
    """``mathematics_dataset`` 1.0.1 imports ``base_solution_linear`` from ``sympy.solvers.diophantine``,
    which newer sympy moved to ``sympy.solvers.diophantine.diophantine``: put it back where it is looked for."""
    import sympy.solvers.diophantine  # noqa: F401  (the package; its attribute of the same name is a function)

    package = sys.modules["sympy.solvers.diophantine"]
    if not hasattr(package, "base_solution_linear"):
        from sympy.solvers.diophantine.diophantine import base_solution_linear

        package.base_solution_linear = base_solution_linear


def generator_modules():
    """The generator's ``arithmetic`` and ``numbers`` module families (imports it, with the sympy shim).

    Raises:
        GeneratorUnavailable: the package (or sympy) is missing or fails to import.
    """
    try:
        _patch_sympy()
        from mathematics_dataset.modules import arithmetic, numbers
    except Exception as exc:  # ImportError, or an AttributeError from a sympy the shim does not know
        raise GeneratorUnavailable(
            "DeepMind Mathematics tasks need DeepMind's generator: pip install mathematics-dataset==1.0.1 "
            f"(it is in requirements.txt; import failed: {type(exc).__name__}: {exc}). Every other task works without it."
        ) from None
    return {"arithmetic": arithmetic, "numbers": numbers}


def generator_version() -> str:
    """The installed generator's version (part of the cache key)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mathematics-dataset")
    except PackageNotFoundError:
        return "unknown"


def example_questions(name: str, n: int = 3) -> list[Pair]:
    """The first ``n`` interpolation questions of a module, as a student would read them (the same stream the
    task's interpolation set starts with)."""
    return generate(name, "interpolation", n, DATA_SEED + 1)


def check_module(name: str) -> str:
    """``name`` if it is an offered module, else ``ValueError`` listing them."""
    if name not in MODULES:
        raise ValueError(f"unknown DeepMind module {name!r}; choose one of {tuple(MODULES)}")
    return name


def _module_fn(name: str, regime: str, difficulty: str):
    family, _, key = name.partition("__")
    fam = generator_modules()[family]
    if regime == "train":
        lower, parts = DIFFICULTIES[difficulty]

        def entropy(range_, lo=lower / parts, hi=(lower + 1) / parts):
            return range_[0] + lo * (range_[1] - range_[0]), range_[0] + hi * (range_[1] - range_[0])

        return fam.train(entropy)[key]
    if regime == "interpolation":
        return fam.test()[key]
    return fam.test_extra()[MODULES[name].partition("__")[2]]


def generate(name: str, regime: str, n: int, seed: int = DATA_SEED, difficulty: str = "all") -> list[Pair]:
    """``n`` question/answer pairs from the generator, deterministic in ``(name, regime, n, seed, difficulty)``.

    Python's and numpy's global random states (which the generator draws from) are saved and restored, so
    generating never disturbs the caller's streams.

    Args:
        name: a key of :data:`MODULES`.
        regime: ``"train"``, ``"interpolation"`` or ``"extrapolation"``.
        n: number of pairs.
        seed: the generator's seed.
        difficulty: for ``"train"``: ``"easy"``, ``"medium"``, ``"hard"`` or ``"all"``.
    """
    check_module(name)
    if regime not in ("train", *SPLITS):
        raise ValueError(f"regime must be 'train', 'interpolation' or 'extrapolation', got {regime!r}")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {tuple(DIFFICULTIES)}, got {difficulty!r}")
    fn = _module_fn(name, regime, difficulty)
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        pairs: list[Pair] = []
        while len(pairs) < n:
            problem = fn()
            q, a = str(problem.question), str(problem.answer)
            if len(q) <= MAX_QUESTION_CHARS and len(a) <= MAX_ANSWER_CHARS:
                pairs.append((q, a))
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return pairs


def cache_dir() -> Path:
    """Where generated sets are kept: ``$NTL_DATA_CACHE`` or ``~/.cache/ntl_core/deepmind``."""
    return Path(os.environ.get("NTL_DATA_CACHE") or Path.home() / ".cache" / "ntl_core" / "deepmind")


def cached(name: str, regime: str, n: int, seed: int = DATA_SEED, difficulty: str = "all") -> list[Pair]:
    """:func:`generate`, read from the cache when the same set was made before (written atomically)."""
    tag = f"{name}|{regime}|{n}|{seed}|{difficulty if regime == 'train' else '-'}|{generator_version()}|{_FORMAT}"
    path = cache_dir() / f"{name}-{regime}-{hashlib.sha256(tag.encode()).hexdigest()[:16]}.txt"
    if path.is_file():
        try:
            pairs = load_qa_file(path)
            if len(pairs) == n:
                return pairs
        except ValueError:
            pass  # a damaged cache file is regenerated
    pairs = generate(name, regime, n, seed, difficulty)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text("".join(f"{q}\n{a}\n" for q, a in pairs), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full cache costs regeneration time, not correctness
    return pairs


@dataclass(frozen=True)
class DeepMindTask(_WritesAnswers):
    """A DeepMind Mathematics module as a task (see the module docstring for the splits).

    Attributes:
        module: a key of :data:`MODULES`.
        difficulty: training difficulty, ``"easy"``, ``"medium"``, ``"hard"`` or ``"all"``.
        train_size: size of the fixed training set (sampled with replacement by :meth:`sample_train`).
        test_size: questions per held-out split.
        reverse: write integer answers least significant digit first (decimals are never reversed).
    """

    module: str = "arithmetic__add_or_sub"
    difficulty: str = "all"
    train_size: int = DEFAULT_TRAIN_SIZE
    test_size: int = 256
    reverse: bool = False

    splits = SPLITS

    def __post_init__(self) -> None:
        check_module(self.module)
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {tuple(DIFFICULTIES)}, got {self.difficulty!r}")
        if not 1 <= self.train_size <= MAX_TRAIN_SIZE:
            raise ValueError(f"train_size must be 1..{MAX_TRAIN_SIZE:,}, got {self.train_size}")
        generator_modules()  # a clear error now, not at the first batch

    @property
    def name(self) -> str:
        return TASK_PREFIX + self.module

    @cached_property
    def _train(self) -> list[Pair]:
        return cached(self.module, "train", self.train_size, DATA_SEED, self.difficulty)

    @cached_property
    def _tests(self) -> dict[str, list[Pair]]:
        seen = {q for q, _ in self._train}
        out = {}
        for i, split in enumerate(SPLITS):
            # Draw extra so that dropping the questions seen in training still leaves test_size of them.
            pool = cached(self.module, split, 2 * self.test_size, DATA_SEED + 1 + i)
            out[split] = [p for p in pool if p[0] not in seen][: self.test_size]
        return out

    def test_set(self, split: str) -> list[Pair]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        return self._tests[split]

    def sample_train(self, rng: np.random.Generator, n: int) -> list[Pair]:
        train = self._train
        return [train[i] for i in rng.integers(0, len(train), size=n)]

    def fixed_train_set(self, size: int) -> list[Pair]:
        """The first ``size`` training pairs (the set itself is generated at :attr:`train_size`)."""
        return self._train[:size]

    @cached_property
    def max_answer_chars(self) -> int:
        return max(len(a) for pairs in (self._train, *self._tests.values()) for _, a in pairs)

    @cached_property
    def value_scale(self) -> float:
        from ntl_core.metrics import parse_number

        values = [abs(v) for _, a in self._train if (v := parse_number(a)) is not None]
        return max(max(values, default=1.0), 1.0)
