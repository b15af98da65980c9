"alloy_vib_suggest: two rounds on a small real subset, bad results, refused folders, --force, nothing half-written."
import hashlib, re, json, shutil
from pathlib import Path
import numpy as np, pandas as pd, pytest
from conftest import run, one_line_error
from alloy_vib.data import default_data_path

FAST = ['--epochs', 3, '--n_models', 2, '--update_epochs', 2, '--quiet']

def tree(folder: Path) -> dict:
    "Every file under `folder` and its bytes' hash: what must not change when a command fails."
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file()}

@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "The default data's bulk rows (load >= 0.49 N): every third composition hidden as the pool, the rest measured."
    d = tmp_path_factory.mktemp('lab')
    bulk = pd.read_csv(default_data_path()).query('Load >= 0.49')
    els = [c for c in bulk.columns if c not in ('Load', 'HV')]
    key = bulk[els].round(6).astype(str).agg(','.join, axis=1)
    hide = key.drop_duplicates().iloc[::3]
    known, hidden = bulk[~key.isin(hide)], bulk[key.isin(hide)]
    unseen = [e for e in els if known[e].max() == 0]
    hidden = hidden[(hidden[unseen] == 0).all(axis=1)]   # only elements the model can know
    known.to_csv(d/'measured.csv', index=False); hidden[els].to_csv(d/'pool.csv', index=False)
    return dict(dir=d, data=d/'measured.csv', pool=d/'pool.csv', hidden=hidden, els=els,
                sha=hashlib.sha256((d/'measured.csv').read_bytes()).hexdigest())

@pytest.fixture(scope='module')
def started(lab, tmp_path_factory):
    "A campaign started by the command: round 1 suggested from the pool."
    out = tmp_path_factory.mktemp('c')/'campaign'
    r = run('alloy_vib_suggest', '--data', lab['data'], '--candidates', lab['pool'], '--target', 2000, '--load', 1,
            '--n', 5, '--out', out, *FAST)
    assert r.returncode == 0, r.stderr
    return out, r

def measured(sug: pd.DataFrame, lab) -> pd.DataFrame:
    "The hidden measurements of the suggested alloys (element columns, Load, HV): what the lab would send back."
    H, els = lab['hidden'], lab['els']
    S = sug.reindex(columns=els, fill_value=0.0).to_numpy(float)
    return H[(np.abs(H[els].to_numpy(float)[:, None] - S[None]).max(-1) < 1e-6).any(1)]

def copy_of(started, tmp_path) -> Path:
    c = tmp_path/'campaign'; shutil.copytree(started[0], c); return c


def says_odds(out: str, k: int) -> bool:
    "The round summary names the batch and says what it can of the odds: the best, plainly none, or not checked."
    return re.search(rf"round {k}: 5 suggestions for 2000 HV at 1 N \(\d+ in the domain\); (best odds of 2000 HV|"
                     r"no suggestion( with checked odds)? has a fair chance|the odds of \d of 5 are not checked)",
                     out) is not None

def test_start_writes_the_folder(started, lab):
    out, r = started
    assert sorted(p.name for p in out.iterdir()) == ['campaign.json', 'campaign.png', 'candidates.csv', 'measured.csv',
                                                     'model', 'round_001.csv']
    assert sorted(p.name for p in (out/'model').iterdir()) == ['attention.csv', 'history.csv', 'metrics.json',
                                                               'model.json', 'weights.pt']
    st = json.loads((out/'campaign.json').read_text())
    assert st['format'] == 'alloy_vib-campaign' and st['settings']['target'] == 2000 and st['settings']['load'] == 1
    assert st['rounds'][0]['model_sha256'] == hashlib.sha256((out/'model'/'weights.pt').read_bytes()).hexdigest()
    sug = pd.read_csv(out/'round_001.csv')
    assert len(sug) == 5
    assert {'formula', 'hv_pred', 'hv_lo', 'hv_hi', 'p_target', 'in_domain', 'nearest_formula'} <= set(sug.columns)
    assert [p['formula'] for p in st['pending']] == list(sug.formula)
    assert len(measured(sug, lab)) >= 5            # every suggestion comes from the pool, whose hardness is hidden
    assert says_odds(r.stdout, 1), r.stdout
    assert hashlib.sha256(lab['data'].read_bytes()).hexdigest() == lab['sha'] == st['data']['sha256']  # untouched

