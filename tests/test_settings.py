"""One source of truth for settings: every training and network default is written once, in `TrainSettings` or
`VIBConfig`; the commands, the estimator and the library's functions read them from there."""

import ast, json, subprocess, sys
from pathlib import Path
from alloy_vib.train import TrainSettings, TRAIN_FIELDS, SHAPE_FIELDS
from alloy_vib.model import VIBConfig
from alloy_vib.estimator import VIBHardnessRegressor

LIB = Path(__file__).resolve().parents[1] / 'alloy_vib'
# parameters that share a name with a setting but mean something else
OTHER_MEANING = {
    ('design.py', 'optimize_latents', 'lr'): "the latent optimiser's step size (DesignSettings)",
    ('tune.py', 'tune_objective', 'n_models'): 'networks per tuning trial',
    ('cli.py', 'tune_cli', 'n_models'): 'networks per tuning trial',
}


def literal_defaults():
    "(file, function, parameter, value) for every parameter named like a setting whose default is a literal (not None)."
    names = set(TRAIN_FIELDS) | set(SHAPE_FIELDS)
    for p in sorted(LIB.glob('*.py')):
        for f in ast.walk(ast.parse(p.read_text())):
            if not isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            a = f.args
            pos = a.posonlyargs + a.args
            pairs = list(zip(pos, [None] * (len(pos) - len(a.defaults)) + a.defaults)) + list(
                zip(a.kwonlyargs, a.kw_defaults)
            )
            for arg, d in pairs:
                if arg.arg in names and isinstance(d, ast.Constant) and d.value is not None:
                    yield p.name, f.name, arg.arg, d.value


def test_no_default_written_twice():
    found = [x for x in literal_defaults() if x[:3] not in OTHER_MEANING]
    assert not found, f"defaults written outside TrainSettings/VIBConfig: {found}"


def test_the_check_itself_finds_a_literal(tmp_path, monkeypatch):
    "The scan above is not vacuous: a function with `epochs=150` is found."
    (tmp_path / 'x.py').write_text('def f(epochs=150, lr=None): pass\n')
    monkeypatch.setattr(sys.modules[__name__], 'LIB', tmp_path)
    assert list(literal_defaults()) == [('x.py', 'f', 'epochs', 150)]


def test_estimator_defaults_are_the_settings():
    p = VIBHardnessRegressor().get_params()
    for k in TRAIN_FIELDS:
        assert p[k] == getattr(TrainSettings, k), k
    for k in ('latent_dim', 'hidden', 'dropout'):
        assert p[k] == getattr(VIBConfig, k), k


def test_typed_flag_beats_config(tmp_path):
    "alloy_vib_train: an option typed on the command line wins over the same setting in --config (1 epoch, 1 network)."
    cfg = tmp_path / 'best.json'
    cfg.write_text(json.dumps({'format': 'alloy_vib-tuned', 'params': {'epochs': 500, 'n_models': 3, 'lr': 0.01}}))
    out = tmp_path / 'm'
    r = subprocess.run(
        ['alloy_vib_train', '--config', str(cfg), '--epochs', '1', '--n_models', '1', '--quiet', '--out', str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / 'model.json').read_text())
    s = json.dumps(meta)
    assert '"epochs": 1' in s and '"n_models": 1' in s and '"lr": 0.01' in s, s[:2000]


def test_unknown_config_key_named(tmp_path):
    cfg = tmp_path / 'best.json'
    cfg.write_text(json.dumps({'format': 'alloy_vib-tuned', 'params': {'epochz': 5}}))
    r = subprocess.run(
        ['alloy_vib_train', '--config', str(cfg), '--out', str(tmp_path / 'm')], capture_output=True, text=True
    )
    assert r.returncode != 0 and "unknown setting 'epochz'" in r.stderr and str(cfg) in r.stderr, r.stderr
