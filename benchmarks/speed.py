"""Speed benchmark: training and cross-validation time of the VIB model as ratios to ExtraTrees in the same run,
and prediction throughput.

Full run (writes benchmarks/results/speed.json; about ten minutes on 2 cores), with the main job timed too:
    python benchmarks/speed.py --main_job
Smoke run for CI (< 60 s; writes benchmarks/results/speed_smoke.json):
    python benchmarks/speed.py --smoke
"""

import argparse, os, subprocess, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
import numpy as np
from accuracy import (
    environment,
    settings_record,
)  # a sibling script: Python puts benchmarks/ on sys.path when a script in it runs
from tables import add_data_args, load_table  # a sibling script (benchmarks/ is on sys.path)

HERE = Path(__file__).resolve().parent


def timed(f):
    t = time.perf_counter()
    r = f()
    return r, time.perf_counter() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--smoke', action='store_true', help='tiny CI run')
    add_data_args(p)
    p.add_argument(
        '--out', default=None, help='output JSON (default results/speed.json, or speed_smoke.json with --smoke)'
    )
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--main_job',
        action='store_true',
        help='also time scripts/main_job end to end (train, predict, design, explain)',
    )
    a = p.parse_args(argv)
    import torch
    from alloy_vib.train import train_vib
    from alloy_vib.evaluate import cross_validate
    from alloy_vib.core import write_json

    out = Path(a.out) if a.out else HERE / 'results' / ('speed_smoke.json' if a.smoke else 'speed.json')
    data = load_table(a.data, a.target, a.formula_col, a.load_col)
    vkw = dict(n_models=1, epochs=3, warmup_epochs=1) if a.smoke else {}
    if a.smoke:
        data = data.subset(np.arange(0, len(data), 3))
    folds = 2 if a.smoke else 5
    res = dict(
        benchmark='speed',
        smoke=a.smoke,
        seed=a.seed,
        started=datetime.now(timezone.utc).isoformat(),
        **environment(),
        vib_settings=settings_record(vkw),
        n_rows=len(data),
        folds=folds,
    )
    # ExtraTrees cross-validation: the reference time of this run
    et, t_et = timed(lambda: cross_validate(data, 'group', folds, a.seed, models=('extra_trees',)))
    # one training of the default VIB model (the ensemble and its cross-fitted calibration networks) and of a single
    # network without calibration networks, on all rows
    model, t_model = timed(lambda: train_vib(data, seed=a.seed, **vkw))
    _, t_one = timed(lambda: train_vib(data, seed=a.seed, **{**vkw, 'n_models': 1, 'calib_folds': 0}))
    # full cross-validation of the VIB model on the same folds
    vib, t_vib_cv = timed(lambda: cross_validate(data, 'group', folds, a.seed, models=('vib',), vib_kwargs=vkw))
    # prediction throughput: mean and std of the ensemble (predict_arrays), and the full table (predict)
    n = 20_000 if a.smoke else 200_000
    idx = np.random.default_rng(0).integers(0, len(data), n)
    X, L = data.X[idx], data.load[idx]
    model.predict_arrays(X[:1000], L[:1000])  # warm-up
    _, t_arr = timed(lambda: model.predict_arrays(X, L))
    m = min(n, 20_000)
    _, t_tab = timed(lambda: model.predict(__import__('pandas').DataFrame(X[:m], columns=data.elements), load=L[:m]))
    res.update(
        extra_trees_cv_s=t_et,
        vib_cv_s=t_vib_cv,
        vib_cv_to_extra_trees_cv=t_vib_cv / t_et,
        train_model_s=t_model,
        train_model_to_extra_trees_cv=t_model / t_et,
        train_one_network_s=t_one,
        train_one_network_to_extra_trees_cv=t_one / t_et,
        epochs_run=[int(h.epoch.max() + 1) for _, h in model.history.groupby('model')],
        predict_arrays_rows_per_s=n / t_arr,
        predict_arrays_rows=n,
        predict_table_rows_per_s=m / t_tab,
        predict_table_rows=m,
        vib_cv_mae=vib.metrics['vib']['mae'],
        extra_trees_cv_mae=et.metrics['extra_trees']['mae'],
    )
    if a.main_job:  # the whole default workflow, as a user runs it
        with tempfile.TemporaryDirectory() as d:
            r, t_job = timed(
                lambda: subprocess.run([str(HERE.parent / 'scripts' / 'main_job'), d], capture_output=True, text=True)
            )
        if r.returncode:
            raise SystemExit(f"scripts/main_job failed: {r.stderr.strip()[-500:]}")
        res.update(main_job_s=t_job)
    res.update(torch_threads=torch.get_num_threads(), load_average_end=list(os.getloadavg()))
    write_json(res, out)
    print(
        f"ExtraTrees CV {t_et:.1f} s; VIB CV {t_vib_cv:.1f} s ({t_vib_cv / t_et:.1f}x); one model {t_model:.1f} s "
        f"({t_model / t_et:.1f}x), one network {t_one:.1f} s; predict_arrays {n / t_arr:,.0f} rows/s, "
        f"predict {m / t_tab:,.0f} rows/s"
        + (f"; main job {res['main_job_s']:.1f} s" if a.main_job else "")
        + f"; wrote {out}"
    )


if __name__ == '__main__':
    main()