def test_two_rounds(started, lab, tmp_path):
    c = copy_of(started, tmp_path)
    r1 = pd.read_csv(c/'round_001.csv')
    measured(r1, lab).to_csv(tmp_path/'round1.csv', index=False)
    r = run('alloy_vib_suggest', '--campaign', c, '--results', tmp_path/'round1.csv', '--quiet')
    assert r.returncode == 0, r.stderr
    st = json.loads((c/'campaign.json').read_text())
    r2 = pd.read_csv(c/'round_002.csv')
    assert len(st['rounds']) == 2 and len(r2) == 5 and not set(r1.formula) & set(r2.formula)
    assert [x['model'] for x in st['rounds']] == ['train_vib', 'update_model']
    assert st['rounds'][1]['model_sha256'] == hashlib.sha256((c/'model'/'weights.pt').read_bytes()).hexdigest()
    assert st['rounds'][1]['model_sha256'] != st['rounds'][0]['model_sha256']
    assert all(x['suggested_in'] == 1 for x in st['results']) and len(st['results']) == len(measured(r1, lab))
    assert [p['formula'] for p in st['pending']] == list(r2.formula)     # round 1 measured: only round 2 pending
    assert len(pd.read_csv(c/'measured.csv')) == st['data']['rows'] + len(st['results'])
    assert 'never suggested' not in r.stdout and says_odds(r.stdout, 2), r.stdout
    # a result nobody suggested is accepted and flagged; a pending alloy is never suggested again
    (tmp_path/'round2.csv').write_text('formula,Load,HV\nCo50Fe50,1,300\n')
    r = run('alloy_vib_suggest', '--campaign', c, '--results', tmp_path/'round2.csv', '--quiet')
    assert r.returncode == 0, r.stderr
    assert '1 of them for alloys this campaign never suggested: Co50Fe50' in r.stdout
    st = json.loads((c/'campaign.json').read_text())
    r3 = pd.read_csv(c/'round_003.csv')
    assert not set(r3.formula) & (set(r2.formula) | set(r1.formula)) and st['results'][-1]['suggested_in'] is None
    assert (tmp_path/'round2.csv').read_text() == 'formula,Load,HV\nCo50Fe50,1,300\n'   # inputs are never rewritten

def test_bad_results_change_nothing(started, tmp_path):
    c = copy_of(started, tmp_path); before = tree(c)
    bad = tmp_path/'bad.csv'; bad.write_text('formula,Load,HV\nB35Co25Re40,1,1900\nCo50Re50,1,hard\n')
    msg = one_line_error(run('alloy_vib_suggest', '--campaign', c, '--results', bad))
    assert str(bad) in msg and 'row 3' in msg and "'HV'" in msg
    bad.write_text('formula,Load,HV\nFe50Pu50,1,900\n')
    assert "'Pu'" in one_line_error(run('alloy_vib_suggest', '--campaign', c, '--results', bad))
    inside = c/'round_009.csv'; inside.write_text('formula,Load,HV\nCo50Fe50,1,300\n')
    msg = one_line_error(run('alloy_vib_suggest', '--campaign', c, '--results', inside))
    assert 'inside the campaign folder' in msg
    inside.unlink()
    assert tree(c) == before and sorted(p.name for p in c.parent.iterdir()) == ['bad.csv', 'campaign']

def test_same_results_twice_refused(started, lab, tmp_path):
    c = copy_of(started, tmp_path)
    (tmp_path/'r.csv').write_text('formula,Load,HV\nCo50Fe50,1,300\n')
    assert run('alloy_vib_suggest', '--campaign', c, '--results', tmp_path/'r.csv', '--quiet').returncode == 0
    before = tree(c)
    msg = one_line_error(run('alloy_vib_suggest', '--campaign', c, '--results', tmp_path/'r.csv'), 2)
    assert 'already recorded in round 1' in msg
    assert tree(c) == before

