"""Prediction at scale: `alloy_vib_predict --input TABLE --out PRED.csv` end to end, run as a subprocess (the real
console script) on tables built from the real data: wall-clock seconds, rows/s, peak memory of the child, and the time
of a plain `pandas.read_csv` of the same file (the floor any CSV tool pays), and `HardnessModel.predict_arrays` on the
same rows in this process (the network alone). Targets: >= 50,000 rows/s and <= 1024 MB (issue 11); the command
within 1.5x of predict_arrays' rows/s (issue 30: `ratio_to_predict_arrays` <= 1.5). `--compare_src DIR` also times the
command with `PYTHONPATH=DIR` (another checkout's alloy_vib, e.g. the code before a change) in the same run, as
`tables_compare`.

Tables: "repeated" (the 673 rows of mmg_hardness.csv, HV dropped, Load kept, repeated to N rows) and "distinct" (the
same, each row's element fractions multiplied by 1 + 0.05*U(0,1), fixed seed, renormalised, so every row is a new
composition).
The model is trained by `alloy_vib_train` with 2 epochs: prediction cost does not depend on training length.

    python benchmarks/predict_scale.py          # N = 1,000,000, 5 networks -> benchmarks/results/predict_scale.json
    python benchmarks/predict_scale.py --smoke  # N = 20,000, 2 networks -> benchmarks/results/predict_scale_smoke.json
    python benchmarks/predict_scale.py --n 200000 --n_models 2 --compare_src /tmp/before   # issue 30's before/after
"""

import argparse, os, platform, subprocess, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
import numpy as np, pandas as pd, torch
from alloy_vib.core import write_json
from alloy_vib.data import default_data_path, load_hardness_data
from alloy_vib.trained import HardnessModel

HERE = Path(__file__).resolve().parent
TARGET = dict(rows_per_s=50_000, peak_rss_mb=1024, ratio_to_predict_arrays=1.5)


def build_tables(src, n, folder, seed=0):
    """Write the 'repeated' and 'distinct' input tables of `n` rows (from `src`, HV dropped) to `folder`; return their
    paths."""
    base = pd.read_csv(src).drop(columns=['HV'])
    rep = base.iloc[np.arange(n) % len(base)].reset_index(drop=True)
    els = [c for c in rep.columns if c != 'Load']
    F = rep[els].to_numpy(float) * (
        1 + 0.05 * np.random.default_rng(seed).random((n, len(els)))
    )  # one factor per fraction
    dis = rep.copy()
    dis[els] = F / F.sum(1, keepdims=True)
    paths = {}
    for name, df in (('repeated', rep), ('distinct', dis)):
        paths[name] = Path(folder) / f'{name}.csv'
        df.to_csv(paths[name], index=False)
    return paths


def train_model(src, folder, n_models):
    "Train a model with the console script `alloy_vib_train` (2 epochs) into `folder`/model; return its path."
    out = Path(folder) / 'model'
    subprocess.run(
        [
            'alloy_vib_train',
            '--data',
            str(src),
            '--out',
            str(out),
            '--epochs',
            '2',
            '--n_models',
            str(n_models),
            '--quiet',
        ],
        check=True,
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    return out


def run_measured(cmd, folder, use_time=Path('/usr/bin/time').exists(), env=None):
    """Run `cmd`; return wall seconds, the child's peak RSS in MB (/usr/bin/time, else getrusage in a fresh python),
    last line."""
    timef, t0 = Path(folder) / 'time.txt', time.perf_counter()
    if use_time:
        r = subprocess.run(
            ['/usr/bin/time', '-f', '%M %e', '-o', str(timef), *cmd], capture_output=True, text=True, env=env
        )
        peak_kb = float(timef.read_text().split()[-2]) if r.returncode == 0 else None
    else:
        code = (
            'import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); '
            'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r.returncode)'
        )
        r = subprocess.run([sys.executable, '-c', code, *cmd], capture_output=True, text=True, env=env)
        peak_kb = float(r.stderr.split()[-1]) if r.returncode == 0 else None
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stdout[-2000:]}{r.stderr[-2000:]}")
    return seconds, peak_kb / 1024, r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ''


