"""Interval methods compared on the same networks: how the 90 % interval should widen off the data (issue 15).

For each outer fold of a grouped 5-fold CV (split 'group' or 'family', seed 0), one batched fit trains on the outer
training part: the 5 ensemble members, 5 calibration networks cross-fitted on composition-group folds and 5 more
cross-fitted on element-family folds. Each calibration row keeps its held-out residual and its `distance` and
`load_gap` to the rows its network trained on; each test row its ensemble prediction and its distance and load gap to
the outer training part. The interval methods are then scored on the same predictions:

* abs: one width, the conformal quantile of |residual| (the method before this comparison);
* distance: normalised conformal, σ = c0 + c_d·distance + c_g·load_gap (`alloy_vib.trained.calibrate`, the default now);
* distance_only: the same without the load gap;
* mondrian4: one width per quartile of the calibration rows' distance;

each calibrated on the group-cross-fitted rows, the family-cross-fitted rows, or both. Nothing from a test fold is used.

    python benchmarks/interval_methods.py --data mmg_hardness --splits group,family
writes benchmarks/results/interval_methods.json (about 25 min per split on 2 cores). The fitted networks' outputs are
cached in --cache (default /tmp/alloy_vib_interval_methods) so the methods can be rescored without training.
"""

import argparse, pickle, time
from datetime import datetime, timezone
from pathlib import Path
import numpy as np, pandas as pd
from accuracy import environment  # sibling scripts: Python puts benchmarks/ on sys.path when a script in it runs
from tables import add_data_args, load_table, table_name

HERE = Path(__file__).resolve().parent


def collect(data, split, seed):
    "Per outer fold: the test rows and the group- and family-cross-fitted calibration rows (see the module docstring)."
    from alloy_vib.evaluate import cv_folds, split_groups
    from alloy_vib.train import TrainSettings, fit_networks, group_folds
    from alloy_vib.domain import domain_of, held_out_distances
    from alloy_vib.trained import HardnessModel
    from alloy_vib.model import VIBConfig

    out = []
    for fi, (TR, TE) in enumerate(cv_folds(data, split, 5, seed)):
        d = data.subset(TR)
        cf = {
            'group': group_folds(d.groups, 5, seed + 1000),
            'family': group_folds(split_groups(d, 'family'), 5, seed + 1000),
        }
        members, kinds = [(np.arange(len(d)), np.array([], int), seed + m) for m in range(5)], ['member'] * 5
        for k, fs in cf.items():
            members += [(tr, np.array([], int), seed + 5 + i) for i, (tr, _) in enumerate(fs)]
            kinds += [k] * len(fs)
        net, _, _ = fit_networks(
            d,
            members,
            d.y.mean(),
            d.y.std(),
            VIBConfig(n_elements=len(d.elements), has_load=d.has_load),
            TrainSettings(),
        )
        model = HardnessModel(net, d.elements, d.y.mean(), d.y.std(), {'domain': domain_of(d)})
        P = model.predict_members(d.X, d.load)
        L = None if data.load is None else data.load[TE]
        Pte, dom = model.predict_members(data.X[TE], L), model.domain(data.X[TE], L)
        rec = dict(
            fold=fi,
            test=pd.DataFrame(
                dict(
                    y=data.y[TE],
                    pred=Pte[:5].mean(0),
                    std=Pte[:5].std(0),
                    distance=dom.distance.to_numpy(),
                    load_gap=dom.get('load_gap', np.nan),
                )
            ),
        )
        for k, fs in cf.items():
            rows = []
            for i, (tr, te) in enumerate(fs):
                e = kinds.index(k) + i
                dist, gap = held_out_distances(d, tr, te)
                rows.append(pd.DataFrame(dict(y=d.y[te], pred=P[e, te], distance=dist, load_gap=gap)))
            rec[f'cal_{k}'] = pd.concat(rows, ignore_index=True)
        out.append(rec)
        print(f"{split} fold {fi + 1}/5: test MAE {np.abs(rec['test'].y - rec['test'].pred).mean():.1f}", flush=True)
    return out


