"alloy_vib_explain: attributions, summary and plots for a saved model; one-line errors on bad input."

import json, shutil
import pandas as pd, pytest
from conftest import run, one_line_error
from alloy_vib.data import load_hardness_data, formula_from_fractions

PNG = b'\x89PNG\r\n\x1a\n'


def check_complete(out, tol=1.0):
    """Every alloy's attributions (from the CSV) add up to prediction − baseline prediction (from the JSON) within tol
    HV."""
    a, s = pd.read_csv(out / 'attributions.csv'), json.loads((out / 'summary.json').read_text())
    for i, al in enumerate(s['alloys']):
        rows = a[(a.formula == al['formula']) & (a.load == al['load'])]
        assert abs(rows.attribution.sum() - al['sum_attributions']) < 1e-3
        assert abs(al['sum_attributions'] - (al['prediction'] - al['baseline_prediction'])) < tol, al
        assert abs(al['delta']) < tol
    return a, s


@pytest.fixture(scope='module')
def explained_formula(small_model, tmp_path_factory):
    out = tmp_path_factory.mktemp('explain') / 'one'
    r = run('alloy_vib_explain', '--model', small_model, '--formula', 'Fe41B35Nb24', '--load', '0.01', '--out', out)
    assert r.returncode == 0, r.stderr
    return out, r


def test_formula_writes_folder(explained_formula, small_model):
    out, r = explained_formula
    assert sorted(p.name for p in out.iterdir()) == [
        'attention.png',
        'attention_epochs.png',
        'attributions.csv',
        'ig_001_B35Fe41Nb24.png',
        'summary.json',
        'training_curves.png',
    ]
    for p in out.glob('*.png'):
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 5000, p
    a, s = check_complete(out)
    elements = json.loads((small_model / 'model.json').read_text())['elements']
    assert list(a.columns) == ['formula', 'load', 'feature', 'attribution', 'spread', 'networks_agree']
    assert list(a.feature) == elements + ['load'] and set(a.formula) == {'B35Fe41Nb24'}
    # the default reference: the alloy's own elements in equal parts at 9.807 N; bars only for its elements and the load
    assert (
        set(a[a.attribution != 0].feature) <= {'B', 'Fe', 'Nb', 'load'}
        and a[a.feature == 'load'].attribution.item() > 0
    )
    assert s['baseline']['kind'] == "the alloy's own elements in equal parts" and s['baseline']['load'] == 9.807
    assert s['alloys'][0]['baseline'] == 'B33.33Fe33.33Nb33.33'
    assert (
        r.stdout.strip()
        .splitlines()[-1]
        .startswith("explained 1 alloy(s) against the alloy's own elements in equal parts at 9.807 N")
    )


def test_prediction_matches_predict(explained_formula, small_model, tmp_path):
    s = json.loads((explained_formula[0] / 'summary.json').read_text())
    r = run(
        'alloy_vib_predict',
        '--model',
        small_model,
        '--formula',
        'Fe41B35Nb24',
        '--load',
        '0.01',
        '--out',
        tmp_path / 'p.csv',
    )
    assert r.returncode == 0, r.stderr
    assert abs(pd.read_csv(tmp_path / 'p.csv').hv_pred.item() - s['alloys'][0]['prediction']) < 0.1


def test_input_table_reference_load(small_model, tmp_path):
    inp = tmp_path / 'in.csv'
    pd.DataFrame({'formula': ['Fe41B35Nb24', 'Zr65Cu17.5Al7.5Ni10', 'Fe41B35Nb24'], 'load': [0.01, 1.0, 0.5]}).to_csv(
        inp, index=False
    )
    out = tmp_path / 'exp'
    r = run(
        'alloy_vib_explain',
        '--model',
        small_model,
        '--input',
        inp,
        '--baseline_load',
        '1',
        '--baseline',
        'mean',
        '--out',
        out,
    )
    assert r.returncode == 0, r.stderr
    names = {p.name for p in out.iterdir()}
    assert {
        'ig_global.png',
        'ig_001_B35Fe41Nb24.png',
        'ig_002_Al7.5Cu17.5Ni10Zr65.png',
        'ig_003_B35Fe41Nb24.png',
    } <= names
    a, s = check_complete(out)
    load_attr = a[a.feature == 'load'].attribution.to_numpy()
    assert load_attr[0] != 0 and load_attr[1] == 0 and load_attr[2] != 0  # only alloys not at 1 N get load attribution
    assert [al['baseline_load'] for al in s['alloys']] == [1.0, 1.0, 1.0]


