"""Issue 11 fuzz tests (hypothesis): formula parsing and table reading either give clean, finite data or a one-line
ValueError."""

import tempfile
from pathlib import Path
import numpy as np, pandas as pd
from hypothesis import given, example, settings, strategies as st, HealthCheck
from pymatgen.core import Element
from alloy_vib.data import parse_formula, load_hardness_data, default_data_path, HV_RANGE, LOAD_RANGE

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SYMBOLS = [e.symbol for e in Element]
ODD = [
    '',
    '0',
    '0.0',
    '-0',
    '-1',
    '-0.5',
    '1e400',
    '-1e400',
    '1e-400',
    '1e308',
    'nan',
    'NaN',
    'inf',
    '-inf',
    '1e3',
    '2.5E2',
    '.5',
    '5.',
    '0.000001',
    '1_0',
    '1e',
    'e5',
]

amounts = st.one_of(
    st.integers(-5, 200).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(ODD)
)
parts = st.builds(lambda s, a: s + a, st.sampled_from(SYMBOLS), amounts)
groups = st.builds(lambda ps, a: '(' + ''.join(ps) + ')' + a, st.lists(parts, min_size=1, max_size=3), amounts)
formulas = st.builds(
    lambda ps, sep: sep.join(ps),
    st.lists(st.one_of(parts, parts, groups), min_size=1, max_size=5),
    st.sampled_from(['', ' ']),
)


def check_fractions(s):
    """parse_formula(s) raises ValueError or returns finite fractions ≥ 0 summing to 1; any other exception fails the
    test."""
    try:
        fr = parse_formula(s)
    except ValueError:
        return
    assert isinstance(fr, dict) and all(isinstance(k, str) for k in fr), fr
    v = np.array(list(fr.values()), dtype=float)
    assert np.isfinite(v).all() and (v >= 0).all() and abs(v.sum() - 1) <= 1e-9, (s, fr)


@FUZZ
@given(st.text(max_size=60))
def test_parse_formula_random_text(s):
    "Issue 11 case 3: parse_formula on random text: ValueError or finite fractions summing to 1."
    check_fractions(s)


@FUZZ
@given(formulas)
@example('Fe1e400B1')  # the reproduction: an amount that overflows to inf
@example('Fe1e308B1e308')  # finite amounts whose sum overflows
def test_parse_formula_near_valid(s):
    """Issue 11 case 3: parse_formula on element symbols with odd amounts (0, negative, 1e400, nan, exponents,
    parentheses)."""
    check_fractions(s)


# --- tables -----------------------------------------------------------------------------------------------------------

DATA = pd.read_csv(default_data_path(), dtype=str, keep_default_na=False)
HEADER = list(DATA.columns)  # 56 element columns, Load, HV
CELLS = [
    '',
    ' ',
    'nan',
    'NaN',
    'inf',
    '-inf',
    'Infinity',
    '-0.1',
    '-1',
    '0',
    '1.5',
    '100',
    '1e400',
    '-1e400',
    '1e-400',
    'abc',
    '1e30',
    '1e-9',
    '1e4',
    '10000.5',
    '1e-4',
    '1000',
    '1000.5',
    'Fe',
    '"',
    ',',
    '1,5',
    '0x10',
    '1_000',
    '١',
    '\t',
    'NA',
    'None',
]
HEAD_CELLS = ['', 'Qq', 'nb', 'fe', 'Fe', 'HV', 'Load', 'load', 'formula', 'X', ' Fe', 'Fe ', 'B', '"']


def check_table(path):
    """load_hardness_data(path) raises ValueError/FileNotFoundError with one line naming the path, or returns finite
    data."""
    try:
        d = load_hardness_data(str(path))
    except (ValueError, FileNotFoundError) as e:
        msg = str(e)
        assert len(msg.strip().splitlines()) == 1 and str(path) in msg, msg[:2000]
        return
    assert np.isfinite(d.X).all() and np.isfinite(d.y).all(), d
    assert d.load is None or np.isfinite(d.load).all(), d
    # issue 30 item 5: what is accepted lies in the documented physical ranges, HV in (0, 1e4] and load in [1e-4, 1e3] N
    assert ((d.y > HV_RANGE[0]) & (d.y <= HV_RANGE[1])).all(), d
    assert d.load is None or ((d.load >= LOAD_RANGE[0]) & (d.load <= LOAD_RANGE[1])).all(), d


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from(['.csv', '.txt', '.xlsx']))
def test_load_random_bytes(data, suffix):
    """Issue 11 case 2: load_hardness_data on a file of random bytes: a one-line ValueError naming the file, or finite
    data."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f'fuzz{suffix}'
        p.write_bytes(data)
        check_table(p)


@FUZZ
@given(
    rows=st.lists(st.integers(0, len(DATA) - 1), min_size=1, max_size=6),
    cells=st.lists(
        st.tuples(
            st.integers(0, 5), st.integers(0, len(HEADER) - 1), st.one_of(st.sampled_from(CELLS), st.text(max_size=6))
        ),
        max_size=4,
    ),
    heads=st.lists(st.tuples(st.integers(0, len(HEADER) - 1), st.sampled_from(HEAD_CELLS)), max_size=2),
)
@example(rows=[0], cells=[(0, HEADER.index('Load'), 'inf')], heads=[])  # an infinite load cell
@example(rows=[0, 1], cells=[(1, HEADER.index('HV'), '1e30')], heads=[])  # issue 30 item 5: absurd hardness
@example(rows=[0], cells=[(0, HEADER.index('Load'), '1e-9')], heads=[])  # issue 30 item 5: absurd load
def test_load_mutated_real_rows(rows, cells, heads):
    """Issue 11 case 2: real rows of the default data with mutated cells and header names: one-line ValueError naming
    the file, or finite data."""
    header, table = list(HEADER), [list(DATA.iloc[i]) for i in rows]
    for j, v in heads:
        header[j] = v
    for i, j, v in cells:
        if i < len(table):
            table[i][j] = v
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / 'mutated.csv'
        p.write_text('\n'.join(','.join(r) for r in [header, *table]) + '\n')
        check_table(p)
