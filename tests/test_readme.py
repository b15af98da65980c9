"README.md is generated from nbs/index.ipynb, and CI runs the README's own install and test commands."

import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_in_step_with_index():
    r = subprocess.run(
        [sys.executable, str(ROOT / 'scripts' / 'make_readme'), '--check'], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr


def test_ci_reads_commands_from_readme():
    readme, ci = (ROOT / 'README.md').read_text(), (ROOT / '.ci' / 'run').read_text()
    assert 'section_cmd Install' in ci and 'section_cmd Tests' in ci
    assert 'scripts/install' in readme and 'nbdev_test' in readme
    install = (ROOT / 'scripts' / 'install').read_text()
    assert (
        'uv pip install --compile-bytecode -c constraints.txt' in install and 'download.pytorch.org/whl/cpu' in install
    )


def test_constraints_pin_the_known_good_set():
    pins = dict(l.split('==') for l in (ROOT / 'constraints.txt').read_text().split() if '==' in l)
    assert pins['torch'] == '2.13.0' and pins['fastai'] == '2.8.7' and pins['fastcore'] == '1.14.5'
    assert pins['nbdev'] == '2.4.14' and pins['execnb'] == '0.1.18'


def table_from_results(fn: str, results: str) -> str:
    "The markdown table `benchmarks/readme_table.py`'s function `fn` writes from `benchmarks/results/<results>`."
    import json, importlib.util

    spec = importlib.util.spec_from_file_location('readme_table', ROOT / 'benchmarks' / 'readme_table.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, fn)(json.loads((ROOT / 'benchmarks' / 'results' / results).read_text()))


def test_readme_accuracy_table_matches_benchmark_json():
    "The accuracy figures in README.md are exactly those in benchmarks/results/accuracy.json."
    assert table_from_results('accuracy_markdown', 'accuracy.json') in (ROOT / 'README.md').read_text()


def test_readme_interval_table_matches_benchmark_json():
    "The interval figures in README.md are exactly those in benchmarks/results/extrapolation.json."
    assert table_from_results('interval_markdown', 'extrapolation.json') in (ROOT / 'README.md').read_text()
