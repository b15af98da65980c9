"Command-line tools: alloy_vib_train and alloy_vib_predict, happy paths and one-line errors."

import json, subprocess
import pandas as pd, pytest
from conftest import run, one_line_error


@pytest.mark.parametrize(
    'prog, args, expected',
    [
        ('alloy_vib_train', ['--data', '{bad}', '--out', '{tmp}/m'], 'row 3'),
        ('alloy_vib_predict', ['--formula', 'Fe41B35Nb24', '--out', '{tmp}/p.csv'], '--model DIR is required'),
        ('alloy_vib_evaluate', ['--data', '{bad}', '--out', '{tmp}/e.json'], 'row 3'),
        ('alloy_vib_explain', ['--formula', 'Fe41B35Nb24', '--out', '{tmp}/x'], '--model DIR is required'),
        ('alloy_vib_design', ['--target', '2000', '--out', '{tmp}/d.csv'], '--model'),
    ],
)
def test_console_scripts_in_a_fresh_process(tmp_path, prog, args, expected):
    """Each installed command, started as a real new process (the other tests fork an already-imported one): one error
    line."""
    bad = tmp_path / 'bad.csv'
    bad.write_text('Fe,B,Load,HV\n0.5,0.5,1,300\n0.5,0.6,1,300\n')
    r = subprocess.run(
        [prog, *[a.format(bad=bad, tmp=tmp_path) for a in args]], capture_output=True, text=True, cwd=tmp_path
    )
    assert expected in one_line_error(r), r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bad.csv']


def test_train_writes_whole_folder(small_model):
    files = sorted(p.name for p in small_model.iterdir())
    assert files == ['attention.csv', 'history.csv', 'metrics.json', 'model.json', 'weights.pt']
    m = json.loads((small_model / 'metrics.json').read_text())
    for phase in ('train', 'valid'):
        assert set(m[phase]) == {'mae', 'rmse', 'r2'}
    assert m['failed_networks'] == {} and m['n_models'] == 2  # no network failed, none dropped
    hist = pd.read_csv(small_model / 'history.csv')
    assert {'model', 'epoch', 'train_loss', 'beta', 'train_kl', 'lr', 'best_epoch'} <= set(hist.columns)
    assert (
        sorted(hist.model.unique()) == [0, 1] and 'valid_loss' not in hist
    )  # no hold-out (the default): no validation curve


def test_train_summary_line(small_csv, tmp_path):
    r = run(
        'alloy_vib_train',
        '--data',
        small_csv,
        '--out',
        tmp_path / 'm',
        '--epochs',
        3,
        '--quiet',
        '--seed',
        2,
        '--n_models',
        1,
    )
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith('trained 1 network(s) on 225 alloys') and 'MAE' in last and 'R²' in last


def test_train_failure_leaves_no_folder(tmp_path):
    bad = tmp_path / 'bad.csv'
    bad.write_text('Fe,B,Load,HV\n0.5,0.5,1,300\n0.5,0.6,1,300\n')
    r = run('alloy_vib_train', '--data', bad, '--out', tmp_path / 'm', '--epochs', 2)
    assert 'row 3' in one_line_error(r)
    assert not (tmp_path / 'm').exists() and list(tmp_path.iterdir()) == [bad]


def test_predict_formula(small_model):
    r = run('alloy_vib_predict', '--model', small_model, '--formula', 'Fe41B35Nb24', '--load', '0.01')
    assert r.returncode == 0, r.stderr
    header, row = r.stdout.strip().splitlines()[-2:]
    assert header.split()[0] == 'formula' and header.split()[-1] == 'hv_pred'
    assert row.split()[0] == 'B35Fe41Nb24' and float(row.split()[-1]) > 0


def test_predict_input_csv_with_load_column(small_model, tmp_path):
    inp = tmp_path / 'in.csv'
    pd.DataFrame({'formula': ['Fe41B35Nb24', 'Zr65Cu17.5Al7.5Ni10'], 'load': [0.01, 1.0]}).to_csv(inp, index=False)
    out = tmp_path / 'pred.csv'
    r = run('alloy_vib_predict', '--model', small_model, '--input', inp, '--out', out)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out)
    assert list(df.formula) == ['B35Fe41Nb24', 'Al7.5Cu17.5Ni10Zr65'] and list(df.load) == [0.01, 1.0]
    assert df.columns[-1] == 'hv_pred' and (df.hv_pred > 0).all()


