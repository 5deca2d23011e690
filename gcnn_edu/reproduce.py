"""``gcnn-edu reproduce``: the paper's comparison as a grid of models x protocols x seeds, with spreads.

Every run trains one model (a name of :data:`gcnn_edu.models.MODELS`) under one protocol, on a
number of training digits, with one seed, on the 5,000 embedded MNIST digits (4,000 to train,
1,000 to test, split by the seed):

* ``rotated``: trained and tested on digits turned by uniform random angles (the paper's
  MNIST-rot protocol, Table 1). The training digits are turned afresh in every epoch (angles
  drawn from the seed and the epoch), the random-rotation augmentation of the authors; the
  validation and test digits are turned once.
* ``upright-to-rotated``: trained upright, tested on the same rotated test digits (the UvA
  tutorial's protocol); its accuracy against the angle of the test digits is measured too.
* ``upright``: trained and tested upright (the reproduction report's protocol).

Training follows the authors' ``gconv_experiments`` (``MNIST_ROT/experiment.py``): Adam with a
constant learning rate of 1e-3, batches of 128, cross-entropy. Departures, and why:

* epochs: they train 300 (Z2CNN) or 100 (p4 models) epochs on 10,000 digits. A laptop cannot,
  so a fifth of the training digits is held out for validation (MNIST-rot keeps 2,000 of its
  12,000; the test digits are never looked at), training stops once the validation accuracy
  has not improved for ``patience`` epochs or after ``max_epochs``, and the model is restored
  to its best validation epoch before it is tested. The per-epoch validation curve is kept, so
  a reader can see whether a run had stopped improving. Both limits are for all 4,000 training
  digits; a run on fewer gets proportionally more epochs (``equal_steps``: 1,000 digits, four
  times as many), so that the smaller runs of the data axis are not stopped before they learn.
* batches of 32, not 128: on 3,200 fitting digits a batch of 128 makes 25 steps per epoch,
  where the authors' 10,000 digits make 78; a batch of 32 makes 100, so a run levels off within
  the epochs a laptop can afford. Measured under 'rotated', seed 0, 30 epochs at most: at batch
  128 Z2CNN was still improving at epoch 30 (90.3 % test accuracy), at batch 32 it peaked at
  epoch 24 (92.4 %); P4CNN peaked at epoch 18 to 19 either way (95.6 % and 96.3 %).
* Adam at 3e-4, not 1e-3, for the UvA pair, which is not the authors' code (its layer norm has
  no learned scale). Chosen on validation digits, seed 1, 'upright': the best validation
  accuracy in 10 epochs of the UvA G-CNN was 92.5 % at 3e-4, 57.7 % at 1e-3 and 58.0 % at
  3e-3; the UvA CNN reached 96.9 % in 12 epochs at 3e-4 and at 1e-3. The paper's models learn
  far slower at 3e-4 (Z2CNN under 'rotated': 65.1 % in 12 epochs, against 85.9 % at 1e-3), so
  they keep the authors' rate (:data:`LEARNING_RATES`).
* the models are those of :mod:`gcnn_edu.models` as they are (today's P4CNN uses dropout 0.3,
  where the authors' P4CNN has its dropout lines commented out).

The default study (:data:`DEFAULT_STUDY`) is not the full product of every model and protocol:
each protocol gets the models its published comparison needs (below), three seeds each.
``--data-axis`` adds the error against the number of training digits (:data:`DATA_AXIS`: 1,000
and 2,000, with the default study's 4,000) for Z2CNN and P4CNN under 'rotated'. ``--models``,
``--protocols`` and ``--train-digits`` ask for a full product instead.

Runs are independent and deterministic given (model, protocol, training digits, seed), the
settings and the number of threads per run (on the same device): the seed fixes the split, the
initial weights, the rotations, the shuffling and the dropout masks. Cells whose training is
the same ('upright' and 'upright-to-rotated' differ only in their test digits) share one run,
which is then tested under each protocol; ``shared_run_with`` in the results file says so.
The results file ``reproduce.json`` in ``--out`` holds the settings, the versions, the device,
and every finished run's numbers; it is rewritten atomically after every run. Rerunning with
the same ``--out`` reuses the finished runs (a larger grid extends a smaller one), and refuses a
file written with other settings.
At the end it prints and writes ``reproduce.md`` (mean ± standard deviation over seeds, with n),
``validation_curves.png`` and, for ``upright-to-rotated``, ``accuracy_vs_angle.png``::

    gcnn-edu reproduce --quick --out /tmp/quick                   # a few minutes on 2 CPU cores
    gcnn-edu reproduce --jobs 2 --out runs/reproduce              # the default study, two runs at a time
    gcnn-edu reproduce --data-axis --jobs 2 --out runs/reproduce  # and the data axis
    gcnn-edu reproduce --models z2cnn p4cnn --protocols rotated --seeds 5 --first-seed 100
    gcnn-edu reproduce --models p4cnn --protocols rotated --train-digits 500 1000 --seeds 3

``--jobs J`` trains J runs at a time in worker processes of ``--threads`` threads each (default
1): on a CPU, J single-threaded runs use J cores better than one run with J threads, because the
layers of these small models are too small to split well across threads.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from . import __version__
from ._allocator import keep_freed_memory
from ._arguments import one_of, positive_float, positive_int, random_seed
from .data import Digits, digit_sets, rotated, split
from .errors import GcnnEduError
from .models import MODELS, build_model, count_parameters
from .training import accuracy_vs_angle, check_writable, evaluate, resolve_device, train, write_atomically
from .viz.accuracy import plot_accuracy_vs_angle
from .viz.study import plot_data_size, plot_validation_curves

__all__ = ["PROTOCOLS", "DEFAULT_MODELS", "DEFAULT_STUDY", "DATA_AXIS", "LEARNING_RATES", "Cell", "Grid", "Settings",
           "QUICK", "reproduce", "finished_runs", "runs_of", "train_one", "epoch_limits", "learning_rate_of",
           "test_set", "study_cells", "grid_runs", "summarize", "format_table", "write_report", "add_arguments",
           "run", "main"]

PROTOCOLS = {"rotated": ("rotated", "rotated"), "upright-to-rotated": ("upright", "rotated"),
             "upright": ("upright", "upright")}  # protocol: (training digits, test digits)
DEFAULT_MODELS = ("z2cnn", "p4cnn", "p4cnn-rotation-pooling", "p4mcnn", "cnn", "gcnn", "p4-early")
ALL_TRAIN_DIGITS = 4000  # the training digits of a seed's split (validation digits included)
RESULTS_FILE, TABLE_FILE = "reproduce.json", "reproduce.md"
RESULTS_FORMAT = 3


@dataclass(frozen=True)
class Cell:
    """One run of a study."""

    model: str
    protocol: str
    train_digits: int
    seed: int

    @property
    def key(self) -> str:
        """Its name in the results file, e.g. 'p4cnn/rotated/4000 digits/seed 0'."""
        return f"{self.model}/{self.protocol}/{self.train_digits} digits/seed {self.seed}"

    @property
    def training(self) -> tuple[str, str, int, int]:
        """What its training depends on: (model, training digits' kind, their number, seed).
        Cells that differ only in their test digits ('upright' and 'upright-to-rotated') share
        one training."""
        return self.model, PROTOCOLS[self.protocol][0], self.train_digits, self.seed


@dataclass(frozen=True)
class Grid:
    """Every model x protocol x number of training digits (each run with every seed)."""

    models: tuple[str, ...]
    protocols: tuple[str, ...]
    train_digits: tuple[int, ...] = (ALL_TRAIN_DIGITS,)

    def cells(self, seeds) -> list[Cell]:
        return [Cell(m, p, n, s) for p in self.protocols for n in self.train_digits for m in self.models
                for s in seeds]


DEFAULT_STUDY = (
    Grid(("z2cnn", "p4cnn", "p4cnn-rotation-pooling", "p4mcnn"), ("rotated",)),  # the paper's Table 1, and p4m
    Grid(("z2cnn", "p4cnn", "cnn", "gcnn"), ("upright-to-rotated",)),  # the UvA tutorial's pair, and the paper's
    Grid(("z2cnn", "p4cnn", "p4-early"), ("upright",)),  # the reproduction report: plain, P4, early P4
)
DATA_AXIS = (Grid(("z2cnn", "p4cnn"), ("rotated",), (1000, 2000)),)  # with 4,000 above: error against digits


@dataclass(frozen=True)
class Settings:
    """Everything besides the cell (model, protocol, training digits, seed) that a run's numbers
    depend on. A results file is resumed only with equal settings."""

    max_epochs: int = 40
    patience: int = 4
    equal_steps: bool = True  # fewer training digits: max_epochs and patience times 4,000 / digits
    test_digits: int | None = None  # of the 1,000 test digits; None: all
    validation_fraction: float = 0.2
    batch_size: int = 32
    learning_rate: float | None = None  # None: each model's own, learning_rate_of(model)
    augmentation: str = "fresh random rotation every epoch (protocol 'rotated')"
    angle_step: float = 15.0  # degrees between the angles of the accuracy curve (upright-to-rotated)
    curve_digits: int = 500  # test digits turned to every angle of that curve


# Adam's learning rate, by model: the authors' 1e-3 for the paper's models; 3e-4 for the UvA pair,
# chosen on validation digits (see the module's docstring)
LEARNING_RATES = {"cnn": 3e-4, "gcnn": 3e-4}
AUTHORS_LEARNING_RATE = 1e-3


def learning_rate_of(model: str, settings: Settings) -> float:
    """The settings' learning rate if they fix one, else the model's (:data:`LEARNING_RATES`)."""
    if settings.learning_rate is not None:
        return settings.learning_rate
    return LEARNING_RATES.get(model, AUTHORS_LEARNING_RATE)


QUICK = {"study": (Grid(("z2cnn", "p4cnn"), ("rotated",)),), "seeds": 2,
         "settings": Settings(max_epochs=10, patience=3)}  # a few minutes on 2 CPU cores


def epoch_limits(settings: Settings, train_digits: int) -> tuple[int, int]:
    """(max_epochs, patience) for a run on ``train_digits``. The settings' are for all 4,000
    training digits; with ``equal_steps``, fewer digits get proportionally more epochs (1,000
    digits: four times as many), so that every run may take as many optimizer steps, and waits
    as many steps for a better validation accuracy, whatever its number of training digits."""
    if not settings.equal_steps:
        return settings.max_epochs, settings.patience
    scale = ALL_TRAIN_DIGITS / train_digits
    return math.ceil(settings.max_epochs * scale), math.ceil(settings.patience * scale)


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunData:
    """The training digits of one run: upright fitting digits (turned per epoch when ``augment``)
    and validation digits (from the training digits). Its test digits depend on each cell's
    protocol: :func:`test_set`."""

    fit: Digits
    validation: Digits
    augment: bool

    def epoch_set(self, seed: int, epoch: int) -> Digits:
        """The training digits of ``epoch`` (1-based): turned by angles drawn from (seed, epoch) if augmenting."""
        return rotated(self.fit, seed=_augmentation_seed(seed, epoch)) if self.augment else self.fit


def _augmentation_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) * 2 + 1_000_001


def run_data(protocol: str, seed: int, settings: Settings, train_digits: int = ALL_TRAIN_DIGITS) -> RunData:
    """The first ``train_digits`` of the seed's training digits, split into fitting and
    validation digits (stratified: the validation digits of the training distribution), turned
    as the protocol trains."""
    train_kind = PROTOCOLS[protocol][0]
    upright_train = digit_sets("upright", "upright", seed=seed)[0]
    fit, validation = split(upright_train.subset(train_digits), settings.validation_fraction, seed)
    if len(validation) == 0:
        raise GcnnEduError(f"{train_digits} training digits leave no validation digits: use more --train-digits")
    if train_kind == "rotated":
        validation = rotated(validation, seed=2 * seed + 1)
    return RunData(fit, validation, augment=train_kind == "rotated")


def test_set(protocol: str, seed: int, settings: Settings) -> Digits:
    """The seed's test digits, upright or rotated as the protocol says."""
    return digit_sets("upright", PROTOCOLS[protocol][1], seed=seed)[1].subset(settings.test_digits)


def fit_with_early_stopping(model, name: str, data: RunData, seed: int, settings: Settings, device,
                            folder: Path) -> dict:
    """Train epoch by epoch (:func:`gcnn_edu.training.train`, resumed from its checkpoint in
    ``folder`` so Adam's state carries over) until the validation accuracy has not improved for
    ``patience`` epochs or ``max_epochs`` have passed (both from :func:`epoch_limits`); leave
    ``model`` at its best validation epoch. Returns the validation accuracy and training loss
    per epoch and the best epoch (1-based)."""
    checkpoint = folder / "checkpoint.pt"
    max_epochs, patience = epoch_limits(settings, len(data.fit) + len(data.validation))
    curve, best_epoch, best_state, history = [], 0, None, {"loss": []}
    for epoch in range(1, max_epochs + 1):
        history = train(model, data.epoch_set(seed, epoch), epochs=epoch, batch_size=settings.batch_size,
                        lr=learning_rate_of(name, settings), lr_decay=1.0, seed=seed, device=device,
                        checkpoint=checkpoint, resume=True, model_name=name, progress=False)
        curve.append(evaluate(model, data.validation, device=device))
        if best_state is None or curve[-1] > curve[best_epoch - 1]:
            best_epoch, best_state = epoch, {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    return {"validation_accuracy": curve, "train_loss": history["loss"], "best_epoch": best_epoch}


def train_one(cells: tuple[Cell, ...], settings: Settings, device="auto") -> list[dict]:
    """One run of a study: a model trained with early stopping, then tested under the protocol
    of each of ``cells``, which share their training (:attr:`Cell.training`). Returns each
    cell's numbers: test accuracy, best epoch, validation curve, parameters, seconds (wall
    clock and CPU, of the whole run), device, the keys of the cells that shared the run (and,
    for 'upright-to-rotated', the accuracy against the angle of the upright test digits turned)."""
    if len({cell.training for cell in cells}) != 1:
        raise ValueError(f"one run trains one model: {[cell.key for cell in cells]} train differently")
    began, cpu_began, device = time.perf_counter(), time.process_time(), resolve_device(device)
    first = cells[0]
    data = run_data(first.protocol, first.seed, settings, first.train_digits)
    torch.manual_seed(first.seed)  # the initial weights
    model = build_model(first.model)
    with tempfile.TemporaryDirectory(prefix="gcnn-edu-reproduce-") as folder:
        fit = fit_with_early_stopping(model, first.model, data, first.seed, settings, device, Path(folder))
    results = []
    for cell in cells:
        test = test_set(cell.protocol, cell.seed, settings)
        result = {**asdict(cell), "parameters": count_parameters(model),
                  "learning_rate": learning_rate_of(cell.model, settings),
                  "test_accuracy": evaluate(model, test, device=device), **fit,
                  "epochs_trained": len(fit["validation_accuracy"]), "fit_digits": len(data.fit),
                  "validation_digits": len(data.validation), "test_digits": len(test),
                  "shared_run_with": [other.key for other in cells if other != cell]}
        if cell.protocol == "upright-to-rotated":
            result["accuracy_vs_angle"] = _angle_curve(model, cell.seed, settings, device)
        results.append(result)
    times = {"seconds": time.perf_counter() - began, "cpu_seconds": time.process_time() - cpu_began,
             "threads": torch.get_num_threads(), "device": str(device)}
    return [{**result, **times} for result in results]


def _angle_curve(model, seed: int, settings: Settings, device) -> dict[str, float]:
    """Accuracy on the seed's upright test digits turned to every angle (0 to 360 degrees)."""
    upright_test = digit_sets("upright", "upright", seed=seed)[1].subset(settings.curve_digits)
    angles = [float(a) for a in torch.arange(0, 360 + 1e-9, settings.angle_step)]
    return {str(a): acc for a, acc in accuracy_vs_angle(model, upright_test, angles, device=device).items()}


# --------------------------------------------------------------------------------------------
# The grid and its results file
# --------------------------------------------------------------------------------------------

def study_cells(study, seeds) -> list[Cell]:
    """Every cell of the grids of ``study`` with every seed, in order, each once."""
    return list(dict.fromkeys(cell for grid in study for cell in grid.cells(seeds)))


def new_results(settings: Settings, device) -> dict:
    """An empty results file: format, settings, versions and device."""
    return {"format": RESULTS_FORMAT, "configuration": asdict(settings),
            "versions": {"gcnn_edu": __version__, "torch": torch.__version__, "python": platform.python_version()},
            "device": str(device), "runs": {}}


def load_results(path: Path, settings: Settings, device) -> dict:
    """The results file at ``path`` if it exists and was written with ``settings``, else a new one."""
    if not path.exists():
        return new_results(settings, device)
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise GcnnEduError(f"{str(path)!r} is not a readable results file ({error}): delete it or choose "
                           "another --out") from None
    if not isinstance(results, dict) or results.get("format") != RESULTS_FORMAT or not isinstance(
            results.get("runs"), dict):
        raise GcnnEduError(f"{str(path)!r} is not a results file of this gcnn-edu reproduce: delete it or choose "
                           "another --out")
    if results.get("configuration") != asdict(settings):
        changed = sorted(k for k, v in asdict(settings).items() if results.get("configuration", {}).get(k) != v)
        raise GcnnEduError(f"{str(path)!r} was written with other settings ({', '.join(changed)} differ): rerun with "
                           "the same settings to resume it, or choose another --out")
    return results


def reproduce(out, study=DEFAULT_STUDY, seeds=range(3), settings=Settings(), device="auto", jobs: int = 1,
              threads: int = 1, progress: bool = True) -> dict:
    """Run every cell of ``study`` (grids of models x protocols x training digits) with every
    seed that is not yet in ``out/reproduce.json``, saving the file after each run.

    ``jobs`` > 1 trains that many runs at a time, in worker processes of ``threads`` threads each
    (``jobs=1`` trains here, with torch's threads as they are). Returns the results
    (``format``, ``configuration``, ``versions``, ``device``, ``runs``); an unknown model or
    protocol, or an impossible number of training digits, raises :class:`GcnnEduError` before
    any training."""
    cells = study_cells(study, seeds)
    _check_cells(cells)
    device, out = resolve_device(device), check_writable(out)
    path = out / RESULTS_FILE
    results = load_results(path, settings, device)
    pending = [cell for cell in cells if cell.key not in results["runs"]]
    with tqdm(total=len(cells), initial=len(cells) - len(pending), desc="reproduce", unit="run",
              disable=not progress) as bar:
        for cell, numbers in finished_runs(pending, settings, device, jobs, threads):
            results["runs"] = dict(sorted({**results["runs"], cell.key: numbers}.items()))
            results["device"] = str(device)
            write_atomically(path, lambda file: json.dump(results, file, indent=1), binary=False)
            bar.set_postfix_str(cell.key)
            bar.update()
    return results


def finished_runs(cells: list[Cell], settings: Settings, device, jobs: int = 1, threads: int = 1):
    """Yield ``(cell, numbers)`` as the runs of ``cells`` finish, one run per training
    (:func:`runs_of`): here, one after the other, or ``jobs`` at a time in worker processes of
    ``threads`` threads each."""
    runs = runs_of(cells, settings)
    if jobs == 1 or len(runs) <= 1:
        for run_cells in runs:
            yield from zip(run_cells, train_one(run_cells, settings, device), strict=True)
        return
    workers = ProcessPoolExecutor(min(jobs, len(runs)), mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_start_worker, initargs=(threads,))
    with workers:
        futures = {workers.submit(train_one, run_cells, settings, device): run_cells for run_cells in runs}
        try:
            for future in as_completed(futures):
                yield from zip(futures[future], future.result(), strict=True)
        except BaseException:  # an error, Ctrl-C, or the caller stopped: drop the runs not yet started
            workers.shutdown(cancel_futures=True)
            raise



def _start_worker(threads: int) -> None:
    """A worker process's set-up: its threads, and freed memory kept for the next step."""
    torch.set_num_threads(threads)
    keep_freed_memory()

def runs_of(cells: list[Cell], settings: Settings) -> list[tuple[Cell, ...]]:
    """The runs that give ``cells``: the cells grouped by :attr:`Cell.training`, the dearest
    run first (the model's multiply-adds on one digit x the most digits it may see), so that
    workers do not end with one long run while the others wait."""
    runs = {}
    for cell in cells:
        runs.setdefault(cell.training, []).append(cell)

    def most_work(run_cells):
        cell = run_cells[0]
        return multiply_adds(cell.model) * cell.train_digits * epoch_limits(settings, cell.train_digits)[0]

    return sorted((tuple(run_cells) for run_cells in runs.values()), key=most_work, reverse=True)


@functools.cache
def multiply_adds(model: str) -> int:
    """The multiply-adds of ``model``'s forward pass on one 28x28 digit (torch's flop counter / 2)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        build_model(model).eval()(torch.zeros(1, 1, 28, 28))
    return counter.get_total_flops() // 2


def _check_cells(cells: list[Cell]) -> None:
    for cell in cells:
        if cell.model not in MODELS:
            raise GcnnEduError(f"unknown model {cell.model!r}: expected one of {', '.join(MODELS)}")
        if cell.protocol not in PROTOCOLS:
            raise GcnnEduError(f"unknown protocol {cell.protocol!r}: expected one of {', '.join(PROTOCOLS)}")
        if not 10 <= cell.train_digits <= ALL_TRAIN_DIGITS:
            raise GcnnEduError(f"{cell.train_digits} training digits: expected 10 to {ALL_TRAIN_DIGITS:,} "
                               "(the training digits of a seed's split)")


# --------------------------------------------------------------------------------------------
# Table and plots
# --------------------------------------------------------------------------------------------

def grid_runs(results: dict, cells: list[Cell]) -> dict[tuple[str, str, int], list[dict]]:
    """The finished runs of ``cells``, grouped by (model, protocol, training digits), in seed
    order; the groups in the order of the protocols, then the models, then the digits."""
    groups = {}
    for cell in sorted(cells, key=lambda c: (list(PROTOCOLS).index(c.protocol), list(MODELS).index(c.model),
                                             c.train_digits, c.seed)):
        if cell.key in results["runs"]:
            groups.setdefault((cell.model, cell.protocol, cell.train_digits), []).append(results["runs"][cell.key])
    return groups


def summarize(runs: list[dict]) -> dict:
    """Mean and sample standard deviation (n - 1; None for one seed) over seeds of the test
    accuracy (%), and the mean best epoch."""
    accuracies = [100 * run["test_accuracy"] for run in runs]
    return {"n": len(runs), "parameters": runs[0]["parameters"], "mean": statistics.fmean(accuracies),
            "std": statistics.stdev(accuracies) if len(runs) > 1 else None,
            "best_epoch": statistics.fmean(run["best_epoch"] for run in runs),
            "epochs_trained": statistics.fmean(run["epochs_trained"] for run in runs)}


def format_table(groups: dict[tuple[str, str, int], list[dict]]) -> str:
    """A Markdown table: per (model, protocol, training digits), test error and accuracy as
    mean ± std (%) over n seeds."""
    lines = ["| protocol | model | training digits | parameters | test error (%) | test accuracy (%) | n | "
             "best epoch | epochs |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for (model, protocol, digits), runs in groups.items():
        row = summarize(runs)
        spread = "" if row["std"] is None else f" ± {row['std']:.2f}"
        lines.append(f"| {protocol} | {model} | {digits:,} | {row['parameters']:,} | {100 - row['mean']:.2f}{spread} | "
                     f"{row['mean']:.2f}{spread} | {row['n']} | {row['best_epoch']:.1f} | "
                     f"{row['epochs_trained']:.1f} |")
    return "\n".join(lines)


def plot_angle_curves(groups: dict[tuple[str, str, int], list[dict]], path: Path) -> Path | None:
    """Accuracy against the angle of the test digits for 'upright-to-rotated' (all training
    digits), a band over seeds."""
    curves = {model: [run["accuracy_vs_angle"] for run in runs]  # parameter counts: in the table
              for (model, protocol, digits), runs in groups.items()
              if protocol == "upright-to-rotated" and digits == ALL_TRAIN_DIGITS}
    if not curves:
        return None
    return plot_accuracy_vs_angle(curves, path, title="Trained upright: mean over seeds, band lowest to highest")


def write_report(results: dict, groups, out: Path) -> list[Path]:
    """The table (``reproduce.md``) and the plots; returns the paths written."""
    table = out / TABLE_FILE
    table.write_text(f"Test error and accuracy, mean ± standard deviation over n seeds "
                     f"({results['device']}, torch {results['versions']['torch']})\n\n{format_table(groups)}\n")
    written = [table, plot_validation_curves(groups, out / "validation_curves.png", ALL_TRAIN_DIGITS),
               plot_angle_curves(groups, out / "accuracy_vs_angle.png"),
               plot_data_size(groups, out / "data_size.png")]
    return [path for path in written if path is not None]


# --------------------------------------------------------------------------------------------
# gcnn-edu reproduce
# --------------------------------------------------------------------------------------------

MAX_DEFAULT_JOBS = 8  # a worker holds about 0.5 GB


def default_jobs(device: torch.device) -> int:
    """Runs at a time when ``--jobs`` is not given: on the CPU one per core this process may use
    (one thread each), at most :data:`MAX_DEFAULT_JOBS`; on a GPU one, which has the device to itself."""
    if device.type != "cpu":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_JOBS))


def add_arguments(parser) -> None:
    defaults = Settings()
    parser.add_argument("--models", nargs="+", type=one_of(MODELS, "model"), default=None, metavar="NAME",
                        help=f"models (default: those of the default study: {' '.join(DEFAULT_MODELS)})")
    parser.add_argument("--protocols", nargs="+", type=one_of(PROTOCOLS, "protocol"), default=None, metavar="NAME",
                        help=f"protocols (default: all: {' '.join(PROTOCOLS)})")
    parser.add_argument("--train-digits", nargs="+", type=positive_int, default=None, metavar="N",
                        help=f"numbers of training digits, validation included (default: all {ALL_TRAIN_DIGITS:,}). "
                             "Any of --models, --protocols, --train-digits runs their full product instead of the "
                             "default study")
    parser.add_argument("--data-axis", action="store_true",
                        help="add the error against the number of training digits: z2cnn and p4cnn, protocol "
                             "rotated, on 1,000 and 2,000 digits (4,000: in the default study)")
    parser.add_argument("--seeds", type=positive_int, default=None, help="seeds per cell (default: 3)")
    parser.add_argument("--first-seed", type=random_seed, default=0,
                        help="the seeds are first-seed, first-seed + 1, ... (default: 0)")
    parser.add_argument("--quick", action="store_true",
                        help="a small grid: z2cnn p4cnn, protocol rotated, 2 seeds, at most 10 epochs, patience 3 "
                             "(a few minutes on 2 CPU cores)")
    parser.add_argument("--max-epochs", type=positive_int, default=None, help=f"(default: {defaults.max_epochs})")
    parser.add_argument("--patience", type=positive_int, default=None,
                        help=f"stop after this many epochs without a better validation accuracy "
                             f"(default: {defaults.patience})")
    parser.add_argument("--equal-steps", action=argparse.BooleanOptionalAction, default=None,
                        help="scale --max-epochs and --patience by 4,000 / training digits, so that runs on fewer "
                             "digits may take as many optimizer steps (default: on)")
    parser.add_argument("--batch-size", type=positive_int, default=None, help=f"(default: {defaults.batch_size})")
    parser.add_argument("--learning-rate", type=positive_float, default=None,
                        help=f"Adam's learning rate for every model (default: each model's, {AUTHORS_LEARNING_RATE:g}; "
                             + ", ".join(f"{model}: {rate:g}" for model, rate in LEARNING_RATES.items()) + ")")
    parser.add_argument("--test-digits", type=positive_int, default=None, help="test digits (default: all 1,000)")
    parser.add_argument("--curve-digits", type=positive_int, default=None,
                        help=f"test digits of the accuracy-vs-angle curve (default: {defaults.curve_digits})")
    parser.add_argument("--angle-step", type=positive_float, default=None,
                        help=f"degrees between its angles (default: {defaults.angle_step:g})")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu or cuda")
    parser.add_argument("--jobs", type=positive_int, default=None,
                        help=f"runs trained at a time, each in a worker process (default: on the CPU one per core, "
                             f"at most {MAX_DEFAULT_JOBS}, here {default_jobs(torch.device('cpu'))}; on a GPU 1)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads per run (default: 1 with --jobs > 1, else torch's)")
    parser.add_argument("--out", default="runs/reproduce", help=f"folder for {RESULTS_FILE}, the table and the plots")


def settings_from(args) -> Settings:
    """The settings of the command: --quick's or the defaults, with every option given on top."""
    base = QUICK["settings"] if args.quick else Settings()
    given = {"max_epochs": args.max_epochs, "patience": args.patience, "equal_steps": args.equal_steps,
             "batch_size": args.batch_size, "learning_rate": args.learning_rate, "test_digits": args.test_digits,
             "curve_digits": args.curve_digits, "angle_step": args.angle_step}
    return Settings(**{**asdict(base), **{k: v for k, v in given.items() if v is not None}})


def study_from(args) -> tuple[Grid, ...]:
    """The grids of the command: --quick's or the default study, or the full product of the
    --models, --protocols and --train-digits given; and the data axis with --data-axis."""
    if args.models or args.protocols or args.train_digits:
        study = (Grid(tuple(dict.fromkeys(args.models or DEFAULT_MODELS)),
                      tuple(dict.fromkeys(args.protocols or PROTOCOLS)),
                      tuple(dict.fromkeys(args.train_digits or (ALL_TRAIN_DIGITS,)))),)
    else:
        study = QUICK["study"] if args.quick else DEFAULT_STUDY
    return study + DATA_AXIS if args.data_axis else study


def run(args) -> int:
    study = study_from(args)
    seeds = range(args.first_seed, args.first_seed + (args.seeds or (QUICK["seeds"] if args.quick else 3)))
    settings = settings_from(args)
    cells = study_cells(study, seeds)
    _check_cells(cells)
    device, out = resolve_device(args.device), check_writable(args.out)
    jobs = args.jobs or default_jobs(device)
    threads = args.threads or (1 if jobs > 1 else torch.get_num_threads())
    if jobs == 1:
        torch.set_num_threads(threads)
    print(f"gcnn-edu reproduce: {len(cells)} runs ({len(seeds)} seeds) on {device}, {jobs} at a time with "
          f"{threads} thread{'s' if threads > 1 else ''} each; {settings}", flush=True)
    began = time.perf_counter()
    results = reproduce(out, study, seeds, settings, device, jobs, threads)
    groups = grid_runs(results, cells)
    print("\n" + format_table(groups))
    written = write_report(results, groups, out)
    print(f"wrote {out / RESULTS_FILE}, " + ", ".join(str(p) for p in written)
          + f"; finished in {time.perf_counter() - began:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``gcnn-edu reproduce`` (the same as ``python -m gcnn_edu.reproduce``)."""
    from .cli import main as gcnn_edu

    return gcnn_edu(["reproduce", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
