# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Training with the Number Token Loss
#
# Cross-entropy (CE) treats the digit tokens `0`–`9` as unrelated classes: predicting `7` when the answer is
# `8` costs as much as predicting `0`. The **Number Token Loss** (Zausinger et al., ICML 2025) adds a term that
# knows digits are numbers — NTL-MSE compares the *expected* digit with the true one, NTL-WAS the whole
# distribution over digits (a Wasserstein distance). The paper reports that CE + NTL makes small language
# models better and more sample-efficient at arithmetic.
#
# Here we check that claim ourselves on a small problem, with the same `ntl_core` calls the app's training
# lab and the `python -m ntl_core train` CLI use:
#
# 1. tokenizers — why one token per digit matters,
# 2. the task — 2-digit addition with answers written least significant digit first,
# 3. CE and CE + NTL-WAS trained side by side (same seed ⇒ same data order and same initial weights),
# 4. what the models answer, and their digit probabilities,
# 5. a small seed comparison with 95 % confidence intervals.
#
# Every number below is computed in this run. At the default small size (used by the test suite) the models
# barely train, so expect no effect; set `NB_FAST=0` for the classroom preset (2000 steps, three seeds —
# a few minutes per run on a laptop CPU). Whether NTL wins there is whatever the run says.

# %%
import os

import pandas as pd
import torch

from labkit.device import describe_device
from ntl_core.comparison import run_comparison, summarize
from ntl_core.history import eval_rows
from ntl_core.lab_plots import curves_figure, digit_heatmaps
from ntl_core.tokenization import build_tokenizer, show_tokens
from ntl_core.training import LOSS_LABELS, PRESETS, TqdmCallback, Trainer

FAST = os.environ.get("NB_FAST", "1") != "0"
if FAST:
    torch.set_num_threads(1)  # the test runner shares two cores between two workers
base = PRESETS["cpu-classroom"]
if FAST:
    base = base.replace(steps=30, batch_size=32, eval_every=10, eval_size=64)
SEEDS = [0, 1] if FAST else [0, 1, 2]
SEED_STEPS = 10 if FAST else base.steps
print(f"device: {describe_device()} | steps per run: {base.steps} | seeds for the comparison: {SEEDS}")

# %% [markdown]
# ## 1. Tokenizers
# NTL needs a probability for each *digit* at each answer position. A digit-level tokenizer gives exactly
# that; a tokenizer with multi-digit number tokens (as many LLMs have) does not — `123` is one opaque token.

# %%
digit_tok, multi_tok = build_tokenizer("digits"), build_tokenizer("multidigit")
for text in ["12345+678=", "What is 1024 - 7?"]:
    print(f"{text!r:24} digits: {show_tokens(digit_tok, text)}")
    print(f"{'':24} multi-digit: {show_tokens(multi_tok, text)}")

# %% [markdown]
# ## 2. The task
# Operands below 100, answers reversed (units first), so every carry depends only on digits already written.
# The *interpolation* split holds out question pairs from the training range; the *extrapolation* split uses
# 3-digit operands, a length the model never sees in training.

# %%
trainer_ce = Trainer(base.replace(loss="ce"))
task = trainer_ce.task
for q, a in trainer_ce.sample_questions(3, "interpolation"):
    print(f"{q:10} answer {a:>4}   written by the model as {task.to_target(a)!r}")
print("extrapolation example:", trainer_ce.sample_questions(1, "extrapolation")[0])

# %% [markdown]
# ## 3. CE against CE + NTL-WAS, side by side
# Both trainers use the same seed, hence the same batches in the same order and the same initial weights;
# the only difference is the loss (λ = 0.3 as in the paper).

# %%
trainers = {"ce": trainer_ce, "was": Trainer(base.replace(loss="was"))}
for name, tr in trainers.items():
    bar = TqdmCallback(base.steps, desc=LOSS_LABELS[name])
    tr.callbacks.append(bar)
    tr.step(base.steps)
    bar.close()
curves_figure({name: tr.history for name, tr in trainers.items()})

# %%
last_eval = {name: eval_rows(tr.history, "interpolation")[-1] for name, tr in trainers.items()}
final = pd.DataFrame({LOSS_LABELS[name]: last_eval[name] | {"steps/s": tr.steps_per_second}
                      for name, tr in trainers.items()}).T
final[["exact_match", "digit_acc", "mae", "r2", "steps/s"]].round(3)

# %% [markdown]
# ## 4. What do the models answer?
# Greedy answers on held-out questions, and for one question the probability each model puts on every digit
# at every answer position (rows in the order the model writes them: units first).

# %%
questions = trainer_ce.sample_questions(8, "interpolation")
pd.DataFrame({"question": [q for q, _ in questions], "true": [a for _, a in questions],
              **{LOSS_LABELS[n]: tr.predict([q for q, _ in questions]) for n, tr in trainers.items()}})

# %%
question, answer = questions[0]
digit_heatmaps({name: tr.answer_digit_probs(question) for name, tr in trainers.items()},
               question, task.to_target(answer))

# %% [markdown]
# ## 5. Several seeds
# One run proves little: initialisation and data order move the result. We train both losses on several
# seeds and report mean ± 95 % confidence interval (Student t) and the paired difference NTL − CE per seed.

# %%
results = run_comparison(base, ["ce", "was"], SEEDS, SEED_STEPS)
report = summarize(results)
rows = []
for loss, splits in report["summary"].items():
    for split, metrics in splits.items():
        rows.append({"loss": LOSS_LABELS[loss], "split": split,
                     **{m: f"{s['mean']:.3f} ± {s['ci95']:.3f}" for m, s in metrics.items()}})
pd.DataFrame(rows)

# %%
diff = report["paired_vs_ce"]["was"]["interpolation"]["exact_match"]
verdict = ("higher" if diff["mean_diff"] > 0 else "lower" if diff["mean_diff"] < 0 else "equal")
print(f"CE + NTL-WAS minus CE, interpolation exact match: {diff['mean_diff']:+.3f} ± {diff['ci95']:.3f} "
      f"(better on {diff['wins']} of {diff['n']} seeds, paired t-test p = {diff['p_value']:.3f})")
print(f"→ in this run NTL's exact match is {verdict} on average; "
      + ("the interval excludes 0." if abs(diff["mean_diff"]) > diff["ci95"] else "the interval includes 0, so no clear effect."))

# %% [markdown]
# ## Take-aways
# * NTL only makes sense with digit-level tokens, and it costs almost nothing per step (`benchmarks/train_throughput.py`).
# * Whether it helps depends on the task, the budget and the seed: read the interval, not one run.
# * For more seeds and losses (CE + NTL-MSE, the regression head) use
#   `python -m ntl_core train --task addition --digits 2 --losses ce,was,mse,reg --seeds 0,1,2,3,4 --out runs/add2`,
#   then open `runs/add2` in the app's training lab to replay the curves.
