"""Prediction throughput of smaller networks, in one run: `predict_arrays` rows/s of a 5-network ensemble for the
evaluated shape and for narrower ones (the weights do not matter for speed, so each model trains for 3 epochs only).

    python benchmarks/predict_network_size.py      # -> benchmarks/results/predict_network_size.json
"""

import argparse, os, time, warnings
from datetime import datetime, timezone
from pathlib import Path
import numpy as np
from accuracy import environment  # a sibling script: Python puts benchmarks/ on sys.path when a script in it runs
from tables import add_data_args, load_table  # a sibling script (benchmarks/ is on sys.path)

HERE = Path(__file__).resolve().parent
EVALUATED = 'evaluated (hidden 128, d 32)'
SHAPES = {EVALUATED: {}, 'hidden 64': dict(hidden=64), 'd 16': dict(d=16), 'hidden 64, d 16': dict(hidden=64, d=16)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--rows', type=int, default=200_000)
    add_data_args(p)
    p.add_argument('--repeats', type=int, default=3, help='timed passes per shape, interleaved; the best is kept')
    p.add_argument('--out', default=str(HERE / 'results' / 'predict_network_size.json'))
    a = p.parse_args(argv)
    from alloy_vib.train import train_vib
    from alloy_vib.core import write_json
    import torch

    res = dict(
        benchmark='predict_network_size',
        started=datetime.now(timezone.utc).isoformat(),
        **environment(),
        torch_threads=torch.get_num_threads(),
        rows=a.rows,
    )  # the machine's state before anything runs
    data = load_table(a.data, a.target, a.formula_col, a.load_col)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        models = {
            k: train_vib(data, seed=0, epochs=3, warmup_epochs=1, calib_folds=0, **kw) for k, kw in SHAPES.items()
        }
    idx = np.random.default_rng(0).integers(0, len(data), a.rows)
    X, L = data.X[idx], data.load[idx]
    for m in models.values():
        m.predict_arrays(X[:1000], L[:1000])  # warm-up
    rates = {k: [] for k in models}
    for _ in range(a.repeats):
        for k, m in models.items():
            t = time.perf_counter()
            m.predict_arrays(X, L)
            rates[k].append(a.rows / (time.perf_counter() - t))
    res.update(
        shapes={k: dict(settings=SHAPES[k], rows_per_s=v, best_rows_per_s=max(v)) for k, v in rates.items()},
        speedup_to_evaluated={k: max(v) / max(rates[EVALUATED]) for k, v in rates.items()},
        load_average_end=list(os.getloadavg()),
    )
    write_json(res, Path(a.out))
    for k, v in rates.items():
        print(f"{k}: best {max(v):,.0f} rows/s ({res['speedup_to_evaluated'][k]:.2f}x the evaluated shape)")


if __name__ == '__main__':
    main()
