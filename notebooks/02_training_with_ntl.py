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
# # Training with the Number Token Loss — over seeds, not anecdotes
#
# Cross-entropy (CE) treats the digit tokens `0`–`9` as unrelated classes: predicting `7` when the answer is
# `8` costs as much as predicting `0`. The **Number Token Loss** (Zausinger et al., ICML 2025) adds a term that
# knows digits are numbers — NTL-WAS compares the whole distribution over digits with the true digit (a
# Wasserstein distance). The paper reports that CE + NTL makes models better and more sample-efficient at
# arithmetic, measured by accuracy **and** by the mean absolute percentage error (MAPE) of the answers.
#
# In this tutorial we
#
# 1. see why NTL needs one token per digit,
# 2. train CE and CE + NTL-WAS on several seeds at once (same seed ⇒ same data order and initial weights),
# 3. read a verdict the way the lab does: the mean and a 95 % confidence interval of the *paired* difference,
# 4. look at what the pre-registered design search found on a CPU budget — including where NTL does not help.
#
# The stored run uses a tiny size (it runs in the test suite), so its own numbers say nothing about NTL; we say
# so where it matters. `NB_FAST=0` trains the `cpu-classroom` preset on its three seeds.

# %%
import os
from pathlib import Path

import pandas as pd
import torch

import ntl_core
from labkit.device import describe_device
from ntl_core.design_search import CONFIRMATION_SEEDS, SELECTION_SEEDS, analyse, expected_outcome, table
from ntl_core.ensemble import SeedEnsemble
from ntl_core.lab_plots import curves_figure, digit_heatmaps
from ntl_core.tokenization import build_tokenizer, show_tokens
from ntl_core.training import LOSS_LABELS, PRESET_INFO
from ntl_core.verdict import compare, steps_until_table

FAST = os.environ.get("NB_FAST", "1") != "0"
torch.set_num_threads(1)  # two runs share two cores in the test runner; one thread each is fastest
preset = PRESET_INFO["cpu-classroom"]
base = preset.config.replace(device="cpu")
if FAST:
    base = base.replace(steps=40, batch_size=32, eval_every=10, eval_size=64)
SEEDS = [0, 1] if FAST else list(preset.seeds)
print(f"preset {preset.id!r}: {preset.label}")
print(f"device: {describe_device()} | steps per run: {base.steps} | seeds: {SEEDS}")


def check(claim: str, holds: bool) -> None:
    """State a claim the numbers must support; stop the notebook if they do not."""
    if not holds:
        raise AssertionError(f"the numbers do not support: {claim}")
    print(f"✓ {claim}")


# %% [markdown]
# ## 1. One token per digit
# NTL needs a probability for each *digit* at each answer position. A digit-level tokenizer gives exactly
# that; a tokenizer with multi-digit number tokens (as many LLMs have) does not — `123` is one opaque token.

# %%
digit_tok, multi_tok = build_tokenizer("digits"), build_tokenizer("multidigit")
for text in ["12*34=", "What is 1024 - 7?"]:
    print(f"{text!r:22} digits: {show_tokens(digit_tok, text)}")
    print(f"{'':22} multi-digit: {show_tokens(multi_tok, text)}")

# %% [markdown]
# ## 2. The task and the runs
# The `cpu-classroom` preset follows the paper where a laptop allows: **multiplication** of operands below 100,
# answers written in normal order, and a **fixed training set** of 3000 pairs cycled for epochs. The
# interpolation split holds out 256 question pairs of the same range, the same for every seed.
#
# A `SeedEnsemble` trains every (loss, seed) pair in lockstep: on a CPU it loops over the models, on a GPU it
# stacks them into one batched model (`torch.func.vmap`) — and we check below that both give the same numbers
# as separate runs would (the unit tests do it to float tolerance).

# %%
ensemble = SeedEnsemble(base, ["ce", "was"], SEEDS)
task = next(iter(ensemble.members.values())).task
for q, a in next(iter(ensemble.members.values())).sample_questions(3):
    print(f"{q:10} answer {a}")
