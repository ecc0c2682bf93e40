"""The explorer's client-side instant panel computes exactly what ntl_core.scoring computes.

``pages/_ui/instant/ntl_math.js`` is run in node on the same distributions as ``score_digit``:
every loss, the expected value, the probabilities and every gradient must agree.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ntl_core.scoring import DISTRIBUTION_PRESETS, LOSS_NAMES, preset_logits, presets_for, score_digit

MATH_JS = Path(__file__).resolve().parents[2] / "pages" / "_ui" / "instant" / "ntl_math.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is needed to run the panel's JavaScript")


def _cases() -> list[tuple[list[float], int]]:
    rng = np.random.default_rng(11)
    cases = [(preset_logits(name, t, temp, seed=t).tolist(), t)
             for t in range(10) for name in presets_for(t) for temp in (0.1, 1.0, 5.0)]
    cases += [((4.0 * rng.standard_normal(10)).tolist(), int(rng.integers(10))) for _ in range(40)]
    cases += [([20.0] + [-20.0] * 9, 9), ([0.0] * 10, 0)]  # saturated softmax, uniform
    return cases


def _run_js(cases) -> list[dict]:
    script = (f"const m = require({json.dumps(str(MATH_JS))});"
              "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(cases.map(([z, t]) => m.scoreDigit(z, t))));")
    out = subprocess.run([NODE, "-e", script], input=json.dumps(cases), capture_output=True, text=True, check=True,
                         timeout=60)
    return json.loads(out.stdout)


def test_js_scores_equal_ntl_core_scoring():
    cases = _cases()
    assert {name for name in DISTRIBUTION_PRESETS} <= {n for t in range(10) for n in presets_for(t)}
    for (logits, target), js in zip(cases, _run_js(cases)):
        ref = score_digit(target, logits=logits)
        np.testing.assert_allclose(js["probs"], ref.probs, rtol=1e-9, atol=1e-15)
        assert js["expected"] == pytest.approx(ref.expected, rel=1e-12, abs=1e-12)
        for name in LOSS_NAMES:
            assert js["losses"][name] == pytest.approx(ref.losses[name], rel=1e-9, abs=1e-12), (name, logits, target)
            np.testing.assert_allclose(js["gradients"][name], ref.gradients[name], rtol=1e-7, atol=1e-12,
                                       err_msg=f"{name} {logits} {target}")
