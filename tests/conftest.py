"Shared fixtures: small real-data tables and a quickly trained model (few epochs) for command-line tests."

import atexit, json, os, shutil, signal, subprocess, sys, tempfile, time
from pathlib import Path
import pandas as pd, pytest
from alloy_vib.data import load_hardness_data, default_data_path

MEMORY = (
    4 << 30
)  # address-space limit of the commands run here, so a runaway read or allocation fails instead of the machine

# Starting a console script costs 5-8 s of imports (torch, fastai, seaborn), and the tests run about a hundred commands.
# So commands run in forked children of one server process that has imported the package once. Each child runs the
# installed console script file itself (runpy, as `__main__`) with its own cwd, environment, stdout/stderr files, memory
# limit and a SIGALRM time limit. test_cli.py checks each console script once as a real, fresh process too.
SERVER = r'''
import atexit, importlib, json, os, resource, runpy, signal, sys, traceback
# like a console script: the package comes from sys.path, not the working directory
if sys.path[0] == '': sys.path.pop(0)
from importlib.metadata import entry_points
for ep in entry_points(group='console_scripts'):
    if ep.name.startswith('alloy_vib_'): importlib.import_module(ep.module)
# the commands import the library modules they call when they run, so each starts with only what it needs: import
# those here once, as before the commands moved to alloy_vib.cli, so that the forked children need not
for m in ('evaluate', 'tune', 'interpret', 'design'): importlib.import_module(f'alloy_vib.{m}')
for line in sys.stdin:
    job = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            resource.setrlimit(resource.RLIMIT_AS, (job['memory'], job['memory']))
            signal.alarm(job['timeout'])
            os.chdir(job['cwd']); os.environ.clear(); os.environ.update(job['env'])
            for fd, name, mode in ((0, os.devnull, os.O_RDONLY), (1, job['stdout'], os.O_WRONLY|os.O_CREAT|os.O_TRUNC),
                                   (2, job['stderr'], os.O_WRONLY|os.O_CREAT|os.O_TRUNC)):
                f = os.open(name, mode); os.dup2(f, fd); os.close(f)
            sys.argv = [job['script'], *job['args']]
            try: runpy.run_path(job['script'], run_name='__main__'); code = 0
            except SystemExit as e: code = e.code
            except BaseException: traceback.print_exc(); code = 1
            if code is None: code = 0
            elif not isinstance(code, int): print(code, file=sys.stderr); code = 1
            atexit._run_exitfuncs()
            sys.stdout.flush(); sys.stderr.flush()
        finally: os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
'''


class ForkServer:
    "Run console scripts in forked children of one process that has already imported alloy_vib (see above)."

    def __init__(self):
        self.p = subprocess.Popen(
            [sys.executable, '-c', SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, prog, *args, cwd=None, env=None, timeout=600):
        script = shutil.which(prog) or str(Path(sys.executable).parent / prog)
        with tempfile.TemporaryDirectory() as d:
            job = dict(
                script=script,
                args=[str(a) for a in args],
                cwd=str(cwd or os.getcwd()),
                env={**os.environ, **(env or {})},
                stdout=f'{d}/out',
                stderr=f'{d}/err',
                timeout=timeout,
                memory=MEMORY,
            )
            t0 = time.monotonic()
            self.p.stdin.write(json.dumps(job) + '\n')
            self.p.stdin.flush()
            line = self.p.stdout.readline()
            assert line, 'the fork server died'
            r = subprocess.CompletedProcess(
                [prog, *job['args']],
                json.loads(line),
                Path(d, 'out').read_text(errors='replace'),
                Path(d, 'err').read_text(errors='replace'),
            )
        r.seconds = time.monotonic() - t0
        assert r.returncode != -signal.SIGALRM, f"{prog} {' '.join(job['args'])}: still running after {timeout} s"
        return r

    def close(self):
        self.p.stdin.close()
        self.p.wait(30)


_server = None


def run(*args, cwd=None, env=None, timeout=600):
    """Run console script `args[0]` with arguments `args[1:]` (in a `ForkServer` child); a `CompletedProcess` with text
    output."""
    global _server
    if _server is None:
        _server = ForkServer()
        atexit.register(_server.close)
    return _server(*args, cwd=cwd, env=env, timeout=timeout)


def one_line_error(r, code=None):
    """The one stderr line of a failed command `r` (from `run`): exit 1 or 2 (or `code`), no traceback, at most 400
    characters, starting with `prog: error: `."""
    assert r.returncode == code if code is not None else r.returncode in (1, 2), (
        r.returncode,
        r.stdout[-2000:],
        r.stderr[-2000:],
    )
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in r.stderr, r.stderr[-4000:]
    assert len(lines[0]) <= 400, f"{len(lines[0])} characters: {lines[0][:1000]}"
    prog = Path(str(r.args[0])).name
    assert lines[0].startswith(f'{prog}: error: '), lines[0]
    return lines[0]


@pytest.fixture(scope='session')
def mmg():
    return load_hardness_data()


@pytest.fixture(scope='session')
def small_csv(tmp_path_factory, mmg):
    "Every third row of the real default data, written in wide form (the format of the default file)."
    df = pd.read_csv(default_data_path())
    p = tmp_path_factory.mktemp('data') / 'small.csv'
    df.iloc[::3].to_csv(p, index=False)
    return p


@pytest.fixture(scope='session')
def small_model(tmp_path_factory, small_csv):
    "A model trained for a few epochs by the command-line tool itself."
    out = tmp_path_factory.mktemp('models') / 'm'
    r = run('alloy_vib_train', '--data', small_csv, '--out', out, '--epochs', 8, '--n_models', 2, '--quiet')
    assert r.returncode == 0, r.stderr
    return out
