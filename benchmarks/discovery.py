"""Discovery backtest: pool-based simulated campaigns. Does following alloy_vib find the hardest alloys of a pool sooner
than ExtraTrees or chance?

    python benchmarks/discovery.py --n_jobs 2            # the test seeds 3-12 -> benchmarks/results/discovery.json
    python benchmarks/discovery.py --smoke               # seconds  -> benchmarks/results/discovery_smoke.json

Pools (hardness hidden until an alloy is "measured"):
- bulk: the rows of the default data (`--data`) at loads >= 0.49 N (the 0.01 N B-Fe-Nb films are left out); rows
  repeating a (composition, load) are averaged; a composition measured at several bulk loads (5 of 348) keeps its
  lowest load. Each candidate is a composition at its measured load.
- mpea: the MPEA data set, composition only (no load); duplicate compositions averaged.

Protocol (as issue 32): the top 5 % of a pool are its ceil(0.05 N) hardest alloys. A campaign starts from 10 random
alloys of the softest 80 % (the same 10 for every strategy of a seed), then measures batches of 5 chosen by the
strategy until 50 experiments beyond the first 10 are spent (60 alloys measured). Reported per pool and strategy over
the seeds: the experiments until the first top-5 % alloy is measured (median and mean; a campaign that never finds one
counts budget + 1 = 51) and the share of the top 5 % found within the budget.

Strategies: random; ExtraTrees (100 trees, fractions and log10 load) greedy (mean over the trees) and UCB (mean + 1 std
over the trees); alloy_vib greedy and alloy_vib's default acquisition (expected improvement), both through
`alloy_vib.campaign.suggest` with the unmeasured pool as candidates, the model trained on the measured alloys with
`VIB` below: `train_vib` (60 epochs, 5 networks, 5 calibration folds) on the first 10, then each round
`update_model` (a warm start, 20 epochs: a third of the first training's; its default rate, a quarter of the first
training's, without a new KL warm-up) on everything measured so far. Seeds 0-2 choose settings; 3-12 and 13-22 test.
Beyond the issue's five: vib_ucb, alloy_vib with UCB (mean + κσ, calibrated σ; κ and the believer's length scale in
`VIB_UCB`, chosen on seeds 0-2 of both pools), to show the default acquisition against the one the MPEA pool favours.
"""
from __future__ import annotations
import argparse, json, math, os, platform, sys, time, warnings
from pathlib import Path
import numpy as np, pandas as pd, torch
from joblib import Parallel, delayed
from sklearn.ensemble import ExtraTreesRegressor
from alloy_vib.core import write_json
from alloy_vib.data import make_alloy_data
from alloy_vib.train import train_vib
from alloy_vib.campaign import suggest, update_model, candidate_spacing

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tables import load_table   # noqa: E402

HERE = Path(__file__).resolve().parent
STRATEGIES = ('random', 'et_greedy', 'et_ucb', 'vib_greedy', 'vib_ei', 'vib_ucb')
PROTOCOL = dict(n_init=10, soft_quantile=0.8, batch=5, budget=50, top_frac=0.05)
# alloy_vib's campaign settings (fixed on pool bulk, seeds 0-2; LOG.md "discovery" says what was tried)
VIB = dict(train=dict(epochs=60, n_models=5, calib_folds=5), update='warm', update_epochs=20, acquisition='ei')
ET = dict(n_estimators=100, kappa=1.0)
# vib_ucb, alloy_vib with UCB (not its default): κ and ℓ as chosen on seeds 0-2 of both pools (LOG.md, second search)
VIB_UCB = dict(kappa=0.75, ell_frac=0.5)


# ------------------------------------------------------------------------------------------------------------ pools
def bulk_pool(data):
    "Unique compositions of the rows at >= 0.49 N, each at one load (see the module docstring)."
    b = data.load >= 0.49
    df = pd.DataFrame(data.X[b], columns=data.elements)
    df['_f'], df['_L'], df['_y'] = np.array(data.formulas)[b], data.load[b], data.y[b]
    g = df.groupby(['_f', '_L'], as_index=False, sort=True).mean(numeric_only=True)
    g = g.sort_values(['_f', '_L'], kind='stable').groupby('_f').head(1).reset_index(drop=True)
    return make_alloy_data(g[data.elements].to_numpy(), data.elements, g._y.to_numpy(), g._L.to_numpy(),
                           data.target, f"{data.source} (bulk pool)", data.checksum)


