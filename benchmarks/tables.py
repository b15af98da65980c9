"""The tables a benchmark runs on. Every benchmark takes `--data`: a path to any table in the shape of ours (a
formula column or element columns, a hardness column, optionally a load column, read by the library's own
`load_hardness_data`), or one of the names of the two real data sets, read from the library's data folder:

    mmg_hardness   the default data (wide element columns, Load, HV)
    mpea           the MPEA data set (FORMULA, target "PROPERTY: HV", no load)

`--target`, `--formula_col` and `--load_col` name the columns of a table given by path (defaults: the library's).
"""

from pathlib import Path
from alloy_vib.data import load_hardness_data, default_data_path

KNOWN = {
    'mmg_hardness': dict(file='mmg_hardness.csv'),
    'mpea': dict(file='mpea_dataset.csv', target='PROPERTY: HV', formula_col='FORMULA', load_col=None),
}


def add_data_args(p, default: str = 'mmg_hardness', many: bool = False):
    "Add `--data` (a path or a known name; comma-separated when `many`) and the column options to an argparse parser."
    what = 'comma-separated paths or names' if many else 'a path or a name'
    p.add_argument(
        '--data', default=default, help=f"table(s) to run on: {what} ({', '.join(KNOWN)}); default {default}"
    )
    p.add_argument('--target', default=None, help='hardness column of a table given by path (default HV)')
    p.add_argument(
        '--formula_col', default=None, help='formula column of a table given by path (default: found by name)'
    )
    p.add_argument(
        '--load_col', default=None, help="load column of a table given by path (default Load; 'none': no load)"
    )


def table_name(spec: str) -> str:
    "The name results are filed under: a known name as it is, a path by its file stem."
    return spec if spec in KNOWN else Path(spec).stem


def load_table(spec: str, target=None, formula_col=None, load_col=None, verbose: bool = False):
    "AlloyData of a known name or a path; the column options apply to paths (a known name carries its own)."
    if spec in KNOWN:
        k = dict(KNOWN[spec])
        path = default_data_path().parent / k.pop('file')
        return load_hardness_data(path, verbose=verbose, **k)
    kw = {k: v for k, v in dict(target=target, formula_col=formula_col).items() if v is not None}
    if load_col is not None:
        kw['load_col'] = None if load_col.lower() == 'none' else load_col
    return load_hardness_data(spec, verbose=verbose, **kw)


def tables_from_args(a) -> dict:
    "{name: AlloyData} for every table named in `a.data` (comma-separated)."
    return {
        table_name(s): load_table(s, a.target, a.formula_col, a.load_col)
        for s in (x.strip() for x in a.data.split(','))
        if s
    }
