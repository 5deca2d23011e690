"""Stopping equivariance early: planar, fully p4, p4-then-planar and p4m -> pmm -> pm_u -> planar.

A p4-equivariant network with a max over rotations at the top cannot tell a 6 from a 9: the
half turn r^2 maps one onto the other and leaves its logits unchanged. A network that is
equivariant in its first layers only (:class:`~gcnn_edu.models.P4EarlyCNN`) shares its low-level
filters over the rotations, like a G-CNN, but its planar top still sees orientation (the
restriction keeps which rotation fired), like a CNN. This experiment puts four networks of about
the same size side by side, with the demo's data, optimiser and schedule
(:mod:`gcnn_edu.demo`):

* ``z2cnn`` (planar), ``p4cnn`` (p4 all the way, invariant to quarter turns),
* ``p4-early`` (two p4 layers, then planar), ``p4m-pmm-pm`` (p4m x 2 -> pmm x 2 -> pm_u -> p1 x 2),

each trained on upright digits and, separately, on digits turned by any angle, and each tested on
the 1,000 held-out digits upright, turned by a random multiple of 90 degrees (exact) and turned
by any angle (bilinear), exactly as the demo tests. Run it with::

    gcnn-edu early --epochs 4 --threads 1 --out figures      # or python -m gcnn_edu.early_equivariance

It prints the table and writes ``early_equivariance.json`` (every number, the parameter counts,
the run's settings and times) into ``--out``. :func:`compare` is the same experiment as a function
(lesson 8 runs it small, on its own models).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn

from ._arguments import one_of, positive_int, random_seed
from .data import digit_sets, rotated90
from .demo import LEARNING_RATE, LR_DECAY, TESTS
from .models import MODELS, build_model, count_parameters, model_class
from .training import check_writable, evaluate, resolve_device, train

__all__ = ["MODEL_NAMES", "TRAIN_DATA", "compare", "format_table", "add_arguments", "run", "main"]

MODEL_NAMES = ("z2cnn", "p4cnn", "p4-early", "p4m-pmm-pm")
TRAIN_DATA = ("upright", "rotated")
RESULTS_FILE = "early_equivariance.json"


def compare(models: Iterable[str] | dict[str, Callable[[], nn.Module]] = MODEL_NAMES, train_data=TRAIN_DATA,
            epochs: int = 4, train_digits: int | None = None, test_digits: int | None = None, seed: int = 0,
            device: str | torch.device = "auto", progress: bool = True, batch_size: int = 64) -> list[dict]:
    """Train every model on every kind of training data; test each on upright digits, digits
    turned by multiples of 90 degrees, and digits turned by any angle.

    Args:
        models: names in :data:`gcnn_edu.models.MODELS`, or ``{name: factory}`` with factories
            that build a fresh model (e.g. a ``SevenLayerCNN`` of a config of your own).
        train_data: 'upright' and / or 'rotated' (digits turned by any angle) training digits.
        epochs: epochs of Adam with the demo's schedule (lr 4e-3, decayed by 0.6 per epoch).
        train_digits, test_digits: use only this many (default: all 4,000 and 1,000).
        seed: of the split, the rotations, the initial weights and the training.
        batch_size: digits per step (default 64, as the demo); smaller batches take more steps
            per epoch, which helps a short run on few digits.

    Returns:
        one dict per (training data, model): ``model``, ``parameters``, ``trained_on``, ``epochs``,
        ``seconds`` (training and testing) and ``test_accuracy`` ``{upright, rotated90, rotated}``
        in [0, 1].
    """
    factories = _factories(models)
    for name in train_data:
        if name not in TRAIN_DATA:
            raise ValueError(f"unknown training data {name!r}: expected 'upright' or 'rotated'")
    device = resolve_device(device)
    upright_train, upright_test = _sets("upright", seed, train_digits, test_digits)
    rotated_train, rotated_test = _sets("rotated", seed, train_digits, test_digits)
    tests = {"upright": upright_test, "rotated90": rotated90(upright_test, seed), "rotated": rotated_test}
    train_sets = {"upright": upright_train, "rotated": rotated_train}
    results = []
    for train_name in train_data:
        for model_name, factory in factories.items():
            began = time.perf_counter()
            torch.manual_seed(seed)  # the same initial weights as the demo's and train's
            model = factory()
            train(model, train_sets[train_name], epochs=epochs, batch_size=batch_size, lr=LEARNING_RATE,
                  lr_decay=LR_DECAY, seed=seed, device=device, model_name=model_name, progress=progress)
            accuracy = {test: evaluate(model, digits, device=device) for test, digits in tests.items()}
            results.append({"model": model_name, "parameters": count_parameters(model), "trained_on": train_name,
                            "epochs": epochs, "seconds": time.perf_counter() - began, "test_accuracy": accuracy})
            if progress:
                print(f"{model_name} trained {train_name}: " + ", ".join(
                    f"{TESTS[test]} {100 * acc:.1f} %" for test, acc in accuracy.items()), flush=True)
    return results


def _factories(models) -> dict[str, Callable[[], nn.Module]]:
    if isinstance(models, dict):
        return dict(models)
    if isinstance(models, str):
        models = [models]
    return {name: _named_factory(name) for name in models}


def _named_factory(name: str) -> Callable[[], nn.Module]:
    model_class(name)  # an unknown name fails here, before any training
    return lambda: build_model(name)


def _sets(name: str, seed: int, train_digits: int | None, test_digits: int | None):
    train_set, test_set = digit_sets(name, name, seed=seed)
    return train_set.subset(train_digits), test_set.subset(test_digits)


def format_table(results: list[dict]) -> str:
    """The results as a Markdown table: model, parameters, training data, the three test accuracies (%)."""
    lines = ["| model | parameters | trained on | upright | turned by 90°·k | turned by any angle |",
             "|---|---:|---|---:|---:|---:|"]
    for row in results:
        accuracy = row["test_accuracy"]
        lines.append(f"| {row['model']} | {row['parameters']:,} | {row['trained_on']} | "
                     + " | ".join(f"{100 * accuracy[test]:.1f} %" for test in TESTS) + " |")
    return "\n".join(lines)


def add_arguments(parser) -> None:
    parser.add_argument("--model", nargs="+", type=one_of(MODELS, "model"), default=list(MODEL_NAMES),
                        metavar="NAME", help=f"models to compare (default: {' '.join(MODEL_NAMES)})")
    parser.add_argument("--train-data", nargs="+", default=list(TRAIN_DATA), choices=TRAIN_DATA,
                        help="train on upright and / or rotated digits (default: both)")
    parser.add_argument("--epochs", type=positive_int, default=4, help="epochs per model (default: 4, as the demo)")
    parser.add_argument("--train-digits", type=positive_int, default=None, help="use only this many training digits")
    parser.add_argument("--test-digits", type=positive_int, default=None, help="use only this many test digits")
    parser.add_argument("--seed", type=random_seed, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu or cuda")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads for torch (default: torch's)")
    parser.add_argument("--out", default="runs/early", help=f"folder for {RESULTS_FILE} (default: runs/early)")


def run(args) -> int:
    device = resolve_device(args.device)  # a bad device or folder: GcnnEduError, one line from the command
    out = check_writable(args.out)
    if args.threads:
        torch.set_num_threads(args.threads)
    began = time.perf_counter()
    print(f"stopping equivariance early: {', '.join(args.model)} on {', '.join(args.train_data)} digits, "
          f"{args.epochs} epochs, {device}, {torch.get_num_threads()} threads", flush=True)
    results = compare([name.lower() for name in args.model], args.train_data, args.epochs, args.train_digits,
                      args.test_digits, args.seed, device)
    seconds = time.perf_counter() - began
    print("\ntest accuracy on held-out digits\n" + format_table(results))
    summary = {"results": results, "epochs": args.epochs, "seed": args.seed, "train_digits": args.train_digits,
               "test_digits": args.test_digits, "threads": torch.get_num_threads(), "device": str(device),
               "learning_rate": LEARNING_RATE, "lr_decay": LR_DECAY, "seconds": seconds}
    path = Path(out) / RESULTS_FILE
    path.write_text(json.dumps(summary, indent=2))
    print(f"wrote {path}; finished in {seconds:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``gcnn-edu early`` (the same as ``python -m gcnn_edu.early_equivariance``)."""
    from .cli import main as gcnn_edu

    return gcnn_edu(["early", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
