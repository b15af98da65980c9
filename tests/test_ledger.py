"The experiments wing keeps a ledger: one row per results file, with its script, command, commit and status."

import re
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / 'benchmarks'


def ledger_rows():
    "The rows of benchmarks/LEDGER.md's table as dicts keyed by its header."
    lines = [l for l in (BENCH / 'LEDGER.md').read_text().splitlines() if l.startswith('|')]
    head = [c.strip() for c in lines[0].strip('|').split('|')]
    return [dict(zip(head, (c.strip() for c in l.strip('|').split('|')))) for l in lines[2:]]


def test_every_result_has_one_row():
    rows = ledger_rows()
    files = [r['file'] for r in rows]
    assert len(files) == len(set(files)), 'a results file is listed twice'
    on_disk = {p.name for p in (BENCH / 'results').glob('*.json')}
    current = {r['file'] for r in rows if r['status'] == 'current'}
    assert on_disk == current, (
        f'not in the ledger: {sorted(on_disk - current)}; listed current but missing: {sorted(current - on_disk)}'
    )


def test_rows_are_complete():
    for r in ledger_rows():
        assert r['status'] in ('current', 'superseded'), r
        assert r['kind'] in ('benchmark', 'experiment'), r
        assert re.fullmatch(r'[0-9a-f]{7,40}', r['commit']), r
        assert r['command'], r
        if r['status'] == 'current':
            assert (BENCH / r['script']).exists(), f"{r['file']}: no script {r['script']}"
