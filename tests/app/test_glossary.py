"""Every glossary term a page asks for is defined (a missing one would raise on the page)."""
from pages._ui.glossary import GENERATOR_TERMS, GLOSSARY, NTL_TERMS, TRAINING_TERMS, glossary_markdown


def test_page_terms_are_defined_once():
    for terms in (NTL_TERMS, GENERATOR_TERMS, TRAINING_TERMS):
        assert len(set(terms)) == len(terms)
        text = glossary_markdown(terms)
        assert text.count("\n- ") == len(terms) - 1
        assert all(f"**{term}**: {GLOSSARY[term]}" in text for term in terms)
