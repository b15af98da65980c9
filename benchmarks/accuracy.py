"""Accuracy benchmark: grouped cross-validation of the VIB model against tree baselines on the same folds.

Full run (writes benchmarks/results/accuracy.json; about 60 min on 2 cores):
    python benchmarks/accuracy.py
On a machine with more cores, train the folds in parallel (the same figures: every fold is seeded):
    python benchmarks/accuracy.py --n_jobs 5 --threads 2
Another setting on the same protocol, for comparison with accuracy.json (train_vib keywords as JSON; write elsewhere):
    python benchmarks/accuracy.py --vib '{"hidden": 64, "d": 16}' --n_jobs 2 --threads 1 --out /tmp/narrow.json
Leave-one-element-out with the other two splits, no repeated seeds, keeping the out-of-fold predictions (issue 31;
writes what benchmarks/results/extrapolation.json holds):
    python benchmarks/accuracy.py --splits element,group,family --repeat_seeds '' --n_jobs 2 --threads 1 \
        --out benchmarks/results/extrapolation.json --oof_dir /tmp/oof
Smoke run for CI (tiny: 2 folds, a subset, a few epochs; < 60 s; writes benchmarks/results/accuracy_smoke.json):
    python benchmarks/accuracy.py --smoke
"""

import argparse, json, os, platform, time
from datetime import datetime, timezone
from pathlib import Path
import numpy as np
from tables import add_data_args, tables_from_args  # a sibling script (benchmarks/ is on sys.path)

HERE = Path(__file__).resolve().parent
PROTOCOL = (
    "{folds}-fold GroupKFold cross-validation (seed {seed}) over unique compositions ('group') and over element "
    "families ('family'), and leave-one-element-out ('element': each of the {element_folds} elements in most rows held "
    "out in turn with every alloy containing it); every model is trained and scored on the same folds; "
    "baselines (scikit-learn defaults) "
    "use element fractions + log(load); the VIB model's conformal calibration (cross-fitted networks) comes "
    "from the training part of each fold only."
)


def environment():
    import torch, sklearn, fastai, alloy_vib

    return dict(
        versions=dict(
            alloy_vib=alloy_vib.__version__,
            python=platform.python_version(),
            torch=torch.__version__,
            fastai=fastai.__version__,
            sklearn=sklearn.__version__,
            numpy=np.__version__,
        ),
        machine=dict(
            platform=platform.platform(),
            processor=platform.processor() or platform.machine(),
            cpu_count=os.cpu_count(),
            load_average=list(os.getloadavg()),
        ),
    )


def settings_record(vib_kwargs: dict) -> dict:
    "The VIB settings a run uses: the evaluated `TrainSettings` and network shape with `vib_kwargs` in their places."
    from alloy_vib.train import TrainSettings
    from alloy_vib.model import VIBConfig

    train, net = TrainSettings.split(vib_kwargs)
    return {
        **train.__dict__,
        'network': {k: v for k, v in {**VIBConfig(1).__dict__, **net}.items() if k != 'n_elements'},
    }


