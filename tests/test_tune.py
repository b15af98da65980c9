"""alloy_vib_tune: one study shared by two processes, a resumed study, best.json read by alloy_vib_train, one-line
errors."""

import json, os, subprocess, sys
from pathlib import Path
import optuna, pytest
from conftest import run, one_line_error

QUICK = ('--epochs', 3, '--folds', 2)


def tune(*args):
    return run('alloy_vib_tune', *args)


def n_trials(db: Path, name='alloy_vib') -> int:
    return len(optuna.load_study(study_name=name, storage=f"sqlite:///{db}").trials)


def test_two_processes_share_one_study_and_it_resumes(small_csv, tmp_path):
    db = tmp_path / 'study.db'
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    exe = str(Path(sys.executable).with_name('alloy_vib_tune'))
    procs = [
        subprocess.Popen(
            [
                exe,
                '--data',
                str(small_csv),
                '--trials',
                '2',
                *map(str, QUICK),
                '--storage',
                f'sqlite:///{db}',
                '--out',
                str(tmp_path / f'best{i}.json'),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in (1, 2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (o, e) in zip(procs, outs):
        assert p.returncode == 0, e[-2000:]
    assert n_trials(db) == 4  # both processes' trials, in one study
    r = tune(
        '--data', small_csv, '--trials', 1, *QUICK, '--storage', f'sqlite:///{db}', '--out', tmp_path / 'best.json'
    )
    assert r.returncode == 0, r.stderr
    assert n_trials(db) == 5 and '4 trial(s) so far' in r.stdout  # resumed
    best = json.loads((tmp_path / 'best.json').read_text())
    assert best['format'] == 'alloy_vib-tuned' and sum(best['trials'].values()) == 5 and best['params']['epochs'] <= 3
    assert (tmp_path / 'best_history.png').exists()
    # the same study with another seed would score trials on other folds: refused
    assert 'was started with seed 0' in one_line_error(
        tune(
            '--data',
            small_csv,
            '--trials',
            1,
            *QUICK,
            '--seed',
            1,
            '--storage',
            f'sqlite:///{db}',
            '--out',
            tmp_path / 'b2.json',
        )
    )
    # best.json trains a model
    r = run(
        'alloy_vib_train',
        '--data',
        small_csv,
        '--config',
        tmp_path / 'best.json',
        '--n_models',
        1,
        '--quiet',
        '--out',
        tmp_path / 'm',
    )
    assert r.returncode == 0, r.stderr
    hp = json.loads((tmp_path / 'm' / 'model.json').read_text())['meta']['hyperparameters']
    assert {k: hp[k] for k in ('lr', 'bs', 'epochs', 'beta', 'wd')} == {
        k: best['params'][k] for k in ('lr', 'bs', 'epochs', 'beta', 'wd')
    }


def test_default_storage_beside_out(small_csv, tmp_path):
    r = tune('--data', small_csv, '--trials', 1, *QUICK, '--out', tmp_path / 'b.json')
    assert r.returncode == 0, r.stderr
    assert (tmp_path / 'b.optuna.db').exists() and n_trials(tmp_path / 'b.optuna.db') == 1


@pytest.mark.parametrize(
    'args, expected',
    [
        (('--storage', 'nosuchdb://x'), "--storage 'nosuchdb://x' cannot be opened"),
        (('--trials', 0), '--trials must be a whole number ≥ 1'),
        (('--folds', 1), '--folds must be a whole number from 2 to 20'),
        (('--epochs', -3), '--epochs must be a whole number ≥ 1'),
    ],
)
def test_bad_options(small_csv, tmp_path, args, expected):
    assert expected in one_line_error(tune('--data', small_csv, *QUICK, *args, '--out', tmp_path / 'b.json'))
    assert not (tmp_path / 'b.json').exists()


def test_out_required_and_bad_config(small_csv, tmp_path):
    assert '--out is required' in one_line_error(tune('--data', small_csv))
    cfg = tmp_path / 'c.json'
    cfg.write_text('{"lr": 0.0')
    assert 'c.json: not JSON' in one_line_error(
        run('alloy_vib_train', '--data', small_csv, '--config', cfg, '--out', tmp_path / 'm')
    )
    cfg.write_text('{"lr": 0.01}')
    assert 'not a settings file written by alloy_vib_tune' in one_line_error(
        run('alloy_vib_train', '--data', small_csv, '--config', cfg, '--out', tmp_path / 'm')
    )
    cfg.write_text(json.dumps({'format': 'alloy_vib-tuned', 'params': {'lr': -1}}))
    assert '--lr must be' in one_line_error(
        run('alloy_vib_train', '--data', small_csv, '--config', cfg, '--out', tmp_path / 'm')
    )
