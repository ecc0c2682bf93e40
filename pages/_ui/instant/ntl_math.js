// Client-side twin of ntl_core.scoring for ONE digit distribution: losses, expected value and the
// gradient of each loss with respect to the ten logits, in closed form (no server round-trip).
// tests/unit/test_instant_math.py runs this file in node and compares every number with
// ntl_core.scoring.score_digit, so the browser shows what the library computes.
"use strict";

const KINK_TOL = 1e-9; // |ŷ - y| below this counts as a hit, as in ntl_core.loss_registry
const HUBER_DELTA = 1.0;

function softmax(z) {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return { p: e.map((v) => v / s), lse: m + Math.log(s) };
}

// logits: 10 numbers, target: 0..9. Returns {probs, expected, losses: {label: value}, gradients: {label: [10]}}.
function scoreDigit(logits, target) {
  const { p, lse } = softmax(logits);
  const yhat = p.reduce((a, pj, j) => a + pj * j, 0);
  let err = yhat - target;
  if (Math.abs(err) < KINK_TOL) err = 0;
  const sign = Math.sign(err);
  const dyhat = p.map((pj, j) => pj * (j - yhat)); // ∂ŷ/∂z_j
  const was = p.reduce((a, pj, j) => a + pj * Math.abs(j - target), 0);
  const huberInside = Math.abs(err) <= HUBER_DELTA;
  const losses = {
    "CE": lse - logits[target],
    "NTL-MSE": err * err,
    "NTL-MAE": Math.abs(err),
    "NTL-Huber": huberInside ? 0.5 * err * err : HUBER_DELTA * (Math.abs(err) - 0.5 * HUBER_DELTA),
    "NTL-WAS": was,
  };
  const gradients = {
    "CE": p.map((pj, j) => pj - (j === target ? 1 : 0)),
    "NTL-MSE": dyhat.map((d) => 2 * err * d),
    "NTL-MAE": dyhat.map((d) => sign * d),
    "NTL-Huber": dyhat.map((d) => (huberInside ? err : HUBER_DELTA * sign) * d),
    "NTL-WAS": p.map((pj, j) => pj * (Math.abs(j - target) - was)),
  };
  return { probs: p, expected: yhat, losses, gradients };
}

if (typeof module !== "undefined") module.exports = { scoreDigit, softmax, KINK_TOL };