def test_given_baseline_and_data_fallback(small_model, small_csv, tmp_path):
    # a model without a stored training mean whose recorded training table is gone: --baseline mean
    # needs --data (models from train_vib carry the mean in meta['x_mean'])
    moved = tmp_path / 'model'
    shutil.copytree(small_model, moved)
    info = json.loads((moved / 'model.json').read_text())
    info['meta']['source'] = str(tmp_path / 'gone.csv')
    assert info['meta'].pop('x_mean') is not None
    (moved / 'model.json').write_text(json.dumps(info))
    args = [
        'alloy_vib_explain',
        '--model',
        moved,
        '--formula',
        'Fe41B35Nb24',
        '--load',
        '0.01',
        '--baseline_load',
        'same',
    ]
    assert '--data' in one_line_error(run(*args, '--baseline', 'mean', '--out', tmp_path / 'e0'))
    assert not (tmp_path / 'e0').exists()
    r = run(*args, '--baseline', 'Fe80B20', '--out', tmp_path / 'e1')
    assert r.returncode == 0, r.stderr
    a, s = check_complete(tmp_path / 'e1')
    assert s['baseline'] == {
        'formula': 'B20Fe80',
        'kind': 'given composition',
        'load': 'same as each alloy',
        'described': 'B20Fe80 at the same load',
    }
    assert set(a[a.attribution != 0].feature) <= {'B', 'Fe', 'Nb'}  # only the elements that change
    r = run(*args, '--baseline', 'mean', '--data', small_csv, '--out', tmp_path / 'e2')
    assert r.returncode == 0, r.stderr
    d = load_hardness_data(small_csv)
    _, s2 = check_complete(tmp_path / 'e2')
    assert s2['baseline']['formula'] == formula_from_fractions(d.X.mean(0), d.elements)
    assert s2['baseline']['kind'] == 'training-mean composition'


@pytest.mark.parametrize(
    'args, expected',
    [
        (['--formula', 'Fe50Pu50', '--load', '1'], "'Pu' is not in the model's vocabulary"),
        (['--load', '1'], 'exactly one of --formula or --input'),
        (['--formula', 'Fe41B35Nb24', '--input', 'x.csv', '--load', '1'], 'exactly one of --formula or --input'),
        (['--formula', 'Fe41B35Nb24'], 'pass load'),
        (['--input', '/nonexistent/in.csv'], '/nonexistent/in.csv: no such file'),
        (['--formula', 'Fe41B35Nb24', '--load', '1', '--baseline', 'Fe50Pu50'], "'Pu'"),
        (
            ['--formula', 'Fe41B35Nb24', '--load', '1', '--baseline_load', 'HV1'],
            "--baseline_load must be 'reference', 'same' or a load in N",
        ),
        (['--formula', 'Fe41B35Nb24', '--load', '1', '--baseline_load', '-2'], 'load must be a finite positive number'),
    ],
)
def test_bad_input(small_model, tmp_path, args, expected):
    out = tmp_path / 'out'
    assert expected in one_line_error(run('alloy_vib_explain', '--model', small_model, *args, '--out', out))
    assert not out.exists()


def test_bad_model(tmp_path):
    assert 'no such model folder' in one_line_error(
        run(
            'alloy_vib_explain',
            '--model',
            tmp_path / 'nope',
            '--formula',
            'Fe80B20',
            '--load',
            '1',
            '--out',
            tmp_path / 'o',
        )
    )
    assert '--model DIR is required' in one_line_error(
        run('alloy_vib_explain', '--formula', 'Fe80B20', '--out', tmp_path / 'o')
    )
    assert 'not a saved alloy_vib model' in one_line_error(
        run('alloy_vib_explain', '--model', tmp_path, '--formula', 'Fe80B20', '--load', '1', '--out', tmp_path / 'o')
    )
