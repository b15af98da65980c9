"""Loads outside the range measured near a composition (issue 31, item 3): extrapolate the load law, or clamp?

The default data hold a few compositions measured at two loads. For each side ('below': each such composition's
smallest load held out; 'above': its largest), one model is trained (the evaluated `TrainSettings`, seed 0) on every
other row, so the held-out row asks about that composition at a load below (or above) every load measured on it. Each
held-out row is then predicted two ways:

* extrapolated: `predict_frame` at its own load (the network's load law, which never rises with load: what the
  library does);
* clamped: `predict_frame` at the nearest load still measured on that composition (what clamping would do);

and its interval (`hv_lo`, `hv_hi`), `load_gap` and `calibrated` flag are recorded. The JSON gives, per side and
pooled, the MAE of both, the coverage of the interval and the share of rows flagged as not calibrated.

    python benchmarks/load_range.py                 # writes benchmarks/results/load_range.json (2 trainings)
    python benchmarks/load_range.py --smoke         # a few epochs, one network; writes results/load_range_smoke.json
"""

import argparse, time
from datetime import datetime, timezone
from pathlib import Path
import numpy as np, pandas as pd
from accuracy import environment  # a sibling script: Python puts benchmarks/ on sys.path when a script in it runs

HERE = Path(__file__).resolve().parent


def multi_load_rows(data) -> pd.DataFrame:
    "Rows of compositions measured at more than one load: row, group, load."
    df = pd.DataFrame(dict(row=np.arange(len(data)), group=data.groups, load=data.load))
    return df[df.groupby('group').load.transform('nunique') > 1]


def held_out_side(data, side: str, settings: dict, seed: int = 0) -> pd.DataFrame:
    "Train without each multi-load composition's smallest ('below') or largest ('above') load; predict those rows."
    from alloy_vib.train import train_vib

    ml = multi_load_rows(data)
    pick = ml.groupby('group').load.transform('min' if side == 'below' else 'max') == ml.load
    held, kept = ml[pick], ml[~pick]
    model = train_vib(data.subset(np.setdiff1d(np.arange(len(data)), held.row)), seed=seed, **settings)
    near = [kept[kept.group == g].load.to_numpy() for g in held.group]
    L = held.load.to_numpy(float)
    L_near = np.array([k[np.argmin(np.abs(np.log10(k) - np.log10(l)))] for k, l in zip(near, L)])
    X = data.X[held.row.to_numpy()]
    ext, clamp = model.predict_frame(X, L), model.predict_frame(X, L_near)
    y = data.y[held.row.to_numpy()]
    return pd.DataFrame(
        dict(
            side=side,
            formula=ext.formula,
            load=L,
            load_near=L_near,
            hv=y,
            hv_extrapolated=ext.hv_pred,
            hv_clamped=clamp.hv_pred,
            hv_lo=ext.hv_lo,
            hv_hi=ext.hv_hi,
            load_gap=ext.load_gap,
            in_domain=ext.in_domain,
            calibrated=ext.calibrated,
            covered=(y >= ext.hv_lo) & (y <= ext.hv_hi),
        )
    )


def summary(df: pd.DataFrame) -> dict:
    return dict(
        n=len(df),
        mae_extrapolated=float((df.hv - df.hv_extrapolated).abs().mean()),
        mae_clamped=float((df.hv - df.hv_clamped).abs().mean()),
        extrapolated_closer=int(((df.hv - df.hv_extrapolated).abs() < (df.hv - df.hv_clamped).abs()).sum()),
        coverage90=float(df.covered.mean()),
        width90=float((df.hv_hi - df.hv_lo).mean()),
        calibrated=float(df.calibrated.mean()),
        in_domain=float(df.in_domain.mean()),
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=None, help='table with a load column (default: the default data set)')
    p.add_argument(
        '--out', default=None, help='output JSON (default results/load_range.json, or load_range_smoke.json)'
    )
    p.add_argument('--smoke', action='store_true', help='a few epochs, one network (seconds)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=None, help='torch threads while training')
    a = p.parse_args(argv)
    from alloy_vib.data import load_hardness_data
    from alloy_vib.core import write_json

    data = load_hardness_data(a.data)
    settings = {
        **(dict(n_models=1, epochs=3, warmup_epochs=1, calib_folds=2) if a.smoke else {}),
        **({'threads': a.threads} if a.threads else {}),
    }
    out = Path(a.out) if a.out else HERE / 'results' / ('load_range_smoke.json' if a.smoke else 'load_range.json')
    t0 = time.perf_counter()
    rows = pd.concat([held_out_side(data, side, settings, a.seed) for side in ('below', 'above')], ignore_index=True)
    ml = multi_load_rows(data)
    lo_hi = ml.assign(y=data.y[ml.row]).sort_values('load').groupby('group').y.agg(['first', 'last'])
    res = dict(
        benchmark='load_range',
        smoke=a.smoke,
        seed=a.seed,
        source=str(data.source),
        data_sha256=data.checksum,
        started=datetime.now(timezone.utc).isoformat(),
        settings=settings,
        protocol=__doc__.split('\n\n')[1],
        measured_ratio_low_to_high=(lo_hi['first'] / lo_hi['last']).round(3).tolist(),
        summary={
            k: summary(v)
            for k, v in [('below', rows[rows.side == 'below']), ('above', rows[rows.side == 'above']), ('all', rows)]
        },
        rows=rows.round(4).to_dict(orient='records'),
        **environment(),
    )
    res['total_s'] = time.perf_counter() - t0
    write_json(res, out)
    for k, v in res['summary'].items():
        print(
            f"{k}: n {v['n']}, MAE extrapolated {v['mae_extrapolated']:.1f}, clamped {v['mae_clamped']:.1f}; "
            f"coverage {v['coverage90']:.2f}, calibrated {v['calibrated']:.2f}"
        )
    print(f"wrote {out} in {res['total_s']:.0f} s")


if __name__ == '__main__':
    main()
