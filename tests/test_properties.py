"Property tests (hypothesis) of composition parsing and of reading wide tables."
import numpy as np, pandas as pd
from hypothesis import given, settings, strategies as st, HealthCheck
from alloy_vib.data import parse_formula, formula_from_fractions, load_hardness_data, composition_matrix

ELEMENTS = ['Al', 'B', 'Co', 'Cr', 'Cu', 'Fe', 'Nb', 'Ni', 'Si', 'Ti', 'W', 'Zr']

@st.composite
def compositions(draw):
    "A composition over 1–6 distinct elements with positive integer at.% amounts (as a lab would write them)."
    els = draw(st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=6, unique=True))
    amts = draw(st.lists(st.integers(1, 60), min_size=len(els), max_size=len(els)))
    return dict(zip(els, amts))

@given(compositions())
def test_formula_round_trip(comp):
    total = sum(comp.values())
    fr = {e: a/total for e, a in comp.items()}
    s = formula_from_fractions(fr, decimals=6)
    back = parse_formula(s)
    assert set(back) == set(fr)
    assert all(abs(back[e] - fr[e]) < 1e-6 for e in fr)
    assert abs(sum(back.values()) - 1) < 1e-12

@given(compositions(), st.floats(0.985, 1.015))
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_wide_table_renormalised(tmp_path, comp, scale):
    "Rows within 2 % of summing to one are renormalised, and their formulas match the fractions."
    total = sum(comp.values())
    row = {e: scale*a/total for e, a in comp.items()}
    f = tmp_path/'t.csv'
    pd.DataFrame([{**row, 'Load': 0.5, 'HV': 500.0}]).to_csv(f, index=False)
    d = load_hardness_data(f)
    assert abs(d.X.sum() - 1) < 1e-12 and (d.X > 0).all()
    # the canonical formula keeps 2 decimals of at.% (±5e-5 per fraction); parsing renormalises the rounded amounts,
    # which moves each fraction by at most k·5e-5 more (k elements)
    k = len(d.elements)
    assert np.abs(composition_matrix(d.formulas, d.elements) - d.X).max() <= 5e-5*(k + 1) + 1e-12