def check_output(pred_path, n, reference=None):
    "Assert the prediction file has `n` data rows, hv_pred last, and (given `reference`) matching first rows."
    pred = pd.read_csv(pred_path)
    assert len(pred) == n, f"{pred_path}: {len(pred)} rows, expected {n}"
    assert pred.columns[-1] == 'hv_pred', f"{pred_path}: last column {pred.columns[-1]!r}, expected 'hv_pred'"
    if reference is not None:
        np.testing.assert_allclose(
            pred.hv_pred.to_numpy()[: len(reference)], reference, rtol=1e-5, atol=0.05
        )  # outputs: 0.1 HV
    return pred


def reference_predictions(model_dir):
    "hv_pred of the original rows through the Python API (the repeated table's first rows must match)."
    model, data = HardnessModel.load(model_dir), load_hardness_data(verbose=False)
    assert model.elements == data.elements, f"model elements {model.elements} != data elements {data.elements}"
    return model.predict_frame(data.X, data.load)['hv_pred'].to_numpy()


def measure_startup(model_dir, folder):
    "Fixed cost of one `alloy_vib_predict` call (imports, model load): one formula, printed, not written."
    seconds, peak_mb, _ = run_measured(
        ['alloy_vib_predict', '--model', str(model_dir), '--formula', 'Fe41B35Nb24', '--load', '1'], folder
    )
    return dict(seconds=seconds, peak_rss_mb=peak_mb)


def measure_predict_arrays(model_dir, table):
    """Rows/s of `HardnessModel.predict_arrays` (the networks alone, default threads) on the rows of `table`, read
    outside the timing."""
    from alloy_vib.trained import model_inputs

    model = HardnessModel.load(model_dir)
    X, L = model_inputs(model, input=table)
    model.predict_arrays(X[:1000], None if L is None else L[:1000])  # warm-up
    t0 = time.perf_counter()
    model.predict_arrays(X, L)
    seconds = time.perf_counter() - t0
    return dict(rows=len(X), seconds=seconds, rows_per_s=len(X) / seconds)


def measure_table(name, table, model_dir, folder, n, reference, startup_s, env=None):
    "Time `alloy_vib_predict` on `table` and a plain read_csv of it; check the output; return the figures."
    out = Path(folder) / f'{name}_pred.csv'
    seconds, peak_mb, msg = run_measured(
        ['alloy_vib_predict', '--model', str(model_dir), '--input', str(table), '--out', str(out)], folder, env=env
    )
    check_output(out, n, reference if name == 'repeated' else None)
    t0 = time.perf_counter()
    pd.read_csv(table)
    read_s = time.perf_counter() - t0
    res = dict(
        rows=n,
        seconds=seconds,
        rows_per_s=n / seconds,
        peak_rss_mb=peak_mb,
        read_csv_seconds=read_s,
        ratio=seconds / read_s,
        rows_per_s_excluding_startup=n / max(seconds - startup_s, 1e-9),
        file_mb=table.stat().st_size / 2**20,
        predict_message=msg,
    )
    res.update(
        meets_rows_per_s=bool(res['rows_per_s'] >= TARGET['rows_per_s']),
        meets_memory=bool(peak_mb <= TARGET['peak_rss_mb']),
    )
    out.unlink()
    return res


