"""Two levers of issue 15 measured on the inner folds of `benchmarks/inner_folds.py`, without a switch in the library.

`mix`: augmentation by interpolation within a family. In every training batch, each row is, with probability `--p`,
replaced by a mixture λ·row + (1 − λ)·partner (λ uniform in [0, 1], fractions and hardness alike). The partner is one
of the row's `--k` nearest compositions (Euclidean, fraction space) that have the same elements and the same log10 load
to one decimal (a bin 0.1 decade wide), among the same network's training rows: a calibration network never mixes in
its hold-out rows. With fewer than k such partners they are cycled, so the nearer ones are drawn more often; a row
without one is left as it is. The mixed row keeps its own load. The mixing draws its random numbers from each
network's shuffling generator, so even rows that are never mixed are batched in another order than in the evaluated
run: differences of a HV or two are within that noise.

`log`: the network is trained on ln HV and its members' predictions are exponentiated back before averaging. The
load law then acts multiplicatively, HV = exp(b(x) + Σⱼ aⱼ(x)·L^-pⱼ), still non-increasing in the load.

Everything after the lever's own options goes to `inner_folds.py` unchanged:

    python benchmarks/levers.py mix --p 0.5 --k 3 '{"calib_folds": 0}' --seeds 0 --threads 1 --split family --out F
    python benchmarks/levers.py log '{"calib_folds": 0}' --seeds 0 --threads 1 --split group --out F
"""
import argparse, dataclasses
import numpy as np, torch
import alloy_vib.train as train
import inner_folds   # a sibling script: Python puts benchmarks/ on sys.path when a script in it runs


def family_partners(X, load, rows, k: int) -> np.ndarray:
    "For every row index, `k` partner indices among `rows` (same elements, same log10 load to one decimal, nearest first; cycled when fewer; itself when none)."
    part = np.tile(np.arange(len(X))[:, None], (1, k))
    ll = np.zeros(len(X)) if load is None else np.round(np.log10(load), 1)
    cells = {}
    for i in rows: cells.setdefault(((X[i] > 0).tobytes(), ll[i]), []).append(i)
    for g in map(np.asarray, cells.values()):
        if len(g) < 2: continue
        D = ((X[g][:, None] - X[g][None])**2).sum(-1); np.fill_diagonal(D, np.inf)
        m = min(k, len(g) - 1); near = np.argsort(D, 1)[:, :m]
        part[g] = g[near[:, np.arange(k) % m]]
    return part


def mixing_batches(p: float, k: int):
    "A `MemberBatches` whose training batches (those with seeds) mix each row with a family partner, as described above."
    class MixingBatches(train.MemberBatches):
        def __init__(self, X, load, y, rows, n_batches, batch_rows, seeds=None):
            super().__init__(X, load, y, rows, n_batches, batch_rows, seeds)
            Xn, Ln = np.asarray(X), None if load is None else np.asarray(load)
            self.partners = None if seeds is None else [family_partners(Xn, Ln, r, k) for r in self.rows]

        def __iter__(self):
            if self.partners is None: yield from super().__iter__(); return
            E, nb, B = len(self.rows), self.n_batches, self.batch_rows
            idx, w = np.zeros((nb, E, B), np.int64), np.zeros((nb, E, B), np.float32)
            mate, lam = np.zeros((nb, E, B), np.int64), np.ones((nb, E, B), np.float32)
            for e, r in enumerate(self.rows):
                if not len(r): continue
                rng = self.rngs[e]
                for j, chunk in enumerate(np.array_split(rng.permutation(r), nb)):
                    c = len(chunk)
                    idx[j, e], w[j, e, :c], idx[j, e, :c] = r[0], 1, chunk
                    mate[j, e], mate[j, e, :c] = idx[j, e], self.partners[e][chunk, rng.integers(0, k, c)]
                    lam[j, e, :c] = np.where(rng.random(c) < p, rng.random(c), 1.0)
            for j in range(len(self)):
                i, o, l = (torch.from_numpy(a[j]) for a in (idx, mate, lam))
                x = l[..., None]*self.X[i] + (1 - l[..., None])*self.X[o]
                yield (x,) + (() if self.load is None else (self.load[i],)) + (l*self.y[i] + (1 - l)*self.y[o], torch.from_numpy(w[j]))
    return MixingBatches


class LogTargetModel:
    "A model trained on ln(target); `predict_arrays` gives the mean and std of the members' exp(prediction)."
    def __init__(self, model): self.model, self.meta = model, model.meta
    def predict_arrays(self, X, load=None):
        P = np.exp(self.model.predict_members(X, load))
        return P.mean(0), P.std(0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('lever', choices=['mix', 'log'])
    p.add_argument('--p', type=float, default=0.5, help='mix: probability that a row is mixed')
    p.add_argument('--k', type=int, default=3, help='mix: number of nearest family partners to draw from')
    a, rest = p.parse_known_args()
    if a.lever == 'mix': train.MemberBatches = mixing_batches(a.p, a.k)   # fit_networks looks the name up in train
    else:
        fit = train.train_vib
        train.train_vib = lambda d, **kw: LogTargetModel(fit(dataclasses.replace(d, y=np.log(d.y)), **kw))
    inner_folds.main(rest)


if __name__ == '__main__':
    main()
