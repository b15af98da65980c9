"""One campaign round, timed, and the campaign's model update against a full retrain (issue 32, item 2).

(a) Round time. A model is trained with the evaluated settings on the default data less 5 bulk rows (load >= 0.49 N,
    5 compositions chosen with --seed), and a campaign is started from it (`alloy_vib.cli.start_campaign`, its first
    round from a pool of 10,000 random compositions over the data's elements, `alloy_vib.data.random_compositions`,
    rounded to the 0.005 grid). Timed: `alloy_vib.cli.continue_campaign` with those 5 real measurements as the results
    (read and checked, recorded, `update_model` on the enlarged table, 5 suggestions out of the 10,000 candidates, the
    folder rewritten whole). Goal: <= 30 s on 2 cores.
(b) Update against retrain. The training part of outer fold 0 (composition groups, seed 0; `--outer_fold`) is
    split into 3 inner folds by composition (seed 1), as benchmarks/inner_folds.py does. In each inner fold, 5
    training compositions (seeded) play the round's new results: a base model is trained without them, then
      - update: `alloy_vib.campaign.update_model(base, base rows + new rows)` (warm start, fine-tune, re-calibrate);
      - retrain: `train_vib(base rows + new rows)` from scratch, seeds 0, 1, 2;
    and each is scored on the inner fold's held-out compositions. Required: the update's held-out MAE within the
    retrains' seed spread (at most their largest MAE), and the update at least 3x faster than a retrain (the ratio of
    their times, measured in the same run).

    python benchmarks/campaign_round.py            # writes benchmarks/results/campaign_round.json
    python benchmarks/campaign_round.py --part b --inner_folds 1 --out …   # (b) alone on one inner fold
    python benchmarks/campaign_round.py --smoke    # seconds; writes benchmarks/results/campaign_round_smoke.json
Timings on a shared machine are noisy: the ratio in (b) is what to compare, best the ratio of CPU times (one torch
thread: `--threads 1`), which other jobs on the machine do not inflate; the load average is recorded.
"""
import argparse, json, os, tempfile, time, warnings
from datetime import datetime, timezone
from pathlib import Path
import numpy as np, pandas as pd
from accuracy import environment   # a sibling script: Python puts benchmarks/ on sys.path when a script in it runs

HERE = Path(__file__).resolve().parent


def new_rows(d, n: int, seed: int, bulk: bool = True) -> np.ndarray:
    "Rows of `n` distinct compositions of `d` (bulk rows only with `bulk`), chosen with `seed`: the round's results."
    rows = np.flatnonzero(d.load >= 0.49) if bulk and d.load is not None else np.arange(len(d))
    groups = np.random.default_rng(seed).permutation(np.unique(d.groups[rows]))[:n]
    return np.array([rows[np.flatnonzero(d.groups[rows] == g)[0]] for g in groups])


def round_time(data, kw: dict, n_candidates: int, seed: int, log) -> dict:
    "(a): the time of one round through `continue_campaign` (see the module's docstring)."
    from alloy_vib.cli import start_campaign, continue_campaign, measured_frame
    from alloy_vib.data import random_compositions, load_hardness_data
    from alloy_vib.design import sparsify_round
    from alloy_vib.train import train_vib
    held = new_rows(data, 5, seed)
    rest = data.subset(np.setdiff1d(np.arange(len(data)), held))
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        measured_frame(rest).to_csv(d/'measured.csv', index=False)
        measured_frame(data.subset(held)).to_csv(d/'results.csv', index=False)
        m = load_hardness_data(d/'measured.csv', verbose=False)     # the campaign's table, as it will read it
        X = sparsify_round(random_compositions(n_candidates, len(m.elements), 5, seed), step=0.005)
        pd.DataFrame(X, columns=m.elements).to_csv(d/'pool.csv', index=False)
        t0 = time.perf_counter()
        train_vib(m, seed=seed, **kw).save(d/'model')
        t_train = time.perf_counter() - t0
        log(f"(a) base model trained in {t_train:.1f} s; starting the campaign from {n_candidates} candidates")
        quiet = lambda m: None
        start_campaign(d/'campaign', d/'measured.csv', d/'pool.csv', target=2000, load=1, n=5, model=d/'model',
                       log=quiet)
        t0, c0 = time.perf_counter(), time.process_time()
        st = continue_campaign(d/'campaign', d/'results.csv', log=quiet)
        t_round, c_round = time.perf_counter() - t0, time.process_time() - c0   # wall and CPU time of this process
    r = st['rounds'][-1]
    return dict(round_s=t_round, round_cpu_s=c_round, update_s=r['seconds']['model'], suggest_s=r['seconds']['suggest'],
                rest_s=t_round - r['seconds']['model'] - r['seconds']['suggest'], base_train_s=t_train,
                n_candidates=int(len(X)), n_results=len(held), n_measured=r['n_measured'],
                results=[dict(formula=x['formula'], load=x['load'], value=x['value']) for x in st['results']],
                best_p_target=max(s['p_target'] for s in r['suggestions']), goal_s=30.0)


