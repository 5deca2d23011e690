"""What the group costs: the fast G-convolution layers against one bare conv2d, and against didactic.

    make bench                                          # = .venv/bin/python benchmarks/bench_conv.py
    .venv/bin/python benchmarks/bench_conv.py --quick   # a short run (fewer repeats)
    .venv/bin/python benchmarks/bench_conv.py --device cpu --threads 2
    .venv/bin/python benchmarks/bench_conv.py --no-compile   # leave out the torch.compile rows

A fast layer is one gather (the filter bank from the weight) plus one ``F.conv2d``. The bare
contender is that same ``F.conv2d`` with a weight of the expanded shape (C_out |G|, C_in |H_in|,
k, k) that is a leaf tensor of its own, so the difference is exactly the overhead of the layer:
the gather and its scatter-add backward, the bias repeated over the group axis, the input checks,
the reshapes. Three comparisons, each at realistic layer sizes:

  (a) training step, forward + backward: ``layer(x).backward(dy)`` against
      ``conv2d(x, W, b).backward(dy)``, both backpropagating into their weights, bias and input;
  (b) eval mode under ``torch.no_grad()``, where the layer reuses its cached filter bank;
  (c) fast against didactic (a loop over the group with ``act``), forward, on lesson-sized layers;
  (d) ``torch.compile`` (default inductor backend; on CUDA also ``mode="reduce-overhead"``, CUDA
      graphs): the compiled layer against the compiled bare conv2d and against the eager layer, on
      the P4CNN layer (CPU: batch 1 and 32; the first compile takes about a minute on a small CPU);
  (e) CUDA only: (a) and (b) under ``torch.autocast("cuda", torch.bfloat16)``, both contenders.

(a) and (b) run every layer size at batch 1, where the per-call overhead of the layer weighs most,
and at its training batch (16 or 32); on CUDA at batch 1, 8, 32 and 128 (``--batches`` to change).
The run ends with one table of all the fast / bare ratios against the targets (train <= 1.05,
eval <= 1.02).

The contenders are timed interleaved, round-robin, in one process (the order alternates every
round), after a warm-up, so that a change in machine load hits all of them alike. Each ratio is the
median over rounds of the per-round ratio, with its interquartile range. Threads: ``--threads``,
default 1, so that the ratios are not blurred by thread scheduling on a shared machine (say
``--threads N`` to measure with N). With one thread the CPU clock is the thread's CPU time, which
other processes on a busy machine cannot inflate (``--wall`` for the wall clock). On CUDA the clock is
the wall clock with the device synchronised around every call. The CUDA section runs when a GPU is
present and prints one line saying that it was skipped otherwise; a torch.compile variant that
cannot run (no working C compiler, say) is skipped with a line naming the error.
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
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
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


LAYER_SIZES = [  # each is timed at batch 1 and at the batch given here (CUDA: at CUDA_BATCHES)
    Case("P4CNN lifting layer", LiftingConv2d, 1, 10, 3, "p4", batch=32, size=28),
    Case("P4CNN layer (rotated MNIST)", GroupConv2d, 10, 10, 3, "p4", batch=32, size=26),
    Case("p4m mid layer", GroupConv2d, 16, 16, 3, "p4m", batch=16, size=16, padding=1),
    Case("wide p4 layer", GroupConv2d, 48, 48, 3, "p4", batch=16, size=8, padding=1),
]
COMPILE_SIZES = LAYER_SIZES[1:2]  # the P4CNN layer: each torch.compile costs seconds to a minute
CUDA_BATCHES = (1, 8, 32, 128)

LESSON_SIZES = [  # layers of notebooks/03..05
    Case("lesson 3 lifting", LiftingConv2d, 1, 4, 3, "p4", batch=1, size=28, padding=1),
    Case("lesson 4 p4 layer", GroupConv2d, 2, 3, 3, "p4", batch=2, size=9, padding=1),
    Case("lesson 4 p4m layer", GroupConv2d, 2, 3, 3, "p4m", batch=2, size=9, padding=1),
    Case("lesson 5 timing layer", GroupConv2d, 16, 16, 3, "p4", batch=32, size=28, padding=1),
]


def at_batches(cases, batches=None):
    """Every case at batch 1 and at its own batch, or at each of ``batches``."""
    return [replace(case, batch=batch) for case in cases
            for batch in (batches or sorted({1, case.batch}))]


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


def check_same(outputs: dict[str, torch.Tensor], tolerance: float = 1e-4) -> None:
    """The contenders must compute the same thing before their times mean anything."""
    (first, reference), *others = ((name, flat(out.detach()).float()) for name, out in outputs.items())
    for name, out in others:
        if not torch.allclose(out, reference, rtol=tolerance, atol=tolerance):
            raise AssertionError(f"{name} and {first} disagree by {(out - reference).abs().max():.3g}")


@dataclass(frozen=True)
class Variant:
    """How a contender runs: eager or ``torch.compile``'d (in a mode), optionally under autocast."""

    compile_mode: str | None = None  # None: eager; "default" or "reduce-overhead"
    autocast: torch.dtype | None = None

    def prepare(self, forward):
        """``forward`` compiled as this variant says, with a static shape (one graph per row)."""
        return forward if self.compile_mode is None else torch.compile(forward, mode=self.compile_mode, dynamic=False)

    def context(self, device):
        return nullcontext() if self.autocast is None else torch.autocast(device.type, dtype=self.autocast)

    def before_call(self):
        """CUDA graphs (reduce-overhead) reuse their output buffers: a new step must be declared."""
        if self.compile_mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()

    @property
    def tolerance(self) -> float:
        return 1e-4 if self.autocast is None else 3e-2


