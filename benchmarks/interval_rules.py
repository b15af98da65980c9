"""Rules for intervals beyond the calibrated range, rescored on saved out-of-fold predictions (issue 31).

`benchmarks/accuracy.py --oof_dir DIR` saves, for every fold's test rows, the VIB prediction, the interval the library
gives (`vib_lo`, `vib_hi`), the calibrated rule alone before any widening (`vib_lo_rule`, `vib_hi_rule`: the fitted
distance/load-gap scale with the spread floor), `distance`, `load_gap` and `calibrated`, and its JSON keeps each
fold's calibration record (`vib_calibrations`: `range`, `y_range`). Three rules for rows that are not calibrated can
then be compared on the same predictions, without training:

* library: every row that is not calibrated (beyond the calibrated distance or load gap, or with an element its
  fold never trained on) also spans the central 1 − α range of the training hardness (`y_range`);
* beyond_only: only rows beyond the calibrated distance or load gap are widened; a row with an unseen element but
  within that range keeps the rule (its unseen fraction counts in full in its distance);
* rule: no widening at all.

The library rule is recomputed from the rule columns and checked against the saved interval first, so the other two
are exact what-ifs on the same networks.

    python benchmarks/interval_rules.py --results benchmarks/results/extrapolation.json \
        --oof_dir benchmarks/results/extrapolation_oof      # writes benchmarks/results/interval_rules.json (seconds)
"""

import argparse, json
from datetime import datetime, timezone
from pathlib import Path
import numpy as np, pandas as pd
from tables import add_data_args, tables_from_args  # a sibling script: benchmarks/ is on sys.path

HERE = Path(__file__).resolve().parent


def widen(lo, hi, rows, y_range):
    "The interval (lo, hi) with `rows` widened to span `y_range` (one [lo, hi] per row), lo cut at 0."
    lo, hi = np.array(lo, float), np.array(hi, float)
    lo[rows] = np.maximum(np.minimum(lo[rows], y_range[rows, 0]), 0)
    hi[rows] = np.maximum(hi[rows], y_range[rows, 1])
    return lo, hi


def scores(y, lo, hi, rows) -> dict | None:
    if not rows.any():
        return None
    return dict(
        n=int(rows.sum()), coverage90=float(((y >= lo) & (y <= hi))[rows].mean()), width90=float((hi - lo)[rows].mean())
    )


def rescore(data, r: dict, oof: pd.DataFrame) -> dict:
    "Coverage and width of each rule (module docstring) over all rows and by kind of row, for one cross-validation."
    from alloy_vib.evaluate import cv_folds

    folds = cv_folds(data, r['split'], r['folds'], r['seed'])
    fold = oof.fold.to_numpy()
    unseen = np.zeros(len(oof), bool)
    for i, (tr, _) in enumerate(folds):
        seen, m = (data.X[tr] > 0).any(0), fold == i
        unseen[m] = (data.X[oof.row.to_numpy()[m]][:, ~seen] > 0).any(1)
    cals = r['vib_calibrations']
    y_range = np.array([cals[f]['y_range'] for f in fold])
    rng = [cals[f]['range'] for f in fold]
    beyond = (oof.vib_distance.to_numpy() > np.array([g['distance'] for g in rng]) + 1e-6) | (
        oof.vib_load_gap.fillna(0).to_numpy() > np.array([g.get('load_gap', np.inf) for g in rng]) + 1e-6
    )
    cal = oof.vib_calibrated.to_numpy(bool)
    rule = (oof.vib_lo_rule.to_numpy(), oof.vib_hi_rule.to_numpy())
    rules = dict(library=widen(*rule, ~cal, y_range), beyond_only=widen(*rule, beyond, y_range), rule=rule)
    lib_lo, lib_hi = rules['library']
    assert np.allclose(lib_lo, oof.vib_lo, atol=1e-6) and np.allclose(lib_hi, oof.vib_hi, atol=1e-6), (
        "library rule not reproduced"
    )
    y, ind = oof.y.to_numpy(), oof.vib_in_domain.to_numpy(bool)
    kinds = dict(
        all=np.ones(len(oof), bool),
        out_of_domain=~ind,
        calibrated=cal,
        uncalibrated=~cal,
        beyond_range=beyond,
        unseen_element=unseen,
        unseen_element_within_range=unseen & ~beyond,
    )
    return dict(
        shares={k: float(v.mean()) for k, v in kinds.items()},
        rules={name: {k: scores(y, lo, hi, v) for k, v in kinds.items()} for name, (lo, hi) in rules.items()},
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--results', required=True, help="JSON written by accuracy.py with --oof_dir")
    p.add_argument('--oof_dir', required=True, help="the folder of out-of-fold CSVs it wrote (or their .csv.gz)")
    p.add_argument('--out', default=str(HERE / 'results' / 'interval_rules.json'))
    add_data_args(p, default='mmg_hardness,mpea', many=True)  # the tables the results were made on
    a = p.parse_args(argv)
    from alloy_vib.core import write_json

    res, data = json.loads(Path(a.results).read_text()), tables_from_args(a)
    out = dict(
        benchmark='interval_rules',
        results_file=str(a.results),
        started=datetime.now(timezone.utc).isoformat(),
        protocol=__doc__.split('\n\n')[1],
        results={},
    )
    for ds, v in res['results'].items():
        for split, r in v.items():
            f = next(
                (
                    g
                    for g in (Path(a.oof_dir) / f'{ds}_{split}.csv', Path(a.oof_dir) / f'{ds}_{split}.csv.gz')
                    if g.exists()
                ),
                None,
            )
            if not isinstance(r, dict) or 'models' not in r or f is None:
                continue
            out['results'].setdefault(ds, {})[split] = s = rescore(data[ds], r, pd.read_csv(f))
            print(
                f"{ds} {split}: "
                + "; ".join(
                    f"{k} {w['all']['coverage90']:.3f} / {w['all']['width90']:.0f} HV" for k, w in s['rules'].items()
                ),
                flush=True,
            )
    write_json(out, a.out)
    print(f"wrote {a.out}")


if __name__ == '__main__':
    main()
