"Shared fixtures: small real-data tables and a quickly trained model (few epochs) for command-line tests."
import subprocess
from pathlib import Path
import pandas as pd, pytest
from alloy_vib.data import load_hardness_data, default_data_path

def run(*args, **kw):
    "Run a console script; returns CompletedProcess with text output."
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)

def one_line_error(r, code=None):
    "The one stderr line of a failed command `r` (from `run`): exit 1 or 2 (or `code`), no traceback, at most 400 characters, starting with `prog: error: `."
    assert r.returncode == code if code is not None else r.returncode in (1, 2), (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr[-4000:]
    assert len(lines[0]) <= 400, f"{len(lines[0])} characters: {lines[0][:1000]}"
    prog = Path(str(r.args[0])).name
    assert lines[0].startswith(f'{prog}: error: '), lines[0]
    return lines[0]

@pytest.fixture(scope='session')
def mmg():
    return load_hardness_data()

@pytest.fixture(scope='session')
def small_csv(tmp_path_factory, mmg):
    "Every third row of the real default data, written in wide form (the format of the default file)."
    df = pd.read_csv(default_data_path())
    p = tmp_path_factory.mktemp('data')/'small.csv'
    df.iloc[::3].to_csv(p, index=False)
    return p

@pytest.fixture(scope='session')
def small_model(tmp_path_factory, small_csv):
    "A model trained for a few epochs by the command-line tool itself."
    out = tmp_path_factory.mktemp('models')/'m'
    r = run('alloy_vib_train', '--data', small_csv, '--out', out, '--epochs', 8, '--n_models', 2, '--quiet')
    assert r.returncode == 0, r.stderr
    return out