EAGER = Variant()


def _contender_parts(case: Case, device, train: bool):
    """A layer, the bare contender's leaf weight and bias, the bare forward, an input (needing a
    gradient in training) and an output gradient."""
    layer = case.build(device).train(train)
    weight, bias = bare_weights(layer)
    x = case.input(layer, device).requires_grad_(train)
    options = {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation}

    def bare(input_):
        return F.conv2d(flat(input_), weight, bias, **options)

    with torch.no_grad():
        dy = torch.randn_like(layer(x))
    return layer, (weight, bias), bare, x, dy


def _training_step(forward, leaves, x, dy, variant: Variant, device):
    prepared = variant.prepare(forward)

    def step():
        for leaf in leaves:
            leaf.grad = None
        x.grad = None
        variant.before_call()
        with variant.context(device):
            out = prepared(x)
        out.backward(dy.to(out.dtype).view_as(out))

    return step, prepared


def _eval_step(forward, x, variant: Variant, device):
    prepared = variant.prepare(forward)

    def step():
        variant.before_call()
        with torch.no_grad(), variant.context(device):
            return prepared(x)

    return step


def training_contenders(case: Case, device, variant: Variant = EAGER, eager_too: bool = False):
    """The training step of the layer and of the bare conv2d, both as ``variant`` says; with
    ``eager_too`` the eager layer as a third contender (to see what compiling gains)."""
    layer, (weight, bias), bare, x, dy = _contender_parts(case, device, train=True)
    layer_leaves = [p for p in (layer.weight, layer.bias) if p is not None]
    fast_step, fast = _training_step(layer, layer_leaves, x, dy, variant, device)
    bare_step, bare_prepared = _training_step(bare, (weight, bias), x, dy, variant, device)
    contenders = {"fast": fast_step, "bare": bare_step}
    outputs = {}
    for name, forward in (("fast", fast), ("bare", bare_prepared)):
        variant.before_call()
        with variant.context(device):
            outputs[name] = forward(x).detach().clone()
    if eager_too:
        contenders["eager"], _ = _training_step(layer, layer_leaves, x, dy, EAGER, device)
        outputs["eager"] = layer(x).detach()
    check_same(outputs, variant.tolerance)
    return contenders


