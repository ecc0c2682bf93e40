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
# # A quantum-classical Bayesian neural network, end to end
#
# Sakhnenko, Sikora & Lorenz (2024) build a small **Bayesian CNN for breast-ultrasound images** whose
# convolution weights are not fixed numbers but **random draws from a parametrised quantum circuit** fed with
# classical noise. Training is variational inference; the payoff they report is a larger *uncertainty gap*:
# the model is noticeably less sure on the images it gets wrong than on those it gets right — slightly more so
# than a classical Bayesian CNN, which in turn is slightly more accurate.
#
# This notebook walks the whole pipeline with the same `qcbnn_core` calls the app's QCBNN pages use:
#
# 1. the data (a **synthetic** ultrasound phantom by default),
# 2. the circuit and the weights it generates,
# 3. the model and its Monte-Carlo predictions,
# 4. training the QCBNN and a classical Bayes-by-Backprop BNN of the same shape,
# 5. accuracy, calibration and the uncertainty gap with bootstrap confidence intervals.
#
# **What is the paper's and what is ours.** Known from the paper: one conv layer (16 maps, 2×2 kernels) and one
# fully connected layer; conv weights from a noise-injected PQC; variational training with an adversarial
# component; learnable entanglement + constrained rotations work best; the BNN baseline. **Our choices** (the
# full text was not available to us): stride-2 convolution without pooling; a deterministic FC layer and conv
# bias; the affine probability→weight map and the bin+jitter mechanism; the Gaussian prior N(0, 1); the
# discriminator (a 2-hidden-layer MLP, Adversarial Variational Bayes) for the implicit Born-machine density;
# a linear β warm-up; the phantom itself. The numbers below are whatever this run produces — they are
# computed here, not copied from the paper.
#
# Runs in about a minute at the small default size; set `NB_FAST=0` for the full 30-epoch run.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from qcbnn_core import (
    ModelConfig, QuantumWeightGenerator, TqdmCallback, TrainConfig, Trainer, ansatz_preset, build_model, draw_text,
    make_phantom, plots,
)
from qcbnn_core.metrics import UNCERTAINTY_MEASURES

SEED = int(os.environ.get("NB_SEED", "0"))
FAST = os.environ.get("NB_FAST", "1") != "0"
EPOCHS = 3 if FAST else 30
# These tensors are tiny: one CPU thread is faster than several fighting over a shared machine (measured).
torch.set_num_threads(1)
print(f"seed={SEED}, epochs={EPOCHS} ({'small' if FAST else 'full'} run)")

# %% [markdown]
# ## 1. The data: a synthetic ultrasound phantom
#
# BreastMNIST (780 images, 28×28, malignant vs. normal/benign) cannot be downloaded by this app, so the default is a
# **synthetic phantom** with the same split sizes (546/78/156) and class balance (~27 % malignant): speckle
# noise on layered tissue; benign lesions round or oval with smooth margins, wider than tall; malignant lesions
# irregular or spiculated, often taller than wide, with posterior acoustic shadowing. The feature ranges
# overlap on purpose, so a model makes mistakes. (With a local `breastmnist.npz`, use
# `qcbnn_core.load_breastmnist(path)` instead — same code from here on.)

# %%
data = make_phantom(seed=SEED)
print(data.description)
print(data.summary())
examples = data.class_examples("train", per_class=8)
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for c in (0, 1):
    for k in range(8):
        axes[c, k].imshow(examples[c][k, 0], cmap="gray", vmin=0, vmax=1)
        axes[c, k].axis("off")
    axes[c, 0].set_title(data.class_names[c], loc="left", fontsize=9)
fig.suptitle("SYNTHETIC phantom — not patient data", fontsize=10)
plt.show()

