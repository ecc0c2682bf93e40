"""Streamlit helpers shared by the page scripts (the cores never import Streamlit)."""