def eval_contenders(case: Case, device, variant: Variant = EAGER, eager_too: bool = False):
    """The layer in eval mode under torch.no_grad() and the bare conv2d, both as ``variant`` says;
    with ``eager_too`` the eager layer as a third contender."""
    layer, _, bare, x, _ = _contender_parts(case, device, train=False)
    contenders = {"fast": _eval_step(layer, x, variant, device), "bare": _eval_step(bare, x, variant, device)}
    if eager_too:
        contenders["eager"] = _eval_step(layer, x, EAGER, device)
    check_same({name: step().clone() for name, step in contenders.items()}, variant.tolerance)
    return contenders


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
    """numerator / denominator per round, compared with a target (an upper or a lower bound), or
    only reported (``target`` None)."""

    numerator: str
    denominator: str
    target: float | None = None
    at_most: bool = True

    @property
    def label(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    def verdict(self, median: float) -> str:
        if self.target is None:
            return ""
        met = median <= self.target if self.at_most else median >= self.target
        return f"{'meets' if met else 'MISSES'} {'<=' if self.at_most else '>='} {self.target:g}"


@dataclass(frozen=True)
class Row:
    """One measured row: median seconds per contender and (median, q1, q3) per ratio."""

    case: Case
    seconds: dict[str, float]
    ratios: dict[str, tuple[float, float, float]]


def section(title: str, cases, make_contenders, ratios: list[Ratio], rounds: int, warmup: int, device,
            clock) -> list[Row]:
    print(f"\n{title}", flush=True)
    names, rows = None, []
    for case in cases:
        try:
            contenders = make_contenders(case, device)
            times = interleaved_times(contenders, rounds, warmup, device, clock)
        except Exception as error:  # noqa: BLE001 -- a variant that cannot run here is reported, not fatal
            if not isinstance(error, AssertionError) and is_compile_failure(error):
                print(f"  skipped: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
                return rows
            raise
        if names is None:
            names = list(times)
            header = "".join(f"{name + ' ms':>13}" for name in names)
            header += "".join(f"   {r.label} median [IQR]" for r in ratios)
            print(f"  {'layer':<28}{'batch':>6}{header}")
        row = "".join(f"{1e3 * statistics.median(times[name]):13.3f}" for name in names)
        summaries = {}
        for r in ratios:
            median, q1, q3 = summaries[r.label] = ratio_summary(times[r.numerator], times[r.denominator])
            row += f"   {median:7.3f} [{q1:.3f}, {q3:.3f}] {r.verdict(median)}"
        print(f"  {case.title:<28}{case.batch:>6}{row}", flush=True)
        rows.append(Row(case, {name: statistics.median(t) for name, t in times.items()}, summaries))
    return rows


def is_compile_failure(error: Exception) -> bool:
    """torch.compile's own errors (no C compiler, an unsupported backend): the section is skipped."""
    return type(error).__module__.startswith(("torch._dynamo", "torch._inductor")) or "inductor" in str(error)


def ratio_table(train_rows: list[Row], eval_rows: list[Row], title: str) -> None:
    """One table of the fast / bare ratios of (a) and (b) against their targets."""
    evals = {(row.case.title, row.case.batch): row for row in eval_rows}
    print(f"\n{title}: fast layer / bare conv2d, median of per-round ratios [IQR]; "
          f"targets train <= {TARGETS['train']:g}, eval <= {TARGETS['eval']:g}")
    print(f"  {'layer':<28}{'batch':>6}{'bare train ms':>15}{'train ratio':>13}{'':22}"
          f"{'bare eval ms':>15}{'eval ratio':>13}")
    for train in train_rows:
        text = f"  {train.case.title:<28}{train.case.batch:>6}"
        for row, kind in ((train, "train"), (evals.get((train.case.title, train.case.batch)), "eval")):
            if row is None:
                continue
            median, q1, q3 = row.ratios["fast/bare"]
            met = "meets" if median <= TARGETS[kind] else "MISSES"
            text += f"{1e3 * row.seconds['bare']:15.3f}{median:13.3f} [{q1:.3f}, {q3:.3f}] {met:<6}"
        print(text)


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


def run_device(device: torch.device, rounds: int, warmup: int, lesson_rounds: int, wall: bool,
               batches: tuple[int, ...] | None, compile_rows: bool) -> None:
    clock = clock_for(device, wall)
    cuda = device.type == "cuda"
    batches = batches or (CUDA_BATCHES if cuda else None)
    layers = at_batches(LAYER_SIZES, batches)
    print(f"\n=== {device.type.upper()} ===")
    print(machine_description(device))
    print(f"{load()} at start; float32; clock: {'thread CPU time' if clock is time.thread_time else 'wall'}; "
          f"medians of {rounds} interleaved rounds after {warmup} warm-up rounds ({3 * rounds} for (b), "
          f"{lesson_rounds} for (c))")
    print("layers (each at the batches in its rows):")
    for case in LAYER_SIZES + LESSON_SIZES:
        print(f"  {case.title:<28} {case.describe()}")
    fast_vs_bare = {kind: [Ratio("fast", "bare", TARGETS[kind])] for kind in ("train", "eval")}
    train_rows = section("(a) training step, forward + backward: fast layer vs bare conv2d with a pre-expanded weight",
                         layers, training_contenders, fast_vs_bare["train"], rounds, warmup, device, clock)
    eval_rows = section("(b) eval mode under torch.no_grad(): fast layer vs bare conv2d",
                        layers, eval_contenders, fast_vs_bare["eval"], 3 * rounds, warmup, device, clock)
    section("(c) forward under torch.no_grad(): didactic vs fast (train mode: bank gathered every call; "
            "eval mode: cached)", LESSON_SIZES, didactic_contenders,
            [Ratio("didactic", "fast", TARGETS["didactic"], at_most=False),
             Ratio("didactic", "cached", TARGETS["didactic"], at_most=False)],
            lesson_rounds, max(1, warmup // 2), device, clock)
    if compile_rows:
        compile_section(device, at_batches(COMPILE_SIZES, batches), rounds, warmup, clock)
    else:
        print("\n(d) torch.compile: left out (--no-compile)")
    if cuda:
        bf16 = Variant(autocast=torch.bfloat16)
        bf16_train = section("(e) bf16 autocast, training step: fast layer vs bare conv2d, both under autocast",
                             layers, partial(training_contenders, variant=bf16), fast_vs_bare["train"],
                             rounds, warmup, device, clock)
        bf16_eval = section("(e) bf16 autocast, eval under torch.no_grad(): fast layer vs bare conv2d",
                            layers, partial(eval_contenders, variant=bf16), fast_vs_bare["eval"],
                            3 * rounds, warmup, device, clock)
    ratio_table(train_rows, eval_rows, f"{device.type.upper()} summary, float32, eager")
    if cuda:
        ratio_table(bf16_train, bf16_eval, f"{device.type.upper()} summary, bf16 autocast, eager")
    print(f"{load()} at end")


def compile_section(device: torch.device, cases, rounds: int, warmup: int, clock) -> None:
    """(d): the compiled layer against the compiled bare conv2d (the overhead left after
    compiling) and against the eager layer (what compiling gains); on CUDA for both modes."""
    modes = ("default", "reduce-overhead") if device.type == "cuda" else ("default",)
    for mode in modes:
        variant = Variant(compile_mode=mode)
        ratios = {kind: [Ratio("fast", "bare", TARGETS[kind]), Ratio("fast", "eager")] for kind in ("train", "eval")}
        started = time.perf_counter()
        rows = section(f"(d) torch.compile(mode={mode!r}), training step: compiled fast layer vs compiled bare "
                       "conv2d and vs the eager layer", cases, partial(training_contenders, variant=variant,
                                                                       eager_too=True),
                       ratios["train"], rounds, warmup, device, clock)
        if rows:
            section(f"(d) torch.compile(mode={mode!r}), eval under torch.no_grad(): compiled fast layer vs "
                    "compiled bare conv2d and vs the eager layer", cases,
                    partial(eval_contenders, variant=variant, eager_too=True),
                    ratios["eval"], 3 * rounds, warmup, device, clock)
        print(f"  (compiling and timing took {time.perf_counter() - started:.0f} s wall)")


def timing_parser(description: str, rounds_help: str, batches_help: str) -> argparse.ArgumentParser:
    """The command-line options every benchmark script here shares."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: fewer rounds (noisier ratios)")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all",
                        help="'all' (default): the CPU, then CUDA where a GPU is present")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads on the CPU (default 1)")
    parser.add_argument("--wall", action="store_true",
                        help="time with the wall clock on the CPU too (default there: the thread's CPU time)")
    parser.add_argument("--rounds", type=int, default=None, help=rounds_help)
    parser.add_argument("--batches", type=int, nargs="+", default=None, help=batches_help)
    return parser


def check_timing_arguments(parser: argparse.ArgumentParser, args) -> tuple[int, ...] | None:
    """Refuse bad shared options in one line (argparse's exit code 2); the sorted batch sizes, if given."""
    if args.threads < 1:
        parser.error(f"--threads must be a positive int, got {args.threads}")
    if args.batches and min(args.batches) < 1:
        parser.error(f"--batches must be positive ints, got {args.batches}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is visible to torch (torch.cuda.is_available() is False)")
    return tuple(sorted(set(args.batches))) if args.batches else None


def main(argv=None) -> int:
    parser = timing_parser(__doc__, "interleaved rounds per layer (default 60, 15 with --quick)",
                           "batch sizes of (a), (b), (d), (e) (default: 1 and each layer's own 16 or 32 on the "
                           f"CPU, {' '.join(map(str, CUDA_BATCHES))} on CUDA)")
    parser.add_argument("--no-compile", action="store_true",
                        help="leave out (d), the torch.compile rows (the first compile takes about a minute)")
    args = parser.parse_args(argv)
    batches = check_timing_arguments(parser, args)
    torch.set_num_threads(args.threads)
    rounds = args.rounds or (15 if args.quick else 60)
    warmup = 2 if args.quick else 5
    lesson_rounds = max(5, rounds // 3)

    if args.device in ("all", "cpu"):
        run_device(torch.device("cpu"), rounds, warmup, lesson_rounds, args.wall, batches,
                   not args.no_compile)
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            run_device(torch.device("cuda"), rounds, warmup, lesson_rounds, args.wall, batches,
                       not args.no_compile)
        else:
            print("\n=== CUDA ===\nskipped: no CUDA GPU is visible to torch (torch.cuda.is_available() is False)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