ensemble.step(base.steps)
histories = ensemble.histories()
print(f"trained {len(histories)} runs × {base.steps} steps on {ensemble.device} in {ensemble.train_seconds:.1f} s")
check(f"every run trained {base.steps} steps", all(m.step_count == base.steps for m in ensemble.members.values()))

# %% [markdown]
# The curves show, per loss, the mean over seeds with a band (the 95 % CI of that mean). MAPE and MAE are the
# interpolation split's, each on its own axis — extrapolation errors (one more operand digit) are thousands
# and would flatten them.

# %%
curves_figure(histories, base.steps)

# %% [markdown]
# ## 3. A verdict over seeds
# For each seed we take NTL's MAPE minus CE's (same data, same start), then the mean and a Student-t 95 %
# interval of these differences. The lab reads the same function: it calls NTL "ahead" only when the
# interval excludes 0 — and not at 0 vs 0 exact match, nor when another metric got significantly worse.

# %%
verdict = compare(histories, preset.headline_metric)
for line in verdict.lines:
    print(line)
check("the verdict compares every seed we trained", all(v.n == len(SEEDS) for v in verdict.losses))
if FAST:
    print("(tiny run: whatever the verdict says here is about 40 steps, not about NTL)")

# %% [markdown]
# The paper's sample-efficiency measure is "how long until the relative error is below x %". Seeds that
# never get there within the run are counted, not averaged.

# %%
x = 0.05 if not FAST else 0.5
rows = steps_until_table(histories, x)
pd.DataFrame([{"loss": LOSS_LABELS[loss], f"steps until MAPE < {x:.0%}": r["per_seed"],
               "reached": f"{r['reached']} of {r['n']}", "mean": r["mean"]} for loss, r in rows.items()])

# %% [markdown]
# What one model writes, digit by digit (first seed): the probability of each digit at each answer position.

# %%
question, answer = ensemble.members[("ce", SEEDS[0])].sample_questions(1)[0]
digit_heatmaps({loss: ensemble.members[(loss, SEEDS[0])].answer_digit_probs(question) for loss in ("ce", "was")},
               question, task.to_target(answer))

# %% [markdown]
# ## 4. What the pre-registered search found
# Which CPU setting shows the effect? Instead of trying settings until one "works", we committed a protocol
# first (`docs/ntl_design_search_protocol.md`): eight settings, one factor at a time around the base above
# (addition instead of multiplication, 3-digit operands, reversed answers, fresh samples instead of a fixed set,
# λ = 1, a 4-layer model, no gradient clipping), 1000 steps each, CE vs CE + NTL-WAS, and a rule fixed in
# advance that picks a winner from the selection seeds. The claim is then re-measured on seeds the selection
# never saw. The numbers below are read from the committed raw results, not typed in.

# %%
results = analyse(Path(ntl_core.__file__).resolve().parents[1] / "docs" / "ntl_design_search.json")
print(f"selection seeds {SELECTION_SEEDS}; headline: ln(MAPE_CE / MAPE_WAS) per seed, > 0 = NTL better\n")
print(table(results["selection"]))
print("\nthe rule's choice:", results["choice"])
if results["confirmation"]:
    print(f"\nconfirmation on seeds {CONFIRMATION_SEEDS}:\n")
    print(table(results["confirmation"]))

# %%
choice = results["choice"]
check("the selection covered all eight settings", len(results["selection"]) == 8)
robust = [s["setting"] for s in results["selection"]
          if s["log_mape_ratio"]["mean"] - s["log_mape_ratio"]["ci95"] > 0]
print("settings whose selection interval lies above 0:", robust or "none")
print("winner by the rule:", choice["winner"] or "none — no robust effect at this budget")
for stats in results["confirmation"]:
    print(f"confirmation of {stats['setting']!r} on unseen seeds: NTL vs CE → {expected_outcome(stats)}")