def mpea_pool(data):
    "Unique compositions of the MPEA data, duplicates averaged, no load."
    df = pd.DataFrame(data.X, columns=data.elements)
    df['_f'], df['_y'] = data.formulas, data.y
    g = df.groupby('_f', as_index=False, sort=True).mean(numeric_only=True)
    return make_alloy_data(g[data.elements].to_numpy(), data.elements, g._y.to_numpy(), None, data.target,
                           f"{data.source} (pool)", data.checksum)


def make_pool(name: str, data_spec: str):
    if name == 'bulk': return bulk_pool(load_table(data_spec))
    if name == 'mpea': return mpea_pool(load_table('mpea'))
    raise SystemExit(f"discovery.py: --pool must be bulk or mpea, got {name!r}")


def hardest(pool, k: int = 3) -> np.ndarray:
    "The pool's `k` hardest alloys (row indices, hardest first)."
    return np.argsort(-pool.y, kind='stable')[:k]


def top_set(pool, frac: float) -> np.ndarray:
    return hardest(pool, math.ceil(frac*len(pool)))


def initial(pool, seed: int, n: int, soft_quantile: float) -> np.ndarray:
    soft = np.flatnonzero(pool.y < np.quantile(pool.y, soft_quantile))
    return np.random.default_rng(seed).choice(soft, n, replace=False)


# ------------------------------------------------------------------------------------------------------- strategies
def features(pool):
    return pool.X if pool.load is None else np.column_stack([pool.X, np.log10(pool.load)])


def et_propose(pool, meas, n, seed, state, kind, et):
    rest = np.setdiff1d(np.arange(len(pool)), meas)
    F = features(pool)
    m = ExtraTreesRegressor(et['n_estimators'], random_state=seed, n_jobs=1).fit(F[meas], pool.y[meas])
    P = np.stack([t.predict(F[rest]) for t in m.estimators_])
    score = P.mean(0) + (et['kappa']*P.std(0) if kind == 'ucb' else 0)
    return rest[np.argsort(-score, kind='stable')[:n]]


def random_propose(pool, meas, n, seed, state):
    rng = state.setdefault('rng', np.random.default_rng(seed + 1_000_003))
    return rng.choice(np.setdiff1d(np.arange(len(pool)), meas), n, replace=False)


def vib_propose(pool, meas, n, seed, state, acquisition, vib):
    data = pool.subset(np.sort(meas))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # tiny tables: a network flagged as failed is dropped (train_vib warns)
        if state.get('model') is None or vib['update'] == 'retrain':
            model = train_vib(data, seed=seed, threads=1, **vib['train'])
        else:
            model = update_model(state['model'], data, epochs=vib['update_epochs'], seed=seed, threads=1,
                                 **vib.get('update_kw', {}))
    state['model'] = model
    state.setdefault('train_s', []).append(time.perf_counter() - t0)
    rest = np.setdiff1d(np.arange(len(pool)), meas)
    kw = dict(vib.get('suggest_kw', {}))
    if vib.get('ell_frac'):     # experiment: the believer's length scale as a fraction of the candidates' spacing
        kw['length_scale'] = vib['ell_frac']*candidate_spacing(pool.X[rest], seed=seed)
    res = suggest(model, data, pool.subset(rest), n=n, acquisition=acquisition, seed=seed, **kw)
    state.setdefault('p_cal', []).append(bool(model.calibration))
    return rest[np.array(res.attrs['pool_index'], int)]


def propose(strategy, pool, meas, n, seed, state, vib, et):
    if strategy == 'random': return random_propose(pool, meas, n, seed, state)
    if strategy.startswith('et_'): return et_propose(pool, meas, n, seed, state, strategy[3:], et)
    if strategy == 'vib_greedy': return vib_propose(pool, meas, n, seed, state, 'greedy', vib)
    if strategy == 'vib_ei': return vib_propose(pool, meas, n, seed, state, vib['acquisition'], vib)
    if strategy == 'vib_ucb':
        ucb = {**vib, 'suggest_kw': {**vib.get('suggest_kw', {}), 'kappa': VIB_UCB['kappa']},
               'ell_frac': VIB_UCB['ell_frac']}
        return vib_propose(pool, meas, n, seed, state, 'ucb', ucb)
    raise SystemExit(f"discovery.py: unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")


