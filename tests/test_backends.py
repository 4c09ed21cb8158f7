"""Honest backends (issue 23, item 2): ``--backend dask`` runs on Dask whatever ``--jobs``,
every sweep verb honours ``--backend``, ``--scheduler`` reaches an existing cluster, and the
numbers are the same on every backend (``tests/test_parallel.py`` compares loky and
threading with the serial run, bit for bit)."""

import pytest

import gmmlit
from gmmlit import cli
from gmmlit.bench import starts
from gmmlit.bench.parallel import map_trials, sweep_backend, trial_seeds
from gmmlit.book.reproduce import backend_context


def loss_and_worker(seed):
    """The loss at a seeded start and the Dask worker it ran on (``None``: not on Dask)."""
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = None
    inst = gmmlit.triangle_instance(n=5, seed=0)
    f = inst.objective(gmmlit.TrapezoidRule(0.4, 7.0))
    return f.loss(inst.start(0.3, seed)), worker


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as local:
        yield local


def test_dask_with_one_job_runs_on_the_cluster(cluster):
    # the issue: reproduce --backend dask with the default --jobs 1 ran every trial here
    seeds = trial_seeds(3, 4)
    serial = map_trials(loss_and_worker, seeds)
    with backend_context("dask", 1, cluster.scheduler_address):
        on_dask = map_trials(loss_and_worker, seeds)  # backend=None, jobs=1: as the figures call it
    assert all(w is None for _, w in serial)
    workers = set(cluster.scheduler_info["workers"])
    assert all(w in workers for _, w in on_dask)
    assert [v for v, _ in on_dask] == [v for v, _ in serial]  # the same numbers, bit for bit


def test_scheduler_address_reaches_an_existing_cluster(cluster):
    seeds = trial_seeds(4, 3)
    on_dask = map_trials(loss_and_worker, seeds, backend="dask", scheduler=cluster.scheduler_address)
    assert all(w is not None for _, w in on_dask)
    assert [v for v, _ in on_dask] == [v for v, _ in map_trials(loss_and_worker, seeds)]


def test_sweep_backend_applies_to_calls_that_name_none():
    seeds = trial_seeds(5, 2)
    with sweep_backend("threading"):
        threaded = map_trials(loss_and_worker, seeds, jobs=1)
    assert [v for v, _ in threaded] == [v for v, _ in map_trials(loss_and_worker, seeds)]
    with pytest.raises(ValueError, match="scheduler"):
        with sweep_backend("loky", "tcp://127.0.0.1:8786"):
            pass


def test_every_sweep_verb_passes_its_backend_on(monkeypatch):
    # the issue: bench starts --backend dask never created a Dask client
    seen = {}

    def record(func, seeds, **kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt  # stop before any run

    monkeypatch.setattr(starts, "map_trials", record)
    assert cli.main(["bench", "starts", "--quick", "--backend", "threading", "--no-progress"]) == cli.EXIT_INTERRUPTED
    assert seen["backend"] == "threading"


def test_scheduler_needs_the_dask_backend(capsys):
    assert cli.main(["bench", "starts", "--quick", "--backend", "loky", "--scheduler", "tcp://h:1"]) == 2
    assert "--scheduler" in capsys.readouterr().err


def test_progress_bar_counts_the_trials(capsys):
    pytest.importorskip("tqdm")
    values = map_trials(loss_and_worker, trial_seeds(6, 3), progress="starts")
    assert len(values) == 3
    err = capsys.readouterr().err
    assert "starts" in err and "3/3" in err