check("the presets claim what the confirmation found",
      all(PRESET_INFO[p].expected == expected_outcome(s) for s in results["confirmation"]
          for p in PRESET_INFO if PRESET_INFO[p].search_setting == s["setting"]))

# %% [markdown]
# So the selection's winner did **not** replicate on unseen seeds: with five seeds the interval of the
# log ratio includes 0. That is the honest result for a CPU budget of 1000 steps — and the reason to
# pre-register a search and confirm on fresh seeds instead of reporting the best-looking setting.

# %% [markdown]
# ## 5. Where the models learn: DeepMind Mathematics and a second study
#
# The NTL paper's data is DeepMind Mathematics. `ntl_core.deepmind` asks DeepMind's own generator
# (`mathematics-dataset`) for the questions, deterministically from a seed; a task is `dm:<module>`
# (`TrainConfig(task="dm:numbers__place_value")`, `--task` on the CLI, the lab's task picker). Here are three
# interpolation questions of two modules, as a model reads them:

# %%
from ntl_core.deepmind import MODULE_LABELS, example_questions

for module in ("numbers__place_value", "arithmetic__add_or_sub"):
    print(f"{module} — {MODULE_LABELS[module]}")
    for q, a in example_questions(module, 3):
        print(f"   {q}  →  {a}")

# %% [markdown]
# A second pre-registered study (`docs/ntl_learned_study_protocol.md`) first calibrates each setting so that CE
# reaches 50 % exact match within five CPU-minutes, then compares CE with CE + NTL-WAS and CE + NTL-MSE there.
# We read its committed runs with the same code the report uses:

# %%
from ntl_core import learned_study

study_runs = learned_study.load(learned_study.RUNS)
for setting, steps in learned_study.budgets(study_runs).items():
    print(f"stage 0 {setting:16s}: " + (f"CE learns; budget {steps} steps" if steps else "CE never reaches 50 % — dropped"))
choice = learned_study.selection(study_runs)
if choice:
    for s in choice["stats"]:
        d = s["d_em"]
        print(f"stage 1 {s['setting']:16s} {s['loss']}: exact match {d['mean']:+.3f} "
              f"[{d['low']:+.3f}, {d['high']:+.3f}] vs CE → {s['verdict']}")
    print("robust effect on the selection seeds:", choice["robust"])
for s in learned_study.confirmation(study_runs):
    done, wanted = s["d_em"]["n"], len(learned_study.CONFIRMATION_SEEDS)
    # A verdict only from all twelve seeds: a partial confirmation must not read like one.
    print(f"stage 2 {s['setting']:16s} {s['loss']}: {done} of {wanted} seeds, exact match {s['d_em']['mean']:+.3f} → "
          + (s["verdict"] if done == wanted else "pending"))

# %% [markdown]
# Where CE does learn (2-digit addition, DeepMind's place-value questions), adding NTL did not show a robust
# gain on the selection seeds either; the confirmation on twelve fresh seeds decides, and the presets carry only
# its verdict. Multiplication and two DeepMind modules did not reach 50 % in five CPU-minutes: the paper's
# regime for them is beyond a classroom CPU.

# %% [markdown]
# ## Take-aways
# * NTL only makes sense with digit-level tokens, and it costs little per step (`benchmarks/train_throughput.py`).
# * Read the interval over seeds, not one run: single seeds flip between "ahead" and "behind".
# * On a CPU budget of 1000 steps the models are still poor at multiplication (2–5 % exact match) and the
#   MAPE differences between CE and CE + NTL are dominated by seed noise; the search's best setting was not
#   confirmed on unseen seeds. `docs/ntl_design_search.md` has the whole table, including the settings where
#   NTL does not help.
# * Re-check any preset's claim on seeds the search never saw:
#   `python -m ntl_core train --preset cpu-classroom --seeds 100,101,102,103,104 --json`
#   (`python -m ntl_core presets --json` lists every preset with its headline metric and expected outcome).
