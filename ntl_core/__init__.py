"""Number Token Loss (NTL): losses, data, models and training for the teaching app.

No Streamlit in here: pages, notebooks and the CLI all call these functions.
"""
from ntl_core.device import describe_device, pick_device

__all__ = ["describe_device", "pick_device"]
