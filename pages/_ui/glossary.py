"""Plain-language glossary of the jargon on the pages, shown in an expander (one entry per term).

Pages pick the terms they use: ``glossary_expander(NTL_TERMS)``. A term is defined once here, so
the same word means the same thing on every page.
"""
from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

GLOSSARY: dict[str, str] = {
    "logit": "The raw score z_k a model outputs for each token before softmax; only differences between logits matter.",
    "softmax": "Turns logits into probabilities: p_k = e^{z_k} / Σ_j e^{z_j}. Positive, sum to 1.",
    "temperature T": "Logits are divided by T before softmax: T < 1 sharpens the distribution, T > 1 flattens it.",
    "expected value ŷ": "The mean digit of the distribution, Σ_k k·p_k: the number the model 'means' on average.",
    "cross-entropy (CE)": "−log p(true digit). Reads one probability only, so every wrong digit costs the same.",
    "Number Token Loss (NTL)": "A loss added to CE that knows digits are numbers: a near miss costs less than a far one.",
    "NTL-MSE / MAE / Huber": "NTL on the expected value: (ŷ − y)², |ŷ − y|, or Huber (squared near 0, linear far away).",
    "NTL-WAS": "Wasserstein-1 distance between the distribution and the true digit: Σ_k p_k·|k − y|, the average "
               "distance of a draw from the truth. Zero only when all mass is on the true digit.",
    "gradient": "∂loss/∂z_k: how the loss changes when logit k rises. A training step moves each logit opposite to it.",
    "sMAPE": "Symmetric mean absolute percentage error |N̂ − N| / (|N̂| + |N|), between 0 and 1; the number-level loss.",
    "place value": "A digit's weight in its number (hundreds = 100). Digit-level losses ignore it; number-level "
                   "losses do not.",
    "qubit": "The quantum bit. Measuring n qubits gives one of 2ⁿ bitstrings, with probabilities set by the circuit.",
    "circuit layer": "One round of single-qubit rotations followed by entangling gates; more layers, more expressive.",
    "rotation gate (RX/RY/RZ)": "Turns a qubit's state by an angle; the angles are the circuit's trainable parameters.",
    "entangling gate (CNOT)": "Flips one qubit depending on another, so the qubits' outcomes become correlated.",
    "noise z": "Random classical numbers fed into the circuit (as rotation angles) so that each draw differs.",
    "Born rule": "Quantum measurement: bitstring b comes out with probability |amplitude_b|². Here: exact "
                 "probabilities, no sampling noise.",
    "shots": "How many times the circuit is measured; more shots, less sampling noise in the estimated probabilities.",
    "bin + jitter": "Turns one measured bitstring into a weight: the bitstring picks a bin, uniform noise places "
                    "the weight inside it.",
    "implicit density": "Weights you can sample but whose probability density has no formula (the plain Born "
                        "machine): the KL term to the prior can then only be estimated, here adversarially.",
    "semi-implicit (SIVI)": "Each weight gets its own Gaussian jitter on top of the circuit's output, so the weights "
                            "have a density everywhere; SIVI (Yin & Zhou, 2018) bounds the KL term from above.",
    "prior": "The weight distribution a Bayesian model assumes before seeing data (here a standard normal).",
    "skewness": "Asymmetry of a distribution: 0 for a symmetric one, positive when the long tail points right.",

    "ELBO": "Evidence lower bound, the Bayesian training objective: expected log-likelihood of the data under weight "
            "draws minus the KL term. We minimise −ELBO per example.",
    "KL": "Kullback–Leibler divergence KL(q‖p) between the learned weight distribution q and the prior p = N(0, 1): "
          "how far the weights moved from what we assumed before seeing data. Closed form for the BNN; an upper "
          "bound (SIVI) for semi-implicit generators; a learned discriminator's estimate for the Born machine.",
    "β": "Weight of the KL term; it rises linearly from 0 to 1 during the warm-up epochs so the model first learns "
         "to fit the data.",
    "ansatz": "The fixed layout of a parametrised circuit: which rotations, which entangling gates, how many layers. "
              "Training changes only the angles.",
    "CRX": "Controlled RX rotation: rotates the target qubit about the x-axis by a learnable angle only when the "
           "control qubit is |1⟩ — a learnable entangling gate (a CNOT is a fixed one).",
    "Born machine": "A circuit used as a generative model: the probabilities |amplitude|² (Born rule) of its "
                    "measurement outcomes are the distribution. Here they are mapped to network weights.",
    "ECE": "Expected calibration error: the size-weighted mean gap between confidence and accuracy over confidence "
           "bins (the reliability diagram). 0 = perfectly calibrated.",
    "entropy vs mutual information": "Predictive entropy is the total uncertainty of the averaged prediction. Its "
                                     "part that comes from disagreement between weight draws is the mutual "
                                     "information (epistemic: more data would reduce it); the rest, the expected "
                                     "entropy, is noise in the data itself (aleatoric). A deterministic CNN has "
                                     "mutual information 0.",
    "error-detection AUROC": "Probability that a random wrong prediction is more uncertain than a random right one "
                             "(0.5 = chance, 1 = perfect); the threshold-free version of the uncertainty gap.",
}

NTL_TERMS: tuple[str, ...] = ("logit", "softmax", "temperature T", "expected value ŷ", "cross-entropy (CE)",
                              "Number Token Loss (NTL)", "NTL-MSE / MAE / Huber", "NTL-WAS", "gradient", "sMAPE",
                              "place value")
GENERATOR_TERMS: tuple[str, ...] = ("qubit", "circuit layer", "rotation gate (RX/RY/RZ)", "entangling gate (CNOT)",
                                    "noise z", "Born rule", "shots", "implicit density", "semi-implicit (SIVI)",
                                    "bin + jitter", "prior", "skewness")
TRAINING_TERMS: tuple[str, ...] = ("ELBO", "KL", "β", "ansatz", "CRX", "Born machine", "semi-implicit (SIVI)", "prior",
                                   "ECE", "entropy vs mutual information", "error-detection AUROC")


def glossary_markdown(terms: Sequence[str]) -> str:
    """Markdown bullet list of ``terms`` (KeyError for a term not in ``GLOSSARY``: add it there)."""
    return "\n".join(f"- **{term}**: {GLOSSARY[term]}" for term in terms)


def glossary_expander(terms: Sequence[str]) -> None:
    """A closed "Glossary" expander with the given terms."""
    with st.expander("Glossary: the words on this page"):
        st.markdown(glossary_markdown(terms))