@pytest.mark.parametrize(
    'args, expected',
    [
        (['--formula', 'Fe50Pu50', '--load', '1'], "'Pu' is not in the model's vocabulary"),
        (['--formula', 'Fe41B35Nb24'], 'pass load'),
        (['--formula', 'Fe41B35Nb24', '--load', '-2'], 'positive'),
        (['--load', '1'], 'exactly one of --formula or --input'),
        (['--formula', 'Fe-B!!', '--load', '1'], 'cannot parse formula'),
        (['--input', '/nonexistent/in.csv', '--load', '1'], '/nonexistent/in.csv: no such file'),
    ],
)
def test_predict_errors(small_model, args, expected):
    assert expected in one_line_error(run('alloy_vib_predict', '--model', small_model, *args))


def test_predict_bad_input_row_named(small_model, tmp_path):
    inp = tmp_path / 'in.csv'
    inp.write_text('formula,load\nFe41B35Nb24,0.01\nFe40Xx60,0.01\n')
    msg = one_line_error(run('alloy_vib_predict', '--model', small_model, '--input', inp))
    assert str(inp) in msg and 'row 3' in msg and "'Xx'" in msg


def test_predict_missing_model(tmp_path):
    msg = one_line_error(
        run('alloy_vib_predict', '--model', tmp_path / 'nothing', '--formula', 'Fe41B35Nb24', '--load', '1')
    )
    assert 'not a saved alloy_vib model' in msg
    assert 'required' in one_line_error(run('alloy_vib_predict', '--formula', 'Fe41B35Nb24'))


# --- Issue 30 items 7, 8, 11: outputs rounded to their meaning, carrying their load; weak networks reported --------


def _is_rounded(s, decimals):
    return bool((s.dropna() == s.dropna().round(decimals)).all())


def test_predict_outputs_rounded(small_model, tmp_path):
    """Issue 30 item 7: predict --input and --formula give HV to 0.1, distance to 4 significant digits, load_gap to 0.01
    decade (no -0.0 or 1e-09)."""
    inp = tmp_path / 'in.csv'
    pd.DataFrame({'formula': ['Fe41B35Nb24', 'Zr65Cu17.5Al7.5Ni10', 'Fe41B35Nb24'], 'load': [0.01, 1.0, 2.94]}).to_csv(
        inp, index=False
    )
    r = run('alloy_vib_predict', '--model', small_model, '--input', inp, '--out', tmp_path / 'p.csv')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path / 'p.csv')
    assert list(df.load) == [0.01, 1.0, 2.94]  # each row carries its load
    for c in ('hv_pred', 'hv_std', 'hv_lo', 'hv_hi'):
        assert _is_rounded(df[c], 1), df[c]
    assert _is_rounded(df.load_gap, 2) and (df.distance == df.distance.map(lambda v: float(f'{v:.4g}'))).all(), df
    assert 'e-' not in (tmp_path / 'p.csv').read_text() and '-0.0' not in (tmp_path / 'p.csv').read_text()
    r = run('alloy_vib_predict', '--model', small_model, '--formula', 'Fe41B35Nb24', '--load', 2.94)
    header, row = r.stdout.strip().splitlines()[-2:]
    cells = dict(zip(header.split(), row.split()))
    assert (
        cells['load'] == '2.94'
        and len(cells['hv_pred'].split('.')[-1]) <= 1
        and float(cells['hv_pred']) == float(df.hv_pred[2])
    )


def test_metrics_json_rounded(small_model):
    "Issue 30 item 7: metrics.json holds MAE and RMSE to 0.1 and R² to 0.001."
    m = json.loads((small_model / 'metrics.json').read_text())
    for phase in ('train', 'valid'):
        assert m[phase]['mae'] == round(m[phase]['mae'], 1) and m[phase]['rmse'] == round(m[phase]['rmse'], 1)
        assert m[phase]['r2'] == round(m[phase]['r2'], 3)
    assert m['weak_networks'] == {}


def test_weak_network_reported(small_csv, tmp_path, monkeypatch, capsys):
    """Issue 30 item 11: a weak network (as `weak_networks` names it) is dropped, named (numbered from 1) in the summary
    line and in metrics.json."""
    import alloy_vib.train as T
    from alloy_vib.cli import train_cli

    why = "training MAE 58.0, 1.39× the others' median 41.8"
    monkeypatch.setattr(T, 'weak_networks', lambda mae, **kw: {2: why} if len(mae) == 3 else {})
    train_cli(data=str(small_csv), out=str(tmp_path / 'm'), epochs=2, n_models=3, quiet=True)
    m = json.loads((tmp_path / 'm' / 'metrics.json').read_text())
    assert m['weak_networks'] == {'3': why} and m['n_models'] == 2, m
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith('trained 2 of 3 network(s)') and f'network 3/3 dropped (weak: {why})' in last, last
