"""Inner-fold comparison of VIB training settings: how settings are chosen without touching a test fold.

The training part of outer fold 0 (composition groups, seed 0: 80 % of the default data) is cross-validated again with
3 grouped folds (seed 1), ExtraTrees and RandomForest on the same inner folds for scale. With `--split family` the
outer and inner folds hold out whole element families instead: outer fold 1 of the family split (seed 0; fold 0 holds
out the B-Fe-Nb thin-film library), whose training part still holds that library, so one inner fold asks the model
about a family measured at a load below all of its other training loads. Each setting is a JSON object of `train_vib`
keywords (changes from the evaluated `TrainSettings`); `{}` is the evaluated setting itself. The time of each
setting's three trainings is recorded too, so speed and accuracy are compared in one run.

    python benchmarks/inner_folds.py '{}' '{"epochs": 60}' '{"bs": 128}' --seeds 0
writes benchmarks/results/inner_folds.json (or --out).
"""

import argparse, json, time, warnings
from datetime import datetime, timezone
from pathlib import Path
import numpy as np
from accuracy import environment  # a sibling script: Python puts benchmarks/ on sys.path when a script in it runs
from tables import add_data_args, load_table  # a sibling script (benchmarks/ is on sys.path)

HERE = Path(__file__).resolve().parent


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('settings', nargs='+', help="JSON objects of train_vib keywords, e.g. '{\"epochs\": 60}'")
    p.add_argument('--seeds', default='0', help='comma-separated network seeds (the folds stay fixed)')
    add_data_args(p)
    p.add_argument('--out', default=str(HERE / 'results' / 'inner_folds.json'))
    p.add_argument(
        '--split', default='group', choices=['group', 'family'], help='what the outer and inner folds hold out'
    )
    p.add_argument('--threads', type=int, default=None, help='torch threads per training (default: as set)')
    a = p.parse_args(argv)
    from alloy_vib.evaluate import cv_folds, split_groups, baseline_features, BASELINES
    from alloy_vib.core import write_json
    from alloy_vib.train import train_vib, group_folds

    data = load_table(a.data, a.target, a.formula_col, a.load_col)
    outer = 0 if a.split == 'group' else 1
    d = data.subset(cv_folds(data, a.split, 5, 0)[outer][0])
    inner = group_folds(split_groups(d, a.split), 3, 1)
    F = baseline_features(d)
    tree = {name: np.zeros(len(d)) for name in ('extra_trees', 'random_forest')}
    for name, pred in tree.items():
        for tr, te in inner:
            pred[te] = BASELINES[name](0).fit(F[tr], d.y[tr]).predict(F[te])
    res = dict(
        benchmark='inner_folds',
        started=datetime.now(timezone.utc).isoformat(),
        **environment(),
        protocol=f'outer fold {outer} ({a.split}, seed 0) training part, 3 inner folds by {a.split} (seed 1)',
        n_rows=len(d),
        extra_trees_mae=float(np.abs(tree['extra_trees'] - d.y).mean()),
        random_forest_mae=float(np.abs(tree['random_forest'] - d.y).mean()),
        runs=[],
    )
    fold_mae = lambda pred: [float(np.abs(pred[te] - d.y[te]).mean()) for _, te in inner]
    res['extra_trees_fold_mae'], res['random_forest_fold_mae'] = (
        fold_mae(tree['extra_trees']),
        fold_mae(tree['random_forest']),
    )
    print(
        f"inner folds: {len(d)} rows; ExtraTrees MAE {res['extra_trees_mae']:.1f}, "
        f"RandomForest {res['random_forest_mae']:.1f}; "
        f"per fold ET {[round(v, 1) for v in res['extra_trees_fold_mae']]}",
        flush=True,
    )
    for s in a.settings:
        kw = json.loads(s)
        for seed in [int(x) for x in a.seeds.split(',')]:
            pred, t0, failed = np.zeros(len(d)), time.perf_counter(), 0
            for tr, te in inner:
                with warnings.catch_warnings():  # a failed network is counted below, not printed
                    warnings.simplefilter('ignore', UserWarning)
                    m = train_vib(d.subset(tr), seed=seed, threads=a.threads, **kw)
                pred[te] = m.predict_arrays(d.X[te], None if d.load is None else d.load[te])[0]
                failed += len(m.meta.get('failed_networks', {}))
            run = dict(
                settings=kw,
                seed=seed,
                mae=float(np.abs(pred - d.y).mean()),
                fold_mae=fold_mae(pred),
                seconds=time.perf_counter() - t0,
                failed_networks=failed,
            )
            res['runs'].append(run)
            print(
                f"{json.dumps(kw)} seed {seed}: MAE {run['mae']:.1f} "
                f"(per fold {[round(v, 1) for v in run['fold_mae']]}) "
                f"in {run['seconds']:.0f} s, {failed} failed network(s)",
                flush=True,
            )
            write_json(res, Path(a.out))  # partial results survive an interrupted run


if __name__ == '__main__':
    main()
