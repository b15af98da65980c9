"""Does tuning for your own data help? Nested cross-validation on the MPEA data (issue 16).

Outer: 5-fold GroupKFold over unique compositions (seed 0, the folds of benchmarks/accuracy.py). In each outer fold,
`alloy_vib_tune`'s search (`tune_objective`, Optuna TPE, median pruning) runs on the training part only, scored on its
own composition-grouped inner folds; then the default model (TrainSettings' defaults) and the model with the best
settings found are trained on the whole training part and scored on the outer test part, beside ExtraTrees.

The search budget is small so that it runs on 2 cores (--trials, --inner_folds, --max_epochs, --trial_models); a
real search (50+ trials, no epoch cap) may find more. Writes benchmarks/results/tune_mpea.json.
    python benchmarks/tune_mpea.py                      # about 15 minutes on 2 cores
    python benchmarks/tune_mpea.py --smoke              # a tiny run (2 folds, 2 trials, few epochs)
"""

import argparse, json, os, time
from pathlib import Path
import numpy as np
from joblib import Parallel, delayed
from tables import add_data_args, load_table  # a sibling script (benchmarks/ is on sys.path)

HERE = Path(__file__).resolve().parent


def outer_fold(data, tr, te, k, trials, inner_folds, max_epochs, trial_models, default_kw, seed=0):
    import optuna
    from alloy_vib.train import train_vib
    from alloy_vib.tune import tune_objective, open_study, best_settings
    from alloy_vib.evaluate import BASELINES, baseline_features

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    train, t0 = data.subset(tr), time.perf_counter()
    mae = lambda m: float(np.abs(m.predict_arrays(data.X[te])[0] - data.y[te]).mean())
    study = open_study('sqlite:///:memory:', f'fold{k}', seed, train)
    study.optimize(
        tune_objective(train, inner_folds, seed, trial_models, max_epochs, threads=1),
        n_trials=trials,
        catch=(ValueError, FloatingPointError),
    )
    best = best_settings(study)
    t_tune = time.perf_counter() - t0
    default = train_vib(train, seed=seed, threads=1, **default_kw)
    tuned = train_vib(train, seed=seed, threads=1, **{**default_kw, **best['params']})
    F = baseline_features(data)
    et = BASELINES['extra_trees'](seed).fit(F[tr], data.y[tr]).predict(F[te])
    return dict(
        fold=k,
        n_train=len(tr),
        n_test=len(te),
        mae_default=mae(default),
        mae_tuned=mae(tuned),
        mae_extra_trees=float(np.abs(et - data.y[te]).mean()),
        best_params=best['params'],
        inner_mae=best['mae'],
        trials=best['trials'],
        tune_seconds=t_tune,
        seconds=time.perf_counter() - t0,
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--smoke', action='store_true')
    add_data_args(p, default='mpea')
    p.add_argument('--trials', type=int, default=10)
    p.add_argument('--inner_folds', type=int, default=2)
    p.add_argument('--max_epochs', type=int, default=60)
    p.add_argument('--trial_models', type=int, default=1)
    p.add_argument('--n_jobs', type=int, default=2, help='outer folds at once (one torch thread each)')
    p.add_argument('--out', default=None)
    a = p.parse_args(argv)
    from alloy_vib.evaluate import cv_folds

    data = load_table(a.data, a.target, a.formula_col, a.load_col)
    folds, default_kw = 5, {}
    if a.smoke:
        data, folds, a.trials, a.max_epochs, default_kw = (
            data.subset(np.arange(0, len(data), 4)),
            2,
            2,
            4,
            dict(epochs=4, n_models=1, calib_folds=0),
        )
    fs = cv_folds(data, 'group', folds, 0)
    t0 = time.perf_counter()
    res = Parallel(n_jobs=a.n_jobs)(
        delayed(outer_fold)(data, tr, te, k, a.trials, a.inner_folds, a.max_epochs, a.trial_models, default_kw)
        for k, (tr, te) in enumerate(fs)
    )
    n = sum(r['n_test'] for r in res)
    pooled = {m: sum(r[f'mae_{m}'] * r['n_test'] for r in res) / n for m in ('default', 'tuned', 'extra_trees')}
    out = dict(
        benchmark='tune_mpea',
        smoke=a.smoke,
        data=str(data.source),
        n_rows=len(data),
        outer_folds=folds,
        search=dict(trials=a.trials, inner_folds=a.inner_folds, max_epochs=a.max_epochs, trial_models=a.trial_models),
        mae=pooled,
        tuned_to_default=pooled['tuned'] / pooled['default'],
        folds=res,
        seconds=time.perf_counter() - t0,
        cpu_count=os.cpu_count(),
    )
    path = Path(a.out) if a.out else HERE / 'results' / ('tune_mpea_smoke.json' if a.smoke else 'tune_mpea.json')
    path.write_text(json.dumps(out, indent=1))
    print(
        f"MPEA, outer composition-grouped CV: MAE default {pooled['default']:.1f}, tuned {pooled['tuned']:.1f} "
        f"({out['tuned_to_default']:.3f}x), ExtraTrees {pooled['extra_trees']:.1f}; {out['seconds']:.0f} s -> {path}"
    )


if __name__ == '__main__':
    main()