# %% [markdown]
# ## 2. The circuit and the weights it generates
#
# Six qubits, three layers: noise `z ~ U[-1, 1]^6` enters as RY(π z) rotations; each layer has RY rotations whose
# angles are constrained to ±π/2 and a ring of **learnable** CRX entanglers (the family the paper reports as
# best). Measuring gives 2⁶ = 64 probabilities; the Born-machine mechanism maps them affinely onto the **64 conv
# weights** (16 kernels of 2×2). Every new `z` gives a new weight vector: a continuous distribution with no
# closed-form density.

# %%
ansatz = ansatz_preset("constrained_crx")
print(ansatz.describe())
print(draw_text(ansatz))

# %%
gen = QuantumWeightGenerator(ansatz, n_weights=64, mechanism="born", seed=SEED)
w = gen.sample(512, torch.Generator().manual_seed(SEED)).detach().numpy()
print("weight draws:", w.shape)
plots.weight_hist_figure({"QCBNN weight 0 (512 draws)": w[:, 0], "QCBNN weight 1": w[:, 1]}, prior_sigma=1.0,
                         title="Two of the 64 weights at initialisation, over 512 noise draws").show()
plots.kernels_figure(w[0].reshape(16, 2, 2), title="One draw = 16 conv kernels (2×2)").show()

# %% [markdown]
# ## 3. The model: one stochastic conv layer, one FC layer, Monte-Carlo predictions
#
# `build_model` wires a generator into the network. A forward pass takes **S weight draws at once**: the image
# patches are multiplied by all S×16 kernels in one matrix product, so predictions come as `(S, N, classes)`.
# The mean over S is the prediction; the spread over S is the model's (epistemic) uncertainty.

# %%
qcbnn = build_model(ModelConfig(kind="qcbnn", ansatz="constrained_crx"), data.input_shape, seed=SEED)
probs = qcbnn.predict_proba(data.test.x[:5], n_samples=16, generator=torch.Generator().manual_seed(SEED))
print("MC probabilities:", tuple(probs.shape), "(draws, images, classes)")
print("p(malignant) of image 0 over the first 8 draws (untrained):", probs[:8, 0, 1].numpy().round(3))

# %% [markdown]
# ## 4. Training: QCBNN against a classical Bayesian CNN of the same shape
#
# Both minimise the negative ELBO per example, `E_q[NLL] + β·KL(q‖p)/N`, with β warmed up linearly.
# The BNN (mean-field Gaussian, Bayes by Backprop with local reparameterisation) has a closed-form KL. The
# QCBNN's Born machine has no density, so a **discriminator** learns `log q(w)/p(w)` from samples and its mean
# estimates the KL (the adversarial component). A deterministic CNN is trained as a reference point.
# Same seed ⇒ same data order, initialisation and weight draws for every model.

# %%
cfg = TrainConfig(epochs=EPOCHS, seed=SEED, n_samples_eval=32 if FAST else 64, n_boot=500 if FAST else 1000)
models = {
    "QCBNN": ModelConfig(kind="qcbnn", ansatz="constrained_crx", mechanism="born"),
    "BNN": ModelConfig(kind="bnn"),
    "CNN": ModelConfig(kind="cnn"),
}
trainers = {}
for name, mc in models.items():
    trainers[name] = Trainer(data, mc, cfg, callbacks=[TqdmCallback(desc=name)])
    trainers[name].fit()
plots.curves_figure({name: tr.history for name, tr in trainers.items()}).show()

# %% [markdown]
# ## 5. Accuracy, calibration and the uncertainty gap (test split)
#
# * **ECE**: expected calibration error over 10 confidence bins (reliability diagram below).
# * Per image: **predictive entropy** H[mean p] (total uncertainty), **expected entropy** mean H[p_s]
#   (aleatoric), **mutual information** = their difference (epistemic), **std of p(malignant)** over draws.
# * **Uncertainty gap** = mean uncertainty of misclassified images − mean over correct ones, with a bootstrap
#   95 % CI (wrong and right groups resampled separately). A good Bayesian model has a clearly positive gap.
#   The deterministic CNN has no spread over draws, so its MI and std gaps are exactly zero.