def update_vs_retrain(data, kw: dict, seeds, n_inner: int, seed: int, log, partial=lambda r: None,
                      updates=({},), outer: int = 0) -> dict:
    """(b): update_model against full retrains on inner composition folds (see the module's docstring). Each entry of
    `updates` (keywords of update_model: {} its defaults, {'epochs': 38}, {'calib_folds': 3}) is one update of the same
    base model; the first is reported as 'update', the others as 'update_<k>=<v>' (they share the base models and
    retrains, so they cost little more). Also reported: each model's 90 % interval on the held-out rows (coverage and
    mean width), since the update re-calibrates."""
    from alloy_vib.campaign import update_model
    from alloy_vib.evaluate import cv_folds
    from alloy_vib.train import train_vib, group_folds
    d = data.subset(cv_folds(data, 'group', 5, 0)[outer][0])
    inner = group_folds(d.groups, 3, 1)[:n_inner]
    ups = {('update' if i == 0 else 'update_' + (','.join(f'{k}={v}' for k, v in u.items()) or 'default')): u
           for i, u in enumerate(updates)}
    pred = {**{k: np.full(len(d), np.nan) for k in ups}, **{f'retrain_{s}': np.full(len(d), np.nan) for s in seeds}}
    lo, hi = ({k: np.full(len(d), np.nan) for k in pred} for _ in range(2))
    secs = {k: [] for k in pred}; cpu = {k: [] for k in pred}; folds = []   # wall and CPU seconds of this process
    for f, (tr, te) in enumerate(inner):
        sub = d.subset(tr)
        new = new_rows(sub, 5, seed + f)
        base = sub.subset(np.setdiff1d(np.arange(len(sub)), new))
        grown = sub.subset(np.r_[np.setdiff1d(np.arange(len(sub)), new), new])   # the base rows, then the new results
        L = None if d.load is None else d.load[te]
        done = lambda k: dict(fold=f, what=k, seconds=secs[k][-1], cpu_s=cpu[k][-1],
                              mae=float(np.abs(pred[k][te] - d.y[te]).mean()))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)
            m0 = train_vib(base, seed=seed, **kw)
            runs = [(k, lambda u=u: update_model(m0, grown, seed=seed, **u)) for k, u in ups.items()]
            runs += [(f'retrain_{s}', lambda s=s: train_vib(grown, seed=s, **kw)) for s in seeds]
            for k, fit in runs:
                t0, c0 = time.perf_counter(), time.process_time(); m = fit()
                secs[k].append(time.perf_counter() - t0); cpu[k].append(time.process_time() - c0)
                pf = m.predict_frame(d.X[te], L)
                pred[k][te], lo[k][te], hi[k][te] = pf.hv_pred, pf.hv_lo, pf.hv_hi
                log(f"(b) fold {f}: {done(k)}"); partial(done(k))
        fm = {k: float(np.abs(p[te] - d.y[te]).mean()) for k, p in pred.items()}
        folds.append(dict(fold=f, n_train=len(grown), n_test=len(te), mae=fm,
                          seconds={k: v[-1] for k, v in secs.items()}, cpu_s={k: v[-1] for k, v in cpu.items()},
                          new=[grown.formulas[i] for i in range(len(base), len(grown))]))
        t_re = np.mean([secs[f'retrain_{s}'][-1] for s in seeds])
        log(f"(b) inner fold {f}: MAE update {fm['update']:.1f}, retrains " +
            ', '.join(f"{fm[f'retrain_{s}']:.1f}" for s in seeds) +
            f"; update {secs['update'][-1]:.1f} s, retrain {t_re:.1f} s")
    held = np.isfinite(pred['update'])
    mae = {k: float(np.abs(p[held] - d.y[held]).mean()) for k, p in pred.items()}
    y = d.y[held]
    interval = {k: dict(coverage=float(((lo[k][held] <= y) & (y <= hi[k][held])).mean()),
                        width=float((hi[k][held] - lo[k][held]).mean())) for k in pred}
    re = [mae[f'retrain_{s}'] for s in seeds]
    t_re = float(np.mean([np.sum(secs[f'retrain_{s}']) for s in seeds]))
    c_re = float(np.mean([np.sum(cpu[f'retrain_{s}']) for s in seeds]))
    def summary(k):
        t_up, c_up = float(np.sum(secs[k])), float(np.sum(cpu[k]))
        return dict(update_kw=ups[k], update_within_seed_spread=bool(mae[k] <= max(re)),
                    update_s=t_up, speedup=t_re/t_up, speedup_at_least_3=bool(t_re/t_up >= 3), update_cpu_s=c_up,
                    cpu_speedup=c_re/c_up, cpu_speedup_at_least_3=bool(c_re/c_up >= 3))
    return dict(protocol=f'outer fold {outer} (group, seed 0) training part; {len(inner)} of 3 inner group folds '
                         f'(seed 1); '
                         f'5 new compositions per inner fold (seed {seed} + fold)', n_rows=len(d), folds=folds, mae=mae,
                interval_90=interval,
                retrain_mae_min=min(re), retrain_mae_max=max(re), retrain_mae_mean=float(np.mean(re)),
                retrain_mae_sd=float(np.std(re, ddof=1)) if len(re) > 1 else 0.0, retrain_s=t_re, retrain_cpu_s=c_re,
                **summary('update'), others={k: summary(k) for k in ups if k != 'update'})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=None, help='the measured table (default: the default data)')
    p.add_argument('--out', default=None, help='output JSON (default results/campaign_round[_smoke].json)')
    p.add_argument('--smoke', action='store_true', help='tiny run: a third of the data, few epochs, 1 inner fold')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--part', default='ab', help="'a' (round time), 'b' (update vs retrain) or 'ab'")
    p.add_argument('--inner_folds', type=int, default=3, help='inner folds in (b), 1 to 3 (each costs 5 trainings)')
    p.add_argument('--updates', default='[{}]',
                   help="(b): JSON list of update_model keywords, one update of the same base each (default [{}])")
    p.add_argument('--outer_fold', type=int, default=0, help='(b): the outer group fold (0-4) whose training part')
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: as set; 1 on a shared machine)')
    a = p.parse_args(argv)
    import torch
    if a.threads: torch.set_num_threads(a.threads)
    from alloy_vib.data import load_hardness_data
    from alloy_vib.core import write_json
    out = Path(a.out) if a.out else HERE/'results'/('campaign_round_smoke.json' if a.smoke else 'campaign_round.json')
    data = load_hardness_data(a.data, verbose=False)
    kw = dict(epochs=3, n_models=2, calib_folds=2) if a.smoke else {}    # {}: the evaluated TrainSettings
    if a.smoke: data = data.subset(np.arange(0, len(data), 3))
    log = lambda m: print(m, flush=True)
    res = dict(benchmark='campaign_round', smoke=a.smoke, seed=a.seed, started=datetime.now(timezone.utc).isoformat(),
               **environment(), data=str(data.source), n_rows=len(data), torch_threads=torch.get_num_threads(),
               train_settings=kw or 'TrainSettings() (evaluated)')
    if 'a' in a.part:
        res['round'] = round_time(data, kw, 1000 if a.smoke else 10_000, a.seed, log)
        r = res['round']
        log(f"(a) one round: {r['round_s']:.1f} s (update {r['update_s']:.1f} s, suggest {r['suggest_s']:.1f} s, "
            f"reading and writing {r['rest_s']:.1f} s) for {r['n_results']} results in and 5 suggestions out of "
            f"{r['n_candidates']} candidates; its CPU time {r['round_cpu_s']:.1f} s; goal 30 s")
        write_json(res, out)
    if 'b' in a.part:
        res['update_vs_retrain_partial'] = []
        def partial(r): res['update_vs_retrain_partial'].append(r); write_json(res, out)   # survives an interrupted run
        ups = json.loads(a.updates)
        u = update_vs_retrain(data, kw, [0, 1, 2], 1 if a.smoke else a.inner_folds, a.seed, log, partial, ups,
                              a.outer_fold)
        res['update_vs_retrain'] = u
        log(f"(b) held-out MAE: update {u['mae']['update']:.1f}; retrains (seeds 0-2) {u['retrain_mae_min']:.1f}–"
            f"{u['retrain_mae_max']:.1f} (within: {u['update_within_seed_spread']}); "
            f"time: update {u['update_s']:.1f} s, retrain {u['retrain_s']:.1f} s, "
            f"{u['speedup']:.1f}x (>= 3: {u['speedup_at_least_3']}); CPU time {u['cpu_speedup']:.1f}x")
        for k, o in u['others'].items():
            log(f"(b) {k}: MAE {u['mae'][k]:.1f} (within: {o['update_within_seed_spread']}); "
                f"{o['speedup']:.1f}x, CPU time {o['cpu_speedup']:.1f}x")
        log("(b) 90 % intervals on the held-out rows (coverage, mean width): " +
            '; '.join(f"{k} {v['coverage']:.3f}, {v['width']:.0f}" for k, v in u['interval_90'].items()))
    res['load_average_end'] = list(os.getloadavg())
    write_json(res, out)
    log(f"wrote {out}")


if __name__ == '__main__':
    main()