def git_commit():
    "The commit checked out in the repository of this file, or None."
    r = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=HERE, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--smoke', action='store_true', help='small CI run (20,000 rows, 2 networks)')
    p.add_argument(
        '--out', default=None, help='output JSON (default results/predict_scale.json, or predict_scale_smoke.json)'
    )
    p.add_argument('--data', default=None, help='the table to build the inputs from (default: the default data)')
    p.add_argument('--n', type=int, default=None, help='rows per table (default 1,000,000; --smoke 20,000)')
    p.add_argument('--n_models', type=int, default=None, help='networks of the model (default 5; --smoke 2)')
    p.add_argument(
        '--compare_src', default=None, help="a folder holding another alloy_vib package: its command is timed too"
    )
    a = p.parse_args(argv)
    out = Path(a.out) if a.out else HERE / 'results' / ('predict_scale_smoke.json' if a.smoke else 'predict_scale.json')
    n, n_models = (20_000, 2) if a.smoke else (1_000_000, 5)
    n, n_models = a.n or n, a.n_models or n_models
    src, T0 = default_data_path(a.data), time.perf_counter()
    res = dict(
        benchmark='predict_scale',
        smoke=a.smoke,
        date=datetime.now(timezone.utc).isoformat(),
        commit=git_commit(),
        machine=dict(platform=platform.platform(), cpu_count=os.cpu_count(), load_average=list(os.getloadavg())),
        torch_threads=torch.get_num_threads(),
        python=platform.python_version(),
        torch=torch.__version__,
        data=str(src),
        target=dict(TARGET, peak_rss_unit='MiB (ru_maxrss / 1024)'),
        model=dict(
            n_models=n_models,
            epochs=2,
            note='trained with alloy_vib_train for 2 epochs only: the cost of '
            'prediction does not depend on training length',
        ),
        tables={},
    )
    with tempfile.TemporaryDirectory(prefix='predict_scale_') as tmp:
        tables = build_tables(src, n, tmp)
        model_dir = train_model(src, tmp, n_models)
        reference = reference_predictions(model_dir)
        st = res['startup'] = measure_startup(model_dir, tmp)
        print(f"startup   one formula in {st['seconds']:.1f} s, peak RSS {st['peak_rss_mb']:.0f} MB", flush=True)
        pa = res['predict_arrays'] = measure_predict_arrays(model_dir, tables['distinct'])
        print(f"predict_arrays {pa['rows_per_s']:,.0f} rows/s on the distinct table", flush=True)
        runs = [('tables', None)] + (
            [('tables_compare', dict(os.environ, PYTHONPATH=str(Path(a.compare_src).resolve())))]
            if a.compare_src
            else []
        )
        if a.compare_src:
            res['compare_src'] = str(a.compare_src)
        for key, env in runs:
            res.setdefault(key, {})
            for name, table in tables.items():
                r = res[key][name] = measure_table(name, table, model_dir, tmp, n, reference, st['seconds'], env)
                r['ratio_to_predict_arrays'] = pa['rows_per_s'] / r['rows_per_s']
                r['meets_ratio'] = bool(r['ratio_to_predict_arrays'] <= TARGET['ratio_to_predict_arrays'])
                print(
                    f"{key} {name:9s} {n:,} rows in {r['seconds']:.1f} s = {r['rows_per_s']:,.0f} rows/s "
                    f"({'meets' if r['meets_rows_per_s'] else 'MISSES'} {TARGET['rows_per_s']:,}); "
                    f"predict_arrays/command "
                    f"{r['ratio_to_predict_arrays']:.2f}x ({'meets' if r['meets_ratio'] else 'MISSES'} 1.5x); peak RSS "
                    f"{r['peak_rss_mb']:.0f} MB "
                    f"({'meets' if r['meets_memory'] else 'MISSES'} {TARGET['peak_rss_mb']}); "
                    f"read_csv {r['read_csv_seconds']:.2f} s, ratio {r['ratio']:.1f}x; "
                    f"{r['rows_per_s_excluding_startup']:,.0f} rows/s excluding startup",
                    flush=True,
                )
    res.update(total_s=time.perf_counter() - T0, load_average_end=list(os.getloadavg()))
    write_json(res, out)
    print(f"wrote {out} in {res['total_s']:.0f} s")
    return res


if __name__ == '__main__':
    main()
