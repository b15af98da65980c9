"""Every kind of bad input file named in the foundation issue, through the command-line tool: one line naming file, row,
column."""

import pytest
from conftest import run

CASES = {  # file content -> what the one-line message must contain
    'unknown_column': ('Fe,Qq,Load,HV\n0.5,0.5,1,300\n', ["column 'Qq'", "unknown element symbol 'Qq'"]),
    'unknown_in_formula': ('formula,Load,HV\nFe40B60,1,300\nFe40Xx60,1,300\n', ['row 3', "column 'formula'", "'Xx'"]),
    'unparseable_formula': (
        'formula,Load,HV\nFe40B60,1,300\nFe(B,1,300\n',
        ['row 3', "column 'formula'", 'cannot parse'],
    ),
    'negative_fraction': (
        'Fe,B,Load,HV\n0.5,0.5,1,300\n-0.1,1.1,1,300\n',
        ['row 3', "column 'Fe'", '-0.1', 'negative'],
    ),
    'nan_fraction': (
        'Fe,B,Load,HV\n0.5,0.5,1,300\n0.5,,1,300\n',
        ['row 3', "column 'B'", 'empty cell; expected a fraction'],
    ),
    'sum_off': ('Fe,B,Load,HV\n0.5,0.5,1,300\n0.5,0.53,1,300\n', ['row 3', 'sum to 1.03', '2 %']),
    'load_zero': ('Fe,B,Load,HV\n0.5,0.5,0,300\n', ['row 2', "column 'Load'", 'load 0']),
    'load_missing': ('Fe,B,Load,HV\n0.5,0.5,1,300\n0.5,0.5,,300\n', ['row 3', "column 'Load'"]),
    'target_text': ('Fe,B,Load,HV\n0.5,0.5,1,300\n0.5,0.5,1,hard\n', ['row 3', "column 'HV'", "'hard'"]),
    'empty': ('', ['the file is empty']),
    'header_only': ('Fe,B,Load,HV\n', ['no data rows']),
    'duplicate_columns': ('Fe,B,Fe,Load,HV\n0.5,0.5,0,1,300\n', ["duplicate column name(s) 'Fe'"]),
    'missing_target': ('Fe,B,Load,Hardness\n0.5,0.5,1,300\n', ["target column 'HV' not found"]),
}


@pytest.mark.parametrize('name', list(CASES))
def test_bad_input(tmp_path, name):
    text, expected = CASES[name]
    f = tmp_path / f'{name}.csv'
    f.write_text(text)
    r = run('alloy_vib_train', '--data', f, '--out', tmp_path / 'm', '--epochs', 1, '--quiet')
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr
    for part in [str(f)] + expected:
        assert part in lines[0], (part, lines[0])
    assert not (tmp_path / 'm').exists()


def test_not_a_table(tmp_path):
    f = tmp_path / 'image.csv'
    f.write_bytes(b'\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00\x01binary')
    r = run('alloy_vib_train', '--data', f, '--out', tmp_path / 'm', '--quiet')
    assert r.returncode == 1 and 'not a readable table' in r.stderr and str(f) in r.stderr


def test_excel_and_bom_crlf_accepted(tmp_path, mmg):
    "A UTF-8 BOM with Windows line endings, and an Excel file, both read like the CSV."
    from alloy_vib.data import load_hardness_data

    df = mmg.to_frame().iloc[::40]
    cols = mmg.elements + ['load', 'HV']
    csv = tmp_path / 'bom.csv'
    csv.write_bytes(
        b'\xef\xbb\xbf' + df[cols].rename(columns={'load': 'Load'}).to_csv(index=False).replace('\n', '\r\n').encode()
    )
    xlsx = tmp_path / 't.xlsx'
    df[cols].rename(columns={'load': 'Load'}).to_excel(xlsx, index=False)
    a, b = load_hardness_data(csv), load_hardness_data(xlsx)
    assert a.formulas == b.formulas == list(df.formula) and (a.y == b.y).all()


def test_formula_variants(tmp_path):
    from alloy_vib.data import load_hardness_data

    f = tmp_path / 'f.csv'
    f.write_text('composition,HV\nFe41B35Nb24,1500\nAl0.25 Co1 Fe1 Ni1,140\nAl0.04(CoCrFeMnNi),130\n')
    d = load_hardness_data(f)
    assert d.formulas[0] == 'B35Fe41Nb24' and not d.has_load and len(d.elements) == 8
