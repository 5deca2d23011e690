"""``gcnn-edu reproduce``: the paper's comparison as a grid of models x protocols x seeds, with spreads.

Every run trains one model (a name of :data:`gcnn_edu.models.MODELS`) under one protocol with
one seed, on the 5,000 embedded MNIST digits (4,000 to train, 1,000 to test, split by the seed):

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
  a reader can see whether a run had stopped improving.
* the models are those of :mod:`gcnn_edu.models` as they are (today's P4CNN uses dropout 0.3,
  where the authors' P4CNN has its dropout lines commented out).

Runs are independent and deterministic given (model, protocol, seed) and the settings (on the
same device and number of threads): the seed fixes the split, the initial weights, the
rotations, the shuffling and the dropout masks. The results file ``reproduce.json`` in
``--out`` holds the settings, the versions, the device, and every finished run's numbers; it is
rewritten atomically after every run. Rerunning with the same ``--out`` reuses the finished runs
(a larger grid extends a smaller one), and refuses a file written with other settings.
At the end it prints and writes ``reproduce.md`` (mean ± standard deviation over seeds, with n),
``validation_curves.png`` and, for ``upright-to-rotated``, ``accuracy_vs_angle.png``::

    gcnn-edu reproduce --quick --out /tmp/quick                   # a few minutes on 2 CPU cores
    gcnn-edu reproduce --seeds 3 --out runs/reproduce             # the default grid
    gcnn-edu reproduce --models z2cnn p4cnn --protocols rotated --seeds 5 --first-seed 100
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import __version__
from ._arguments import one_of, positive_float, positive_int, random_seed
from .data import Digits, digit_sets, rotated, split
from .errors import GcnnEduError
from .models import MODELS, build_model, count_parameters
from .training import accuracy_vs_angle, check_writable, evaluate, resolve_device, train, write_atomically
from .viz.accuracy import plot_accuracy_vs_angle

__all__ = ["PROTOCOLS", "DEFAULT_MODELS", "Settings", "QUICK", "reproduce", "train_one", "summarize",
           "format_table", "add_arguments", "run", "main"]

PROTOCOLS = {"rotated": ("rotated", "rotated"), "upright-to-rotated": ("upright", "rotated"),
             "upright": ("upright", "upright")}  # protocol: (training digits, test digits)
DEFAULT_MODELS = ("z2cnn", "p4cnn", "p4cnn-rotation-pooling", "p4mcnn", "cnn", "gcnn", "p4-early")
RESULTS_FILE, TABLE_FILE = "reproduce.json", "reproduce.md"
RESULTS_FORMAT = 1


@dataclass(frozen=True)
class Settings:
    """Everything besides (model, protocol, seed) that a run's numbers depend on. A results file
    is resumed only with equal settings."""

    max_epochs: int = 30
    patience: int = 5
    train_digits: int | None = None  # of the 4,000 training digits (validation included); None: all
    test_digits: int | None = None  # of the 1,000 test digits; None: all
    validation_fraction: float = 0.2
    batch_size: int = 128
    learning_rate: float = 1e-3
    augmentation: str = "fresh random rotation every epoch (protocol 'rotated')"
    angle_step: float = 15.0  # degrees between the angles of the accuracy curve (upright-to-rotated)
    curve_digits: int = 500  # test digits turned to every angle of that curve


QUICK = {"models": ("z2cnn", "p4cnn"), "protocols": ("rotated",), "seeds": 2,
         "settings": Settings(max_epochs=12, patience=3)}  # about 3 minutes on 2 CPU cores


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunData:
    """The digits of one run: upright training digits (turned per epoch when ``augment``),
    validation digits (from the training digits) and test digits."""

    fit: Digits
    validation: Digits
    test: Digits
    augment: bool

    def epoch_set(self, seed: int, epoch: int) -> Digits:
        """The training digits of ``epoch`` (1-based): turned by angles drawn from (seed, epoch) if augmenting."""
        return rotated(self.fit, seed=_augmentation_seed(seed, epoch)) if self.augment else self.fit


def _augmentation_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) * 2 + 1_000_001


def run_data(protocol: str, seed: int, settings: Settings) -> RunData:
    """Split the seed's training digits into fitting and validation digits (stratified, the
    validation digits of the training distribution); the test digits follow the protocol."""
    train_kind, test_kind = PROTOCOLS[protocol]
    upright_train, test = digit_sets("upright", test_kind, seed=seed)
    fit, validation = split(upright_train.subset(settings.train_digits), settings.validation_fraction, seed)
    if len(validation) == 0:
        raise GcnnEduError(f"{settings.train_digits} training digits leave no validation digits: "
                           "use more --train-digits")
    if train_kind == "rotated":
        validation = rotated(validation, seed=2 * seed + 1)
    return RunData(fit, validation, test.subset(settings.test_digits), augment=train_kind == "rotated")


def fit_with_early_stopping(model, name: str, data: RunData, seed: int, settings: Settings, device,
                            folder: Path) -> dict:
    """Train epoch by epoch (:func:`gcnn_edu.training.train`, resumed from its checkpoint in
    ``folder`` so Adam's state carries over) until the validation accuracy has not improved for
    ``patience`` epochs or ``max_epochs`` have passed; leave ``model`` at its best validation epoch.
    Returns the validation accuracy and training loss per epoch and the best epoch (1-based)."""
    checkpoint = folder / "checkpoint.pt"
    curve, best_epoch, best_state, history = [], 0, None, {"loss": []}
    for epoch in range(1, settings.max_epochs + 1):
        history = train(model, data.epoch_set(seed, epoch), epochs=epoch, batch_size=settings.batch_size,
                        lr=settings.learning_rate, lr_decay=1.0, seed=seed, device=device, checkpoint=checkpoint,
                        resume=True, model_name=name, progress=False)
        curve.append(evaluate(model, data.validation, device=device))
        if best_state is None or curve[-1] > curve[best_epoch - 1]:
            best_epoch, best_state = epoch, {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= settings.patience:
            break
    model.load_state_dict(best_state)
    return {"validation_accuracy": curve, "train_loss": history["loss"], "best_epoch": best_epoch}


def train_one(model_name: str, protocol: str, seed: int, settings: Settings, device="auto") -> dict:
    """One run of the grid: the model trained with early stopping, then tested. Returns its
    numbers: test accuracy, best epoch, validation curve, parameters, seconds, device (and,
    for 'upright-to-rotated', the accuracy against the angle of the upright test digits turned)."""
    began, device = time.perf_counter(), resolve_device(device)
    data = run_data(protocol, seed, settings)
    torch.manual_seed(seed)  # the initial weights
    model = build_model(model_name)
    with tempfile.TemporaryDirectory(prefix="gcnn-edu-reproduce-") as folder:
        fit = fit_with_early_stopping(model, model_name, data, seed, settings, device, Path(folder))
    result = {"model": model_name, "protocol": protocol, "seed": seed, "parameters": count_parameters(model),
              "test_accuracy": evaluate(model, data.test, device=device), **fit,
              "epochs_trained": len(fit["validation_accuracy"]), "fit_digits": len(data.fit),
              "validation_digits": len(data.validation), "test_digits": len(data.test)}
    if protocol == "upright-to-rotated":
        result["accuracy_vs_angle"] = _angle_curve(model, seed, settings, device)
    result.update(seconds=time.perf_counter() - began, device=str(device))
    return result


def _angle_curve(model, seed: int, settings: Settings, device) -> dict[str, float]:
    """Accuracy on the seed's upright test digits turned to every angle (0 to 360 degrees)."""
    upright_test = digit_sets("upright", "upright", seed=seed)[1].subset(settings.curve_digits)
    angles = [float(a) for a in torch.arange(0, 360 + 1e-9, settings.angle_step)]
    return {str(a): acc for a, acc in accuracy_vs_angle(model, upright_test, angles, device=device).items()}


# --------------------------------------------------------------------------------------------
# The grid and its results file
# --------------------------------------------------------------------------------------------

def run_key(model: str, protocol: str, seed: int) -> str:
    """The name of a run in the results file, e.g. 'p4cnn/rotated/seed 0'."""
    return f"{model}/{protocol}/seed {seed}"


def new_results(settings: Settings, device) -> dict:
    """An empty results file: format, settings, versions, device and threads."""
    return {"format": RESULTS_FORMAT, "configuration": asdict(settings),
            "versions": {"gcnn_edu": __version__, "torch": torch.__version__, "python": platform.python_version()},
            "device": str(device), "threads": torch.get_num_threads(), "runs": {}}


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
        raise GcnnEduError(f"{str(path)!r} is not a gcnn-edu reproduce results file: delete it or choose another --out")
    if results.get("configuration") != asdict(settings):
        changed = sorted(k for k, v in asdict(settings).items() if results.get("configuration", {}).get(k) != v)
        raise GcnnEduError(f"{str(path)!r} was written with other settings ({', '.join(changed)} differ): rerun with "
                           "the same settings to resume it, or choose another --out")
    return results


def reproduce(out, models=DEFAULT_MODELS, protocols=tuple(PROTOCOLS), seeds=range(3), settings=Settings(),
              device="auto", progress: bool = True) -> dict:
    """Run every (model, protocol, seed) not yet in ``out/reproduce.json``, saving after each run.

    Returns the results (``configuration``, ``versions``, ``device``, ``threads``, ``runs``);
    an unknown model or protocol raises :class:`GcnnEduError` before any training."""
    _check_grid(models, protocols)
    device, out = resolve_device(device), check_writable(out)
    path = out / RESULTS_FILE
    results = load_results(path, settings, device)
    grid = [(m, p, s) for p in protocols for m in models for s in seeds]
    done = sum(run_key(*cell) in results["runs"] for cell in grid)
    with tqdm(total=len(grid), initial=done, desc="reproduce", unit="run", disable=not progress) as bar:
        for model, protocol, seed in grid:
            if run_key(model, protocol, seed) in results["runs"]:
                continue
            bar.set_postfix_str(run_key(model, protocol, seed))
            results["runs"][run_key(model, protocol, seed)] = train_one(model, protocol, seed, settings, device)
            results.update(device=str(device), threads=torch.get_num_threads())
            write_atomically(path, lambda file: json.dump(results, file, indent=1), binary=False)
            bar.update()
    return results


def _check_grid(models, protocols) -> None:
    for name in models:
        if name not in MODELS:
            raise GcnnEduError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")
    for name in protocols:
        if name not in PROTOCOLS:
            raise GcnnEduError(f"unknown protocol {name!r}: expected one of {', '.join(PROTOCOLS)}")


# --------------------------------------------------------------------------------------------
# Table and plots
# --------------------------------------------------------------------------------------------

def grid_runs(results: dict, models, protocols, seeds) -> dict[tuple[str, str], list[dict]]:
    """The finished runs of the grid, grouped by (model, protocol), in seed order."""
    groups = {}
    for protocol in protocols:
        for model in models:
            runs = [results["runs"][run_key(model, protocol, s)] for s in seeds
                    if run_key(model, protocol, s) in results["runs"]]
            if runs:
                groups[model, protocol] = runs
    return groups


def summarize(runs: list[dict]) -> dict:
    """Mean and sample standard deviation (n - 1; None for one seed) over seeds of the test
    accuracy (%), and the mean best epoch."""
    accuracies = [100 * run["test_accuracy"] for run in runs]
    return {"n": len(runs), "parameters": runs[0]["parameters"], "mean": statistics.fmean(accuracies),
            "std": statistics.stdev(accuracies) if len(runs) > 1 else None,
            "best_epoch": statistics.fmean(run["best_epoch"] for run in runs),
            "epochs_trained": statistics.fmean(run["epochs_trained"] for run in runs)}


def format_table(groups: dict[tuple[str, str], list[dict]]) -> str:
    """A Markdown table: per (model, protocol), test error and accuracy as mean ± std (%) over n seeds."""
    lines = ["| protocol | model | parameters | test error (%) | test accuracy (%) | n | best epoch | epochs |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for (model, protocol), runs in groups.items():
        row = summarize(runs)
        spread = "" if row["std"] is None else f" ± {row['std']:.2f}"
        lines.append(f"| {protocol} | {model} | {row['parameters']:,} | {100 - row['mean']:.2f}{spread} | "
                     f"{row['mean']:.2f}{spread} | {row['n']} | {row['best_epoch']:.1f} | "
                     f"{row['epochs_trained']:.1f} |")
    return "\n".join(lines)


def plot_validation_curves(groups: dict[tuple[str, str], list[dict]], path: Path) -> Path:
    """Validation accuracy against epoch, one panel per protocol, one line per model: the mean
    over the seeds that reached an epoch, with a band from their lowest to their highest."""
    from matplotlib.figure import Figure

    protocols = list(dict.fromkeys(protocol for _, protocol in groups))
    figure = Figure(figsize=(5.5 * len(protocols), 4.2), layout="constrained")
    axes = figure.subplots(1, len(protocols), squeeze=False)[0]
    for ax, protocol in zip(axes, protocols, strict=True):
        for (model, group_protocol), runs in groups.items():
            if group_protocol == protocol:
                _draw_seed_band(ax, [run["validation_accuracy"] for run in runs], model)
        ax.set(title=f"protocol: {protocol}", xlabel="epoch", ylabel="validation accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    figure.savefig(path, dpi=120, metadata={"Software": None})
    return path


def _draw_seed_band(ax, curves: list[list[float]], label: str) -> None:
    longest = max(len(curve) for curve in curves)
    epochs = list(range(1, longest + 1))
    at = [[100 * curve[e - 1] for curve in curves if len(curve) >= e] for e in epochs]
    line, = ax.plot(epochs, [statistics.fmean(values) for values in at], marker="o", markersize=3,
                    label=f"{label} (n={len(curves)})")
    ax.fill_between(epochs, [min(v) for v in at], [max(v) for v in at], color=line.get_color(), alpha=0.2,
                    linewidth=0)


def plot_angle_curves(groups: dict[tuple[str, str], list[dict]], path: Path) -> Path | None:
    """Accuracy against the angle of the test digits for 'upright-to-rotated', a band over seeds."""
    curves = {model: [run["accuracy_vs_angle"] for run in runs]  # parameter counts: in the table
              for (model, protocol), runs in groups.items() if protocol == "upright-to-rotated"}
    if not curves:
        return None
    return plot_accuracy_vs_angle(curves, path, title="Trained upright: mean over seeds, band lowest to highest")


def write_report(results: dict, groups, out: Path) -> list[Path]:
    """The table (``reproduce.md``) and the plots; returns the paths written."""
    table = out / TABLE_FILE
    table.write_text(f"Test error and accuracy, mean ± standard deviation over n seeds "
                     f"({results['device']}, torch {results['versions']['torch']})\n\n{format_table(groups)}\n")
    written = [table, plot_validation_curves(groups, out / "validation_curves.png")]
    angles = plot_angle_curves(groups, out / "accuracy_vs_angle.png")
    return written + ([angles] if angles else [])


# --------------------------------------------------------------------------------------------
# gcnn-edu reproduce
# --------------------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    defaults = Settings()
    parser.add_argument("--models", nargs="+", type=one_of(MODELS, "model"), default=None, metavar="NAME",
                        help=f"models of the grid (default: {' '.join(DEFAULT_MODELS)})")
    parser.add_argument("--protocols", nargs="+", type=one_of(PROTOCOLS, "protocol"), default=None, metavar="NAME",
                        help=f"protocols of the grid (default: all: {' '.join(PROTOCOLS)})")
    parser.add_argument("--seeds", type=positive_int, default=None, help="seeds per (model, protocol) (default: 3)")
    parser.add_argument("--first-seed", type=random_seed, default=0,
                        help="the seeds are first-seed, first-seed + 1, ... (default: 0)")
    parser.add_argument("--quick", action="store_true",
                        help="a small grid: z2cnn p4cnn, protocol rotated, 2 seeds, at most 12 epochs, patience 3 "
                             "(a few minutes on 2 CPU cores)")
    parser.add_argument("--max-epochs", type=positive_int, default=None, help=f"(default: {defaults.max_epochs})")
    parser.add_argument("--patience", type=positive_int, default=None,
                        help=f"stop after this many epochs without a better validation accuracy "
                             f"(default: {defaults.patience})")
    parser.add_argument("--train-digits", type=positive_int, default=None,
                        help="training digits, validation included (default: all 4,000)")
    parser.add_argument("--test-digits", type=positive_int, default=None, help="test digits (default: all 1,000)")
    parser.add_argument("--curve-digits", type=positive_int, default=None,
                        help=f"test digits of the accuracy-vs-angle curve (default: {defaults.curve_digits})")
    parser.add_argument("--angle-step", type=positive_float, default=None,
                        help=f"degrees between its angles (default: {defaults.angle_step:g})")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu or cuda")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--out", default="runs/reproduce", help=f"folder for {RESULTS_FILE}, the table and the plots")


def settings_from(args) -> Settings:
    """The settings of the command: --quick's or the defaults, with every option given on top."""
    base = QUICK["settings"] if args.quick else Settings()
    given = {"max_epochs": args.max_epochs, "patience": args.patience, "train_digits": args.train_digits,
             "test_digits": args.test_digits, "curve_digits": args.curve_digits, "angle_step": args.angle_step}
    return Settings(**{**asdict(base), **{k: v for k, v in given.items() if v is not None}})


def run(args) -> int:
    quick = QUICK if args.quick else {"models": DEFAULT_MODELS, "protocols": tuple(PROTOCOLS), "seeds": 3}
    models = list(dict.fromkeys(args.models or quick["models"]))
    protocols = list(dict.fromkeys(args.protocols or quick["protocols"]))
    seeds = range(args.first_seed, args.first_seed + (args.seeds or quick["seeds"]))
    settings = settings_from(args)
    device, out = resolve_device(args.device), check_writable(args.out)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"gcnn-edu reproduce: {len(models)} models x {len(protocols)} protocols x {len(seeds)} seeds on {device}, "
          f"{torch.get_num_threads()} threads; {settings}", flush=True)
    began = time.perf_counter()
    results = reproduce(out, models, protocols, seeds, settings, device)
    groups = grid_runs(results, models, protocols, seeds)
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
