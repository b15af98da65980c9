"""The notebooks as a first user opens them in Jupyter: a kernel to run them, each figure once, links that lead
somewhere."""

import json, re
from pathlib import Path
import pytest
from conftest import run

NBS = Path(__file__).resolve().parent.parent / 'nbs'
NOTEBOOKS = sorted(NBS.glob('*.ipynb'))


def test_the_install_gives_a_python3_kernel():
    from jupyter_client.kernelspec import KernelSpecManager

    assert 'python3' in KernelSpecManager().find_kernel_specs()  # ipykernel is in the dev extras


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_no_cell_shows_a_figure_twice(nb):
    for i, c in enumerate(json.loads(nb.read_text())['cells']):
        n = sum('image/png' in (o.get('data') or {}) for o in c.get('outputs', []))
        assert n <= 1, (
            f"{nb.name}: cell {i} stores {n} figures (a cell that ends with `fig` shows its figure twice in Jupyter)"
        )


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_links_and_references_lead_somewhere(nb):
    md = '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown')
    for target in re.findall(r'\]\(([^)#\s]+\.ipynb)', md):
        assert (NBS / target).exists(), f"{nb.name} links to {target}"
    assert not re.search(r'\bsee the (guide|data notes)\b', md, re.I), (
        f"{nb.name} points to a document the project does not have"
    )


@pytest.mark.parametrize(
    'prog, columns',
    [
        (
            'alloy_vib_predict',
            ['hv_std', 'hv_lo', 'hv_hi', 'in_domain', 'distance', 'load_gap', 'calibrated', 'hv_pred'],
        ),
        ('alloy_vib_design', ['hv_lo', 'family', 'nearest_hv', 'nearest_load', 'load_gap', 'in_domain', 'calibrated']),
    ],
)
def test_help_lists_the_output_columns(prog, columns):
    r = run(prog, '--help')
    assert r.returncode == 0, r.stderr
    text = ' '.join(r.stdout.split())
    for c in columns:
        assert c in text, (prog, c)


@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_show_no_warning_or_progress_bar(nb):
    """Issue 30 item 13: a stored output a reader sees holds no Python warning (PyTorch's UserWarning) and no tqdm
    progress text."""
    for i, c in enumerate(json.loads(nb.read_text())['cells']):
        for o in c.get('outputs', []):
            text = ''.join(o.get('text', '')) + ''.join((o.get('data') or {}).get('text/plain', ''))
            assert not re.search(r'\w+Warning:', text), f"{nb.name}: cell {i} shows a warning: {text[:300]!r}"
            assert not re.search(r'\d+it/s\]|\|[#█ ]+\| \d+/\d+', text), (
                f"{nb.name}: cell {i} shows a progress bar: {text[:300]!r}"
            )


def test_help_stands_alone():
    """Issue 30 item 13: the docstrings help() shows never point 'above' (there is nothing above in help), and
    optimize_latents' example loads its model."""
    import importlib, inspect, pkgutil, alloy_vib
    from alloy_vib.trained import HardnessModel
    from alloy_vib.estimator import VIBHardnessRegressor
    from alloy_vib.design import optimize_latents

    for obj in (VIBHardnessRegressor, HardnessModel.load, HardnessModel.save):
        assert 'see above' not in (inspect.getdoc(obj) or ''), obj
    modules = [importlib.import_module(f'alloy_vib.{m.name}') for m in pkgutil.iter_modules(alloy_vib.__path__)
               if not m.name.startswith('_')]
    assert {'calibration', 'domain', 'campaign', 'cli'} <= {m.__name__.split('.')[-1] for m in modules}
    for mod in modules:
        for name, f in inspect.getmembers(mod, lambda o: inspect.isfunction(o) or inspect.isclass(o)):
            if getattr(f, '__module__', None) != mod.__name__:
                continue
            for m in [f] + [v for _, v in inspect.getmembers(f, inspect.isfunction)] if inspect.isclass(f) else [f]:
                assert 'see above' not in (m.__doc__ or ''), f"{mod.__name__}.{name}: {m.__doc__[:200]}"
    doc = inspect.getdoc(optimize_latents)
    assert 'HardnessModel.load(' in doc and '(n_starts, k)' in doc and 'repeat' in doc, doc
