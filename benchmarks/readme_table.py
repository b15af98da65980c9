"""The accuracy table shown in README.md / nbs/index.ipynb, written from benchmarks/results/accuracy.json.

`python benchmarks/readme_table.py` prints it; tests/test_readme.py checks the README shows exactly this table.
"""

import json
from pathlib import Path


def accuracy_markdown(acc):
    "Markdown table of MAE / R² per model on both splits for both data sets, from benchmarks/results/accuracy.json."
    names = {
        'vib': 'VIB-attention (ensemble of 5)',
        'extra_trees': 'ExtraTrees',
        'random_forest': 'RandomForest',
        'hist_gb': 'HistGradientBoosting',
    }
    out = []
    for ds, title in (
        ('mmg_hardness', 'mmg_hardness.csv (default, 673 rows, with load)'),
        ('mpea', 'mpea_dataset.csv (530 rows, composition only)'),
    ):
        r = acc['results'][ds]
        out.append(f"**{title}**\n")
        out.append('| model | MAE, composition groups (HV) | R² | MAE, families (HV) | R² |')
        out.append('|---|---|---|---|---|')
        for m in names:
            g, f = r['group']['models'][m], r['family']['models'][m]
            out.append(f"| {names[m]} | {g['mae']:.1f} | {g['r2']:.3f} | {f['mae']:.1f} | {f['r2']:.3f} |")
        g, f = r['group'], r['family']
        out.append(
            f"| VIB ÷ best baseline (MAE) | {g['vib_to_best_baseline_mae']:.3f} | | "
            f"{f['vib_to_best_baseline_mae']:.3f} | |"
        )
        out.append(
            f"| VIB 90 % interval: coverage, mean width | {g['models']['vib']['coverage90']:.3f}, "
            f"{g['models']['vib']['width90']:.0f} HV | | {f['models']['vib']['coverage90']:.3f}, "
            f"{f['models']['vib']['width90']:.0f} HV | |"
        )
        part = lambda v, k: f"{v[f'coverage90_{k}']:.3f}, {v[f'width90_{k}']:.0f} HV" if f'width90_{k}' in v else "none"
        for k, label in (('in_domain', 'inside the domain'), ('out_of_domain', 'outside it')):
            share = lambda v: (
                f" ({100 * v['in_domain'] if k == 'in_domain' else 100 * (1 - v['in_domain']):.0f} % of rows)"
            )
            gv, fv = g['models']['vib'], f['models']['vib']
            out.append(f"| … {label} | {part(gv, k)}{share(gv)} | | {part(fv, k)}{share(fv)} | |")
        out.append('')
    return '\n'.join(out).strip()


def interval_markdown(ext):
    "Markdown table of the VIB 90 % interval on all three splits, from benchmarks/results/extrapolation.json."
    out = ['| data, split | VIB MAE (HV) | ExtraTrees / RandomForest MAE | 90 % coverage, mean width | '
           'calibrated rows: coverage, width | not calibrated: coverage, width |', '|---|---|---|---|---|---|']
    names = {'mmg_hardness': 'default', 'mpea': 'MPEA'}
    def part(v, k):   # coverage and width of the calibrated or uncalibrated rows, with their share
        if f'width90_{k}' not in v: return 'none'
        share = v['calibrated'] if k == 'calibrated' else 1 - v['calibrated']
        return f"{v[f'coverage90_{k}']:.3f}, {v[f'width90_{k}']:.0f} HV ({100*share:.0f} %)"
    for ds, title in names.items():
        for split in ('group', 'family', 'element'):
            r = ext['results'][ds][split]['models']; v = r['vib']
            trees = f"{r['extra_trees']['mae']:.1f} / {r['random_forest']['mae']:.1f}"
            out.append(f"| {title}, {split} | {v['mae']:.1f} | {trees} | {v['coverage90']:.3f}, {v['width90']:.0f} HV "
                       f"| {part(v, 'calibrated')} | {part(v, 'uncalibrated')} |")
    return '\n'.join(out)


if __name__ == '__main__':
    print(accuracy_markdown(json.loads((Path(__file__).parent / 'results' / 'accuracy.json').read_text())))
    print()
    print(interval_markdown(json.loads((Path(__file__).parent / 'results' / 'extrapolation.json').read_text())))
