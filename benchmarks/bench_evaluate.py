"""What the evaluation batch costs: ``evaluate`` at EVAL_BATCH_SIZE digits a batch against 500.

    .venv/bin/python benchmarks/bench_evaluate.py            # every model of the study, 5 rounds
    .venv/bin/python benchmarks/bench_evaluate.py --quick    # 2 rounds

``gcnn_edu.training.evaluate`` runs a model over digits in batches. A study evaluates every run on
its 800 validation digits after every epoch, so the batch size is paid hundreds of times. At 500
digits a batch the larger models' activations pass glibc's largest threshold for serving an
allocation with ``mmap`` (32 MiB): every batch then maps fresh pages, which the kernel faults in
and zeroes. Each model, untrained, in eval mode, evaluates the 800 validation digits of the
'rotated' protocol (seed 0) at both batch sizes, interleaved, one thread; the clock is the thread's
CPU time, kernel time included. Printed: the median seconds of each, the minor page faults of one
evaluation (``getrusage``), and the median of the per-round ratios 500 / EVAL_BATCH_SIZE with its
interquartile range (above 1: the small batch is faster).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_conv.py, beside this file
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from bench_conv import clock_for, interleaved_times, load, machine_description, ratio_summary  # noqa: E402

from gcnn_edu.models import build_model  # noqa: E402
from gcnn_edu.reproduce import DEFAULT_MODELS, Settings, run_data  # noqa: E402
from gcnn_edu.training import EVAL_BATCH_SIZE, evaluate  # noqa: E402

LARGE_BATCH = 500  # the package's batch before EVAL_BATCH_SIZE


def page_faults(step) -> int:
    """Minor page faults of one call of ``step``, on this thread."""
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    step()
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 rounds instead of 5 (noisier ratios)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rounds, warmup = (2, 1) if args.quick else (5, 1)
    device = torch.device("cpu")
    clock = clock_for(device, wall=False)
    digits = run_data("rotated", 0, Settings()).validation
    print(machine_description(device))
    print(f"{load()} at start; {len(digits)} validation digits, eval mode, one thread; clock: thread CPU time; "
          f"medians of {rounds} interleaved rounds after {warmup} warm-up round")
    print(f"\n  {'model':<24}{f'{EVAL_BATCH_SIZE} a batch':>14}{f'{LARGE_BATCH} a batch':>14}"
          f"{'page faults':>22}   {LARGE_BATCH} / {EVAL_BATCH_SIZE}")
    for name in DEFAULT_MODELS:
        torch.manual_seed(0)
        model = build_model(name).eval()
        steps = {size: (lambda size=size, model=model: evaluate(model, digits, batch_size=size, device=device))
                 for size in (EVAL_BATCH_SIZE, LARGE_BATCH)}
        times = interleaved_times(steps, rounds, warmup, device, clock)
        faults = {size: page_faults(step) for size, step in steps.items()}
        median, q1, q3 = ratio_summary(times[LARGE_BATCH], times[EVAL_BATCH_SIZE])
        small, large = (statistics.median(times[size]) for size in (EVAL_BATCH_SIZE, LARGE_BATCH))
        print(f"  {name:<24}{small:13.2f}s{large:13.2f}s{faults[EVAL_BATCH_SIZE]:>11,} /{faults[LARGE_BATCH]:>9,}"
              f"   {median:.2f} [{q1:.2f}, {q3:.2f}]")
    print(f"{load()} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
