"""The package is built in layers: each module imports only modules below it, so there is no import cycle, and
the trained model (what predicting, designing and explaining need) does not load fastai."""

import ast, json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / 'alloy_vib'


def notebook_order() -> list:
    "Module names in the order of their notebooks (00_core, 01_data, 02_model, 02a_domain, …), by `default_exp`."
    mods = []
    for nb in sorted((ROOT / 'nbs').glob('[0-9][0-9]*_*.ipynb')):  # '02_model' < '02a_domain' < '02b_…' < '03_…'
        for c in json.loads(nb.read_text())['cells']:
            src = ''.join(c['source'])
            if src.startswith('#| default_exp'):
                mods.append(src.split()[2])
                break
    return mods


def internal_imports(module: str) -> set:
    "The alloy_vib modules that `alloy_vib/<module>.py` imports, at any depth of its code."
    tree = ast.parse((PKG / f'{module}.py').read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                found.add((node.module or '').split('.')[0])
            elif (node.module or '').startswith('alloy_vib.'):
                found.add(node.module.split('.')[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split('.')[1] for a in node.names if a.name.startswith('alloy_vib.')}
    return found - {''}


def find_cycle(graph: dict):
    "One import cycle of `graph` (module -> imported modules) as a list, or None."
    state = {}

    def visit(m, path):
        state[m] = 'open'
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 'open':
                return path + [m, n]
            if n not in state and (c := visit(n, path + [m])):
                return c
        state[m] = 'done'

    for m in sorted(graph):
        if m not in state and (c := visit(m, [])):
            return c


def test_find_cycle_finds_one():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None


def test_no_import_cycle_and_only_downward_imports():
    order = notebook_order()
    modules = sorted(p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_'))
    assert sorted(order) == modules, (order, modules)  # one notebook per module
    graph = {m: internal_imports(m) for m in modules}
    assert find_cycle(graph) is None, find_cycle(graph)
    for m, deps in graph.items():
        up = [d for d in deps if order.index(d) >= order.index(m)]
        assert not up, f"alloy_vib.{m} imports {up}, which are not below it in {order}"


def test_trained_model_does_not_load_fastai():
    code = (
        "import sys, alloy_vib.trained, alloy_vib.design, alloy_vib.interpret; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastai', 'fastcore.script'}))"
    )
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert 'fastai' not in r.stdout, r.stdout


def test_benchmark_imports_exist():
    "Every `from alloy_vib.X import name` in benchmarks/ and tests/ names something X has (a move cannot strand one)."
    import ast, importlib
    missing = []
    for f in sorted((ROOT / 'benchmarks').glob('*.py')) + sorted((ROOT / 'tests').glob('*.py')):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or '').startswith('alloy_vib'):
                mod = importlib.import_module(node.module)
                missing += [f"{f.name}: {node.module}.{a.name}" for a in node.names if not hasattr(mod, a.name)]
    assert not missing, missing