# %%
evals = {name: tr.evaluate("test") for name, tr in trainers.items()}
rows = []
for name, ev in evals.items():
    row = {"model": name, **{k: round(v, 4) for k, v in ev.scalars().items() if not k.startswith("gap_")}}
    for m in UNCERTAINTY_MEASURES:
        g = ev.uncertainty_gap[m]
        row[f"gap {m}"] = f"{g.gap:+.3f} [{g.ci_low:+.3f}, {g.ci_high:+.3f}]"
    row["misclassified"] = ev.uncertainty_gap["predictive_entropy"].n_wrong
    rows.append(row)
table = pd.DataFrame(rows).set_index("model")
table

# %%
for measure, label in (("predictive_entropy", "predictive entropy (nats)"), ("mutual_information", "mutual information (nats)")):
    plots.uncertainty_figure(
        {n: ev.per_sample for n, ev in evals.items()},
        {n: vars(ev.uncertainty_gap[measure]) for n, ev in evals.items()}, measure, label).show()
plots.reliability_figure({n: vars(ev.reliability) for n, ev in evals.items()},
                         {n: ev.ece for n, ev in evals.items()}).show()


# %% [markdown]
# ### What this run says (computed, not written in advance)

# %%
def verdict(measure: str) -> str:
    q, b = evals["QCBNN"].uncertainty_gap[measure], evals["BNN"].uncertainty_gap[measure]
    if not (np.isfinite(q.gap) and np.isfinite(b.gap)):
        return f"{measure}: a gap is undefined (a model made no mistakes or no correct predictions)."
    overlap = q.ci_low <= b.ci_high and b.ci_low <= q.ci_high
    larger = "QCBNN" if q.gap > b.gap else "BNN"
    return (f"{measure}: QCBNN gap {q.gap:+.3f} [{q.ci_low:+.3f}, {q.ci_high:+.3f}], BNN gap {b.gap:+.3f} "
            f"[{b.ci_low:+.3f}, {b.ci_high:+.3f}] → larger for the {larger}"
            + (", but the 95% CIs overlap: no clear difference on this test set." if overlap else "; the CIs do not overlap."))


acc_q, acc_b = evals["QCBNN"].accuracy, evals["BNN"].accuracy
print(f"Accuracy: QCBNN {acc_q:.3f}, BNN {acc_b:.3f} (paper: the BNN is slightly more accurate) — "
      f"{'same direction' if acc_b > acc_q else 'not reproduced here'} in this run.")
for m in UNCERTAINTY_MEASURES:
    print(verdict(m))
if FAST:
    print("\nSmall run (NB_FAST unset): a few epochs only — rerun with NB_FAST=0 before drawing conclusions.")

# %% [markdown]
# ## 6. How the weight distribution moved during training
#
# The trainer keeps 256 draws of the 64 conv weights before training and after every epoch
# (`trainer.weight_snapshots`). Here: one weight of the QCBNN and the BNN, first vs. last snapshot.

# %%
q_snap, b_snap = trainers["QCBNN"].weight_snapshots, trainers["BNN"].weight_snapshots
plots.weight_hist_figure({"QCBNN before": q_snap[0][:, 0], "QCBNN after": q_snap[-1][:, 0],
                          "BNN after": b_snap[-1][:, 0]}, prior_sigma=cfg.prior_sigma,
                         title="Weight 0: distribution over draws before and after training").show()

# %% [markdown]
# ## Try next
#
# * `NB_FAST=0` for the full run; change `SEED` and see how much the gaps move between seeds.
# * `ModelConfig(kind="qcbnn", mechanism="bin_jitter")`: a bitstring + uniform jitter per weight has an exact
#   density, so the KL is an exact Monte-Carlo estimate (score-function gradients) instead of a discriminator.
# * Other circuits: `ansatz="ry_cnot"` (fixed entanglement) or `"ryrz_product"` (none) — does the gap change?
# * The same from a shell: `python -m qcbnn_core train --model qcbnn --epochs 30 --seed 0 --out runs/qcbnn`.