def test_foreign_folders_refused(started, lab, tmp_path):
    mine = tmp_path/'mine'; mine.mkdir(); (mine/'notes.txt').write_text('keep me')
    args = ['--data', lab['data'], '--target', 2000, '--load', 1, *FAST]
    assert 'did not write' in one_line_error(run('alloy_vib_suggest', *args, '--out', mine, '--force'), 2)
    msg = one_line_error(run('alloy_vib_suggest', '--campaign', mine, '--results', lab['data']), 2)
    assert 'not an alloy_vib campaign folder' in msg
    c = copy_of(started, tmp_path); (c/'notes.txt').write_text('mine')
    msg = one_line_error(run('alloy_vib_suggest', '--campaign', c, '--results', lab['data']), 2)
    assert 'not a folder alloy_vib_suggest wrote' in msg
    msg = one_line_error(run('alloy_vib_suggest', *args, '--out', lab['dir']), 2)   # the data's own folder
    assert 'an input of this run' in msg
    assert (mine/'notes.txt').read_text() == 'keep me' and (c/'notes.txt').exists()

def test_force_replaces_a_campaign(started, lab, tmp_path):
    c = copy_of(started, tmp_path); before = tree(c)
    args = ['--data', lab['data'], '--target', 1800, '--load', 1, '--n', 3, '--out', c, *FAST]
    assert '--force' in one_line_error(run('alloy_vib_suggest', *args), 2)
    assert tree(c) == before
    r = run('alloy_vib_suggest', *args, '--force')
    assert r.returncode == 0, r.stderr
    st = json.loads((c/'campaign.json').read_text())
    assert st['settings']['target'] == 1800 and len(st['rounds']) == 1 and st['candidates'] is None
    assert sorted(p.name for p in c.iterdir()) == ['campaign.json', 'campaign.png', 'measured.csv', 'model',
                                                   'round_001.csv']

@pytest.mark.parametrize('args, expected', [
    (['--target', 2000, '--load', 1], '--out FOLDER is required'),
    (['--out', '{tmp}/c', '--load', 1], '--target is required'),
    (['--out', '{tmp}/c', '--target', 2000], '--load is required'),
    (['--out', '{tmp}/c', '--target', -5, '--load', 1], '--target must be a positive hardness'),
    (['--out', '{tmp}/c', '--target', 2000, '--load', 1, '--acquisition', 'best'], '--acquisition must be one of ei'),
    (['--out', '{tmp}/c', '--target', 2000, '--load', 1, '--min_distance', 'far'], '--min_distance must be'),
    (['--out', '{tmp}/c', '--target', 2000, '--load', 1, '--candidates', '{tmp}/bad_pool.csv'],
     "'Pu' is not in the model's vocabulary"),
    (['--campaign', '{tmp}'], '--results TABLE is required'),
    (['--campaign', '{tmp}', '--results', '{tmp}/r.csv', '--target', 2000],
     '--target applies when starting a campaign'),
])
def test_errors_write_nothing(lab, tmp_path, args, expected):
    (tmp_path/'bad_pool.csv').write_text('formula\nFe50Co50\nFe50Pu50\n')
    r = run('alloy_vib_suggest', '--data', lab['data'], *[str(a).format(tmp=tmp_path) for a in args], *FAST) \
        if '--campaign' not in args else run('alloy_vib_suggest', *[str(a).format(tmp=tmp_path) for a in args])
    msg = one_line_error(r)
    assert expected in msg, msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bad_pool.csv']     # no folder, no temporary left

def test_start_from_a_trained_model_with_novelty(lab, small_model, small_csv, tmp_path):
    "As the main job does: from alloy_vib_train's model, none within the domain's nearest-neighbour threshold."
    r = run('alloy_vib_suggest', '--model', small_model, '--data', small_csv, '--target', 2000, '--load', 1, '--n', 5,
            '--min_distance', 'domain', '--out', tmp_path/'c', '--quiet')
    assert r.returncode == 0, r.stderr
    st = json.loads((tmp_path/'c'/'campaign.json').read_text())
    thr = json.loads((small_model/'model.json').read_text())['meta']['domain']['threshold']
    assert st['rounds'][0]['model'] == 'alloy_vib_train' and st['rounds'][0]['min_distance'] == thr > 0
    sug = pd.read_csv(tmp_path/'c'/'round_001.csv')
    assert len(sug) == 5 and (sug.distance > thr).all() and (sug.source == 'latent').all()
    assert 'p_target' in r.stdout.splitlines()[-7]     # the table (p_target beside each), then one line
    msg = one_line_error(run('alloy_vib_suggest', '--model', small_model, '--data', lab['data'], '--target', 2000,
                             '--load', 1, '--out', tmp_path/'c2'), 2)
    assert 'was trained on another table' in msg and not (tmp_path/'c2').exists()