def half_widths(cal, test, method, has_load):
    "Half-width of each test row's interval from calibration rows `cal` by `method`."
    from alloy_vib.calibration import calibrate, conformal_quantile, interval_half_width

    y, p = cal.y.to_numpy(), cal.pred.to_numpy()
    if method == 'abs':
        return np.full(len(test), conformal_quantile(np.abs(y - p), 0.1))
    if method.startswith('distance'):
        gap = cal.load_gap.to_numpy() if has_load and method == 'distance' else None
        c = calibrate(y, p, 0 * y, 0.1, score='distance', distance=cal.distance.to_numpy(), load_gap=gap)
        return interval_half_width(c, np.zeros(len(test)), test)
    if method == 'mondrian4':
        r = np.abs(y - p)
        edges = np.quantile(cal.distance, [0.25, 0.5, 0.75])
        bc, bt = np.searchsorted(edges, cal.distance), np.searchsorted(edges, test.distance)
        return np.array([conformal_quantile(r[bc == b], 0.1) for b in bt])
    raise ValueError(method)


def score(recs, method, cal_kind, has_load, thr):
    "Coverage and mean width over all test rows, and for rows within `thr` of the training part ('near') and beyond."
    T = []
    for rec in recs:
        cal = pd.concat([rec['cal_group'], rec['cal_family']]) if cal_kind == 'both' else rec[f'cal_{cal_kind}']
        t = rec['test']
        h = half_widths(cal, t, method, has_load)
        T.append(pd.DataFrame(dict(cov=np.abs(t.y - t.pred) <= h, width=2 * h, near=t.distance <= thr)))
    T = pd.concat(T)
    part = lambda m: dict(coverage=float(T['cov'][m].mean()), width=float(T.width[m].mean()), n=int(m.sum()))
    return dict(all=part(T.near | ~T.near), near=part(T.near), far=part(~T.near))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_args(p)
    p.add_argument('--splits', default='group,family')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument(
        '--near', type=float, default=0.1, help="distance (fraction space) below which a test row counts as 'near'"
    )
    p.add_argument('--cache', default='/tmp/alloy_vib_interval_methods')
    p.add_argument('--out', default=str(HERE / 'results' / 'interval_methods.json'))
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from alloy_vib.core import write_json

    data = load_table(a.data, a.target, a.formula_col, a.load_col)
    res = dict(
        benchmark='interval_methods',
        started=datetime.now(timezone.utc).isoformat(),
        **environment(),
        data=a.data,
        seed=a.seed,
        protocol=__doc__.split('\n\n')[1].replace('\n', ' '),
        near_distance=a.near,
        results={},
    )
    t0 = time.perf_counter()
    for split in a.splits.split(','):
        cache = Path(a.cache) / f"{table_name(a.data)}_{split}_{a.seed}.pkl"
        if cache.exists():
            recs = pickle.loads(cache.read_bytes())
        else:
            recs = collect(data, split, a.seed)
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(pickle.dumps(recs))
        res['results'][split] = {
            f'{m} / {k} cross-fit': score(recs, m, k, data.has_load, a.near)
            for k in ('group', 'family', 'both')
            for m in ('abs', 'distance', 'distance_only', 'mondrian4')
        }
        for name, r in res['results'][split].items():
            print(
                f"{split:6s} {name:36s} coverage {r['all']['coverage']:.3f} width {r['all']['width']:6.0f} | near "
                f"{r['near']['coverage']:.3f} {r['near']['width']:6.0f} | "
                f"far {r['far']['coverage']:.3f} {r['far']['width']:6.0f}"
            )
    res['total_s'] = time.perf_counter() - t0
    write_json(res, Path(a.out))
    print(f"wrote {a.out}")


if __name__ == '__main__':
    main()
