"""Quantum-classical Bayesian neural networks (QCBNN): circuits, models, training, metrics.

No Streamlit in here: pages, notebooks and the CLI all call these functions.
"""
__all__: list[str] = []