def datasets(a) -> dict:
    "The tables named by --data (paths or known names, see tables.py); every fifth row of each with --smoke."
    tabs = tables_from_args(a)
    return {k: d.subset(np.arange(0, len(d), 5)) if a.smoke else d for k, d in tabs.items()}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--smoke', action='store_true', help='tiny CI run (2 folds, subset, few epochs)')
    p.add_argument(
        '--out', default=None, help='output JSON (default results/accuracy.json, or accuracy_smoke.json with --smoke)'
    )
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--folds', type=int, default=None)
    add_data_args(p, default='mmg_hardness,mpea', many=True)
    p.add_argument('--splits', default='group,family,element')
    p.add_argument(
        '--element_folds',
        type=int,
        default=None,
        help="elements held out in turn by the 'element' split (default 10; 2 with --smoke)",
    )
    p.add_argument(
        '--oof_dir', default=None, help='also write each run\'s out-of-fold predictions as CSV into this folder'
    )
    p.add_argument(
        '--repeat_seeds', default='1,2', help="comma-separated extra seeds for the 'group' split ('' for none)"
    )
    p.add_argument(
        '--repeat_data', default='mmg_hardness', help='data sets whose group split is repeated with those seeds'
    )
    p.add_argument(
        '--n_jobs', type=int, default=1, help='VIB folds trained at once (joblib worker processes); same figures as 1'
    )
    p.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch threads per VIB fold (default: the cores shared between the workers)',
    )
    p.add_argument(
        '--vib',
        default='{}',
        help='JSON object of train_vib keywords that replace the evaluated setting, e.g. \'{"hidden": 64}\'',
    )
    a = p.parse_args(argv)
    from alloy_vib.evaluate import cross_validate
    from alloy_vib.core import write_json

    folds = a.folds or (2 if a.smoke else 5)
    element_folds = a.element_folds or (2 if a.smoke else 10)
    vib_kwargs = {**(dict(n_models=1, epochs=3, warmup_epochs=1) if a.smoke else {}), **json.loads(a.vib)}
    cv_kw = dict(n_jobs=a.n_jobs, vib_kwargs={**vib_kwargs, **({'threads': a.threads} if a.threads else {})})
    out = Path(a.out) if a.out else HERE / 'results' / ('accuracy_smoke.json' if a.smoke else 'accuracy.json')
    res = dict(
        benchmark='accuracy',
        smoke=a.smoke,
        protocol=PROTOCOL.format(folds=folds, seed=a.seed, element_folds=element_folds),
        seed=a.seed,
        folds=folds,
        element_folds=element_folds,
        n_jobs=a.n_jobs,
        threads_per_fold=a.threads,
        vib_settings=settings_record(vib_kwargs),
        started=datetime.now(timezone.utc).isoformat(),
        **environment(),
        results={},
    )
    t0 = time.perf_counter()
    for name, data in datasets(a).items():
        res['results'][name] = {'n_rows': len(data), 'has_load': data.has_load, 'data_sha256': data.checksum}
        for split in a.splits.split(','):
            r = cross_validate(data, split, element_folds if split == 'element' else folds, a.seed, **cv_kw)
            d = r.to_dict()
            o = r.oof
            d['fold_mae'] = {
                m: [float((o.y - o[f'pred_{m}'])[o.fold == i].abs().mean()) for i in range(len(r.folds))]
                for m in r.metrics
            }
            if 'vib' in r.metrics:  # the VIB interval fold by fold: coverage, width and the share of calibrated rows
                inside = (o.y >= o.vib_lo) & (o.y <= o.vib_hi)
                d['fold_vib'] = {
                    k: [float(v[o.fold == i].mean()) for i in range(len(r.folds))]
                    for k, v in dict(
                        coverage90=inside,
                        width90=o.vib_hi - o.vib_lo,
                        calibrated=o.vib_calibrated,
                        in_domain=o.vib_in_domain,
                    ).items()
                }
            if a.oof_dir:
                Path(a.oof_dir).mkdir(parents=True, exist_ok=True)
                r.oof.reset_index().to_csv(Path(a.oof_dir) / f'{name}_{split}.csv', index=False)
            res['results'][name][split] = d
            print(
                f"{name} {split}: "
                + ", ".join(f"{m} {v['mae']:.1f}" for m, v in r.metrics.items())
                + (
                    f"; VIB/best {r.vib_to_best_baseline_mae:.3f}; "
                    f"coverage {r.metrics['vib']['coverage90']:.3f}, out of the "
                    f"domain {r.metrics['vib'].get('coverage90_out_of_domain', float('nan')):.3f}, uncalibrated "
                    f"{r.metrics['vib'].get('coverage90_uncalibrated', float('nan')):.3f}"
                    if 'vib' in r.metrics
                    else ''
                ),
                flush=True,
            )
            write_json(res, out)  # partial results survive an interrupted run
        # the same protocol with other seeds (other folds, other network seeds): how much of a ratio is chance
        seeds = (
            [int(x) for x in a.repeat_seeds.split(',') if x.strip()]
            if not a.smoke and name in a.repeat_data.split(',')
            else []
        )
        if seeds and 'group' in a.splits.split(','):
            reps = {a.seed: res['results'][name]['group']}
            for s in seeds:
                r = cross_validate(data, 'group', folds, s, **cv_kw)
                reps[s] = r.to_dict()
                print(
                    f"{name} group seed {s}: "
                    + ", ".join(f"{m} {v['mae']:.1f}" for m, v in r.metrics.items())
                    + f"; VIB/best {r.vib_to_best_baseline_mae:.3f}",
                    flush=True,
                )
            ratios = [v['vib_to_best_baseline_mae'] for v in reps.values()]
            res['results'][name]['group_seeds'] = {
                'seeds': list(reps),
                'vib_mae': [v['models']['vib']['mae'] for v in reps.values()],
                'best_baseline': [v['best_baseline'] for v in reps.values()],
                'best_baseline_mae': [v['models'][v['best_baseline']]['mae'] for v in reps.values()],
                'vib_to_best_baseline_mae': ratios,
                'mean_ratio': float(np.mean(ratios)),
                'sd_ratio': float(np.std(ratios, ddof=1)),
                'coverage90': [v['models']['vib']['coverage90'] for v in reps.values()],
            }
            write_json(res, out)
    res['total_s'] = time.perf_counter() - t0
    write_json(res, out)
    print(f"wrote {out} in {res['total_s']:.0f} s")


if __name__ == '__main__':
    main()
