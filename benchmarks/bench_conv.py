"""What the group costs: the fast G-convolution layers against one bare conv2d, and against didactic.

    make bench                                          # = .venv/bin/python benchmarks/bench_conv.py
    .venv/bin/python benchmarks/bench_conv.py --quick   # a short run (fewer repeats)
    .venv/bin/python benchmarks/bench_conv.py --device cpu --threads 2

A fast layer is one gather (the filter bank from the weight) plus one ``F.conv2d``. The bare
contender is that same ``F.conv2d`` with a weight of the expanded shape (C_out |G|, C_in |H_in|,
k, k) that is a leaf tensor of its own, so the difference is exactly the overhead of the layer:
the gather and its scatter-add backward, the bias repeated over the group axis, the input checks,
the reshapes. Three comparisons, each at realistic layer sizes:

  (a) training step, forward + backward: ``layer(x).backward(dy)`` against
      ``conv2d(x, W, b).backward(dy)``, both backpropagating into their weights, bias and input;
  (b) eval mode under ``torch.no_grad()``, where the layer reuses its cached filter bank;
  (c) fast against didactic (a loop over the group with ``act``), forward, on lesson-sized layers.

The contenders are timed interleaved, round-robin, in one process (the order alternates every
round), after a warm-up, so that a change in machine load hits all of them alike. Each ratio is the
median over rounds of the per-round ratio, with its interquartile range. Threads: ``--threads``,
default 1, so that the ratios are not blurred by thread scheduling on a shared machine (say
``--threads N`` to measure with N). With one thread the CPU clock is the thread's CPU time, which
other processes on a busy machine cannot inflate (``--wall`` for the wall clock). The CUDA section
runs when a GPU is present and says that it was skipped otherwise.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from gcnn_edu.nn import GroupConv2d, LiftingConv2d  # noqa: E402

TARGETS = {"train": 1.05, "eval": 1.02, "didactic": 100.0}


@dataclass(frozen=True)
class Case:
    """One layer and the input it sees."""

    title: str
    layer: type
    in_channels: int
    out_channels: int
    kernel_size: int
    group: str
    batch: int
    size: int
    padding: int = 0

    def build(self, device, impl="fast"):
        torch.manual_seed(0)
        return self.layer(self.in_channels, self.out_channels, self.kernel_size, group=self.group,
                          padding=self.padding, impl=impl, device=device)

    def input(self, layer, device):
        group_axis = () if layer.lifting else (layer.group_order,)
        return torch.randn(self.batch, self.in_channels, *group_axis, self.size, self.size, device=device)

    def describe(self) -> str:
        group_axis = "" if self.layer is LiftingConv2d else f"x{4 if self.group == 'p4' else 8}"
        return (f"{self.layer.__name__}({self.in_channels}, {self.out_channels}, {self.kernel_size}, "
                f"group={self.group!r}, padding={self.padding}) on ({self.batch}, {self.in_channels}"
                f"{group_axis}, {self.size}, {self.size})")


LAYER_SIZES = [
    Case("P4CNN layer (rotated MNIST)", GroupConv2d, 10, 10, 3, "p4", batch=32, size=26),
    Case("p4m mid layer", GroupConv2d, 16, 16, 3, "p4m", batch=16, size=16, padding=1),
    Case("wide p4 layer", GroupConv2d, 48, 48, 3, "p4", batch=16, size=8, padding=1),
]

LESSON_SIZES = [  # layers of notebooks/03..05
    Case("lesson 3 lifting", LiftingConv2d, 1, 4, 3, "p4", batch=1, size=28, padding=1),
    Case("lesson 4 p4 layer", GroupConv2d, 2, 3, 3, "p4", batch=2, size=9, padding=1),
    Case("lesson 4 p4m layer", GroupConv2d, 2, 3, 3, "p4m", batch=2, size=9, padding=1),
    Case("lesson 5 timing layer", GroupConv2d, 16, 16, 3, "p4", batch=32, size=28, padding=1),
]


# ----------------------------------------------------------------------------------------------
# Interleaved timing
# ----------------------------------------------------------------------------------------------

def clock_for(device: torch.device, wall: bool) -> Callable[[], float]:
    """On the CPU with one thread every op runs on this thread, so its CPU time (``thread_time``)
    measures the work without the time a busy neighbour on a shared machine takes from it; with
    more threads, on CUDA, or with --wall it is the wall clock (``perf_counter``)."""
    return time.thread_time if device.type == "cpu" and torch.get_num_threads() == 1 and not wall \
        else time.perf_counter


def interleaved_times(contenders: dict[str, Callable[[], object]], rounds: int, warmup: int,
                      device: torch.device, clock: Callable[[], float]) -> dict[str, list[float]]:
    """Seconds per call of every contender, round-robin: one call of each per round, the order
    reversed every other round. CUDA work is synchronised before and after every call."""
    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    items = list(contenders.items())
    for _ in range(warmup):
        for _, step in items:
            step()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    gc.collect()
    gc.disable()
    try:
        for round_ in range(rounds):
            for name, step in items if round_ % 2 == 0 else items[::-1]:
                synchronize()
                start = clock()
                step()
                synchronize()
                times[name].append(clock() - start)
    finally:
        gc.enable()
    return times


def ratio_summary(numerator: list[float], denominator: list[float]) -> tuple[float, float, float]:
    """Median and quartiles of the per-round ratios."""
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True)]
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return median, q1, q3


# ----------------------------------------------------------------------------------------------
# The contenders
# ----------------------------------------------------------------------------------------------

def bare_weights(layer):
    """The expanded weight and bias of a layer as leaf tensors of their own (what a plain
    nn.Conv2d of the same shape would hold)."""
    conv = layer.export()
    return conv.weight.detach().clone().requires_grad_(), conv.bias.detach().clone().requires_grad_()


def flat(x):
    return x.flatten(1, 2) if x.dim() == 5 else x


def check_same(outputs: dict[str, torch.Tensor]) -> None:
    """The contenders must compute the same thing before their times mean anything."""
    (first, reference), *others = ((name, flat(out.detach()).float()) for name, out in outputs.items())
    for name, out in others:
        if not torch.allclose(out, reference, rtol=1e-4, atol=1e-4):
            raise AssertionError(f"{name} and {first} disagree by {(out - reference).abs().max():.3g}")


def training_contenders(case: Case, device):
    layer = case.build(device).train()
    weight, bias = bare_weights(layer)
    x = case.input(layer, device).requires_grad_()
    dy = torch.randn_like(layer(x))
    options = {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation}

    def fast_step():
        layer.weight.grad = layer.bias.grad = x.grad = None
        layer(x).backward(dy)

    def bare_step():
        weight.grad = bias.grad = x.grad = None
        F.conv2d(flat(x), weight, bias, **options).backward(flat(dy))

    check_same({"fast": layer(x), "bare": F.conv2d(flat(x), weight, bias, **options)})
    return {"fast": fast_step, "bare": bare_step}


def eval_contenders(case: Case, device):
    layer = case.build(device).eval()
    weight, bias = bare_weights(layer)
    x = case.input(layer, device)
    options = {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation}

    def fast_step():
        with torch.no_grad():
            return layer(x)

    def bare_step():
        with torch.no_grad():
            return F.conv2d(flat(x), weight, bias, **options)

    check_same({"fast": fast_step(), "bare": bare_step()})
    return {"fast": fast_step, "bare": bare_step}


def didactic_contenders(case: Case, device):
    """Forward under torch.no_grad(): the didactic layer, the fast layer in train mode (the bank
    gathered on every call) and in eval mode (the bank cached)."""
    fast_layer = case.build(device).train()
    cached_layer = case.build(device).eval()
    didactic_layer = case.build(device, impl="didactic").train()
    x = case.input(fast_layer, device)

    def forward(layer):
        def step():
            with torch.no_grad():
                return layer(x)
        return step

    contenders = {"fast": forward(fast_layer), "cached": forward(cached_layer), "didactic": forward(didactic_layer)}
    check_same({name: step() for name, step in contenders.items()})
    return contenders


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ratio:
    """numerator / denominator per round, compared with a target (an upper or a lower bound)."""

    numerator: str
    denominator: str
    target: float
    at_most: bool

    def verdict(self, median: float) -> str:
        met = median <= self.target if self.at_most else median >= self.target
        return f"{'meets' if met else 'MISSES'} {'<=' if self.at_most else '>='} {self.target:g}"


def section(title: str, cases, make_contenders, ratios: list[Ratio], rounds: int, warmup: int, device,
            clock):
    print(f"\n{title}")
    names = None
    for case in cases:
        times = interleaved_times(make_contenders(case, device), rounds, warmup, device, clock)
        if names is None:
            names = list(times)
            header = "".join(f"{name + ' ms':>13}" for name in names)
            header += "".join(f"   {r.numerator}/{r.denominator} median [IQR]" for r in ratios)
            print(f"  {'layer':<28}{header}")
        row = "".join(f"{1e3 * statistics.median(times[name]):13.3f}" for name in names)
        for r in ratios:
            median, q1, q3 = ratio_summary(times[r.numerator], times[r.denominator])
            row += f"   {median:7.3f} [{q1:.3f}, {q3:.3f}] {r.verdict(median)}"
        print(f"  {case.title:<28}{row}")


def machine_description(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = (f"CPU: {cpu}, {os.cpu_count()} logical cores, torch.set_num_threads({torch.get_num_threads()}); "
            f"torch {torch.__version__}, Python {platform.python_version()}")
    if device.type == "cuda":
        text += f"\nGPU: {torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda}"
    return text


def load() -> str:
    try:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load average unknown"


def run_device(device: torch.device, rounds: int, warmup: int, lesson_rounds: int, wall: bool) -> None:
    clock = clock_for(device, wall)
    print(f"\n=== {device.type.upper()} ===")
    print(machine_description(device))
    print(f"{load()} at start; float32; clock: {'thread CPU time' if clock is time.thread_time else 'wall'}; "
          f"medians of {rounds} interleaved rounds after {warmup} warm-up rounds ({3 * rounds} for (b), "
          f"{lesson_rounds} for (c))")
    print("layers:")
    for case in LAYER_SIZES + LESSON_SIZES:
        print(f"  {case.title:<28} {case.describe()}")
    section("(a) training step, forward + backward: fast layer vs bare conv2d with a pre-expanded weight",
            LAYER_SIZES, training_contenders, [Ratio("fast", "bare", TARGETS["train"], at_most=True)],
            rounds, warmup, device, clock)
    section("(b) eval mode under torch.no_grad(), cached filter bank: fast layer vs bare conv2d",
            LAYER_SIZES, eval_contenders, [Ratio("fast", "bare", TARGETS["eval"], at_most=True)],
            3 * rounds, warmup, device, clock)
    section("(c) forward under torch.no_grad(): didactic vs fast (train mode: bank gathered every call; "
            "eval mode: cached)", LESSON_SIZES, didactic_contenders,
            [Ratio("didactic", "fast", TARGETS["didactic"], at_most=False),
             Ratio("didactic", "cached", TARGETS["didactic"], at_most=False)],
            lesson_rounds, max(1, warmup // 2), device, clock)
    print(f"{load()} at end")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: fewer rounds (noisier ratios)")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all",
                        help="'all' (default): the CPU, then CUDA where a GPU is present")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads on the CPU (default 1)")
    parser.add_argument("--wall", action="store_true",
                        help="time with the wall clock on the CPU too (default there: the thread's CPU time)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per layer (default 60, "
                        "15 with --quick)")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be a positive int, got {args.threads}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is visible to torch (torch.cuda.is_available() is False)")
    torch.set_num_threads(args.threads)
    rounds = args.rounds or (15 if args.quick else 60)
    warmup = 2 if args.quick else 5
    lesson_rounds = max(5, rounds // 3)

    if args.device in ("all", "cpu"):
        run_device(torch.device("cpu"), rounds, warmup, lesson_rounds, args.wall)
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            run_device(torch.device("cuda"), rounds, warmup, lesson_rounds, args.wall)
        else:
            print("\n=== CUDA ===\nskipped: no CUDA GPU is visible to torch (torch.cuda.is_available() is False)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
