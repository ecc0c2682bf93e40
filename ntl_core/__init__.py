"""Number Token Loss (NTL): losses, data, models and training for the teaching app.

No Streamlit in here: pages, notebooks and the CLI all call these functions.
"""
from ntl_core.fused import CEWithNTL, CEWithNTLOutput
from ntl_core.fused_linear import FusedLinearCEWithNTL
from ntl_core.losses import NTLoss, NTLossDotProduct, shift_for_causal_lm
from ntl_core.number_level import NumberLevelLoss
from ntl_core.number_tokens import NumberTokenTable

__all__ = [
    "CEWithNTL",
    "CEWithNTLOutput",
    "FusedLinearCEWithNTL",
    "NTLoss",
    "NTLossDotProduct",
    "NumberLevelLoss",
    "NumberTokenTable",
    "shift_for_causal_lm",
]