# --------------------------------------------------------------------------------------------------------- campaign
def campaign(pool, strategy, seed, protocol, vib, et):
    "One simulated campaign: the pool rows measured after the initial ones, in order, and what they found."
    torch.set_num_threads(1)
    t0, p = time.perf_counter(), protocol
    top = set(top_set(pool, p['top_frac']).tolist())
    meas, order, state = list(initial(pool, seed, p['n_init'], p['soft_quantile'])), [], {}
    while len(order) < p['budget']:
        pick = [int(i) for i in propose(strategy, pool, np.array(meas), min(p['batch'], p['budget'] - len(order)),
                                        seed, state, vib, et)]
        assert pick and not set(pick) & set(meas), (strategy, pick)
        meas += pick; order += pick
    hits = [i for i, o in enumerate(order) if o in top]
    return dict(strategy=strategy, seed=seed, order=order, first_top=hits[0] + 1 if hits else p['budget'] + 1,
                found=len(set(order) & top), share=len(set(order) & top)/len(top), seconds=time.perf_counter() - t0,
                train_s=state.get('train_s'), best_found=float(pool.y[order].max()))


def summarise(runs, budget, hardest_rows=()):
    """Per strategy over the seeds: the issue's two figures, and two more on the very hardest alloys: the best hardness
    measured (mean) and how many of `hardest_rows` (the pool's 3 hardest alloys) were measured (mean)."""
    first = np.array([r['first_top'] for r in runs], float); share = np.array([r['share'] for r in runs])
    return dict(best_found_mean=float(np.mean([r['best_found'] for r in runs])),
                hardest3_found_mean=float(np.mean([len(set(map(int, hardest_rows)) & set(r['order'])) for r in runs])),
                first_top_median=float(np.median(first)), first_top_mean=float(first.mean()),
                never_found=int((first > budget).sum()), share_mean=float(share.mean()), share_std=float(share.std()),
                share_per_seed=share.tolist(), first_top_per_seed=first.astype(int).tolist(), n_seeds=len(runs),
                seconds_mean=float(np.mean([r['seconds'] for r in runs])))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default='mmg_hardness', help='table the bulk pool is made from (a path or mmg_hardness)')
    ap.add_argument('--pool', default='bulk,mpea', help='comma-separated pools: bulk, mpea (default both)')
    ap.add_argument('--seeds', default=None, help='seeds, e.g. 3-12 or 0,1,2 (default 3-12, the test seeds; smoke 0)')
    ap.add_argument('--strategies', default=','.join(STRATEGIES), help='comma-separated, of ' + ', '.join(STRATEGIES))
    ap.add_argument('--vib', default=None, help='JSON overriding the VIB campaign settings (experiments; see VIB)')
    ap.add_argument('--n_jobs', type=int, default=1, help='campaigns run in parallel (joblib processes)')
    ap.add_argument('--smoke', action='store_true', help='a tiny run for CI (seconds): budget 10, 1 seed, tiny model')
    ap.add_argument('--summarise', default=None, metavar='JSON',
                    help="recompute the summaries of a results file from its stored runs (no campaigns); rewrite it")
    ap.add_argument('--out', default=None, help='output JSON (default results/discovery.json, or discovery_smoke.json)')
    a = ap.parse_args(argv)
    if a.summarise: return resummarise(Path(a.summarise), a.data)
    protocol, vib, et = dict(PROTOCOL), json.loads(json.dumps(VIB)), dict(ET)
    if a.smoke:
        protocol.update(budget=10)
        vib.update(train=dict(epochs=5, n_models=2, calib_folds=2), update_epochs=3); et['n_estimators'] = 10
    if a.vib:
        over = json.loads(a.vib)
        for k, v in over.items(): vib[k] = {**vib[k], **v} if isinstance(vib.get(k), dict) else v
    spec = a.seeds or ('0' if a.smoke else '3-12')
    seeds = (list(range(int(spec.split('-')[0]), int(spec.split('-')[1]) + 1)) if '-' in spec
             else [int(s) for s in spec.split(',')])
    strategies = [s.strip() for s in a.strategies.split(',') if s.strip()]
    bad = [s for s in strategies if s not in STRATEGIES]
    if bad: raise SystemExit(f"discovery.py: unknown strategy {bad[0]!r} (known: {', '.join(STRATEGIES)})")
    out = Path(a.out) if a.out else HERE/'results'/('discovery_smoke.json' if a.smoke else 'discovery.json')
    pools = {name: make_pool(name, a.data) for name in (p.strip() for p in a.pool.split(',')) if name}
    t0 = time.perf_counter()
    tasks = [(name, s, seed) for name in pools for s in strategies for seed in seeds]
    tasks.sort(key=lambda t: not t[1].startswith('vib'))    # the slow ones first
    print(f"{len(tasks)} campaigns: pools {list(pools)}, strategies {strategies}, seeds {seeds}; VIB {vib}", flush=True)
    runs = {}
    gen = Parallel(n_jobs=a.n_jobs, return_as='generator_unordered')(
        delayed(lambda n, s, sd: (n, campaign(pools[n], s, sd, protocol, vib, et)))(*t) for t in tasks)
    for i, (name, r) in enumerate(gen):
        runs.setdefault(name, {}).setdefault(r['strategy'], []).append(r)
        print(f"[{time.perf_counter() - t0:6.0f} s] {i + 1}/{len(tasks)} {name} {r['strategy']} seed {r['seed']}: "
              f"first top-5 % at {r['first_top']}, share {r['share']:.2f} ({r['seconds']:.0f} s)", flush=True)
    res = {}
    for name, pool in pools.items():
        top = top_set(pool, protocol['top_frac'])
        res[name] = dict(n=len(pool), n_top=len(top), top_threshold=float(pool.y[top].min()), source=pool.source,
                         strategies={s: summarise(sorted(runs[name][s], key=lambda r: r['seed']), protocol['budget'],
                                                  hardest(pool)) for s in strategies if s in runs.get(name, {})},
                         runs={s: sorted(runs[name][s], key=lambda r: r['seed']) for s in runs.get(name, {})})
        st = res[name]['strategies']
        for v in ('vib_ei', 'vib_ucb'):
            if v in st and 'et_ucb' in st:
                ratio = st[v]['share_mean']/max(st['et_ucb']['share_mean'], 1e-12)
                res[name][f'{v}_over_et_ucb'] = dict(ratio=ratio, required=bool(ratio >= 1.0), goal=bool(ratio >= 1.2))
    command = ' '.join(['python', 'benchmarks/discovery.py'] + (argv or sys.argv[1:]))
    report = dict(script='benchmarks/discovery.py', command=command,
                  protocol=protocol, vib=vib, et=et, vib_ucb=VIB_UCB, seeds=seeds, smoke=a.smoke,
                  never_found_counts_as=protocol['budget'] + 1, pools=res, total_s=time.perf_counter() - t0,
                  n_jobs=a.n_jobs, platform=platform.platform(), cpu_count=os.cpu_count())
    write_json(report, out)
    print(table(report))
    print(f"wrote {out} in {report['total_s']:.0f} s")
    return report


def resummarise(path: Path, data_spec: str):
    "Recompute each strategy's summary in the results file `path` from its stored runs (same protocol) and rewrite it."
    report = json.loads(path.read_text())
    for name, r in report['pools'].items():
        pool = make_pool(name, data_spec)
        r['strategies'] = {s: summarise(runs, report['protocol']['budget'], hardest(pool))
                           for s, runs in r['runs'].items()}
    write_json(report, path)
    print(table(report)); print(f"rewrote {path}")
    return report


def table(report) -> str:
    "The results as a Markdown table."
    lines = ['| pool | strategy | first top-5 % (median / mean) | never found | share of top 5 % (mean ± sd) '
             '| best found (mean) | of the 3 hardest (mean) |', '|---|---|---|---|---|---|---|']
    for name, r in report['pools'].items():
        for s, v in r['strategies'].items():
            lines.append(f"| {name} | {s} | {v['first_top_median']:.1f} / {v['first_top_mean']:.1f} | "
                         f"{v['never_found']}/{v['n_seeds']} | {v['share_mean']:.2f} ± {v['share_std']:.2f} | "
                         f"{v['best_found_mean']:.0f} | {v['hardest3_found_mean']:.1f} |")
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
