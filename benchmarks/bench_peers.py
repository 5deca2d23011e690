"""gcnn-edu's fast layers against the other G-CNN libraries, on the same layers and inputs.

    make bench-peers                  # builds .venv-peers (once), then runs this script there
    .venv-peers/bin/python benchmarks/bench_peers.py --quick
    GROUPY_SRC=/path/to/GrouPy make bench-peers     # adds GrouPy's PyTorch port

The peers live in their own environment, ``.venv-peers``, kept out of the main one: e2cnn needs
numpy < 2. ``make bench-peers`` creates it with the Makefile's torch pin, numpy < 2 and e2cnn, and
runs this script with the checkout on ``PYTHONPATH`` (gcnn-edu itself is not installed there).

Contenders, each on the same input and timed interleaved, round-robin, in one process, with the
machinery of ``bench_conv.py`` (thread CPU time with one thread, medians of per-round ratios):

* ``gcnn_edu``: ``LiftingConv2d`` / ``GroupConv2d`` (the fast path);
* ``e2cnn``: ``R2Conv`` between regular fields of C4 (p4) or D4 (p4m) (a trivial field for the
  lifting layer), kernel 3, as a network would use it: the input is wrapped in a
  ``GeometricTensor`` once, outside the timed call. In training it expands its filter from a
  steerable basis on every call; in eval mode it expands the filter once and reuses it, which is
  its own behaviour and is measured as is. Its filters are band-limited, so it learns a smaller
  space of filters than a full 3x3 filter on the group: only the output shapes are compared;
* ``groupy``: GrouPy's PyTorch port (A. Bielski's ``groupy/gconv/pytorch_gconv``: ``P4ConvZ2``,
  ``P4ConvP4``, ``P4MConvZ2``, ``P4MConvP4M``), imported from the checkout that the environment
  variable ``GROUPY_SRC`` names, and skipped with one line when it is not set. Its weight has our
  layout and conventions, so with our weight and bias loaded it must compute our output and our
  weight gradient up to float error; the script checks both (float32 and float64) and prints the
  largest differences. GrouPy was written for numpy < 1.24: the aliases ``np.int``, ``np.float``
  it uses are restored (as ``int``, ``float``) before it is imported;
* ``bare``: one ``F.conv2d`` with a leaf weight of the expanded shape (C_out |G|, C_in |H_in|, k, k)
  and bias, the floor that every contender pays.

For every layer and batch (1, 16, 32; on CUDA 1, 8, 32, 128) it times a training step (forward +
backward into weight, bias and input) and an eval-mode forward under ``torch.no_grad()``, and
prints one table: milliseconds of the bare conv2d, each contender's median ratio to it, and the
fastest contender. Before the table: construction time of each layer (first in the process, then
the median of further constructions) and checkpoint size (bytes of ``torch.save(state_dict())``,
in train mode; e2cnn's state dict holds its expanded filter and sampled basis as buffers). On CUDA
(when ``torch.cuda.is_available()``) it adds the same table under ``torch.compile`` (modes
"default" and "reduce-overhead") and under bf16 autocast; a contender that cannot be compiled is
left out of that table with a line naming its error.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_conv import (  # noqa: E402
    EAGER,
    Case,
    Variant,
    bare_weights,
    check_timing_arguments,
    clock_for,
    flat,
    interleaved_times,
    load,
    machine_description,
    ratio_summary,
    timing_parser,
)

from gcnn_edu.nn import GroupConv2d, LiftingConv2d  # noqa: E402

SIZES = [
    Case("P4CNN layer", GroupConv2d, 10, 10, 3, "p4", batch=1, size=26),
    Case("p4m layer", GroupConv2d, 16, 16, 3, "p4m", batch=1, size=16, padding=1),
    Case("P4CNN lifting layer", LiftingConv2d, 1, 10, 3, "p4", batch=1, size=28),
]
CPU_BATCHES = (1, 16, 32)
CUDA_BATCHES = (1, 8, 32, 128)


# ----------------------------------------------------------------------------------------------
# The contenders: a module and a way to call it on our input layout
# ----------------------------------------------------------------------------------------------

@dataclass
class Contender:
    """``module`` holds the parameters (and decides train or eval); ``bind(x)`` returns the call
    that computes the output for input ``x`` (our layout: (N, C, |H_in|, H, W) or (N, C, H, W))."""

    name: str
    module: nn.Module
    bind: Callable[[torch.Tensor], Callable[[], torch.Tensor]]
    eval_only: bool = False


def gcnn_edu_contender(case: Case, device) -> Contender:
    layer = case.build(device)
    return Contender("gcnn_edu", layer, lambda x: lambda: layer(x))


def gcnn_edu_frozen_contender(case: Case, device) -> Contender:
    """The layer after ``freeze()`` (eval rows only): its bank used unchecked, as e2cnn uses the
    filter it expands at ``.eval()``; the default gcnn_edu row checks the parameters' bytes."""
    layer = case.build(device)

    def bind(x):
        layer.eval().freeze()
        return lambda: layer(x)

    return Contender("gcnn_edu frozen", layer, bind, eval_only=True)


class BareConv(nn.Module):
    """The floor: a conv2d with the expanded weight of ``layer`` as a leaf of its own."""

    def __init__(self, layer):
        super().__init__()
        weight, bias = bare_weights(layer)
        self.weight, self.bias = nn.Parameter(weight.detach()), nn.Parameter(bias.detach())
        self.options = {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation}

    def forward(self, x):
        return nn.functional.conv2d(flat(x), self.weight, self.bias, **self.options)


def bare_contender(layer) -> Contender:
    conv = BareConv(layer)
    return Contender("bare", conv, lambda x: lambda: conv(x))


def e2cnn_contender(case: Case, device) -> Contender:
    from e2cnn import gspaces
    from e2cnn import nn as enn

    space = gspaces.Rot2dOnR2(4) if case.group == "p4" else gspaces.FlipRot2dOnR2(4)
    lifting = case.layer is LiftingConv2d
    in_type = enn.FieldType(space, case.in_channels * [space.trivial_repr if lifting else space.regular_repr])
    out_type = enn.FieldType(space, case.out_channels * [space.regular_repr])
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e2cnn's own deprecation warnings (uint8 masks)
        conv = enn.R2Conv(in_type, out_type, case.kernel_size, padding=case.padding).to(device)

    def bind(x):
        wrapped = enn.GeometricTensor(flat(x), in_type)  # once, as a network passes it along
        return lambda: conv(wrapped).tensor

    return Contender("e2cnn", conv, bind)


def import_groupy():
    """GrouPy's PyTorch port from $GROUPY_SRC, or None with the reason."""
    source = os.environ.get("GROUPY_SRC")
    if not source:
        return None, "GROUPY_SRC is not set (point it at a checkout of GrouPy's PyTorch port to add it)"
    if not (Path(source) / "groupy" / "gconv" / "pytorch_gconv").is_dir():
        return None, f"GROUPY_SRC={source} has no groupy/gconv/pytorch_gconv (GrouPy's PyTorch port)"
    import numpy as np

    for alias, builtin in (("int", int), ("float", float), ("bool", bool)):  # removed in numpy 1.24
        if alias not in np.__dict__:
            setattr(np, alias, builtin)
    sys.path.insert(0, str(Path(source).resolve()))
    return importlib.import_module("groupy.gconv.pytorch_gconv"), None


GROUPY_CLASSES = {("p4", True): "P4ConvZ2", ("p4", False): "P4ConvP4",
                  ("p4m", True): "P4MConvZ2", ("p4m", False): "P4MConvP4M"}


def groupy_contender(groupy, case: Case, device) -> Contender:
    layer_class = getattr(groupy, GROUPY_CLASSES[case.group, case.layer is LiftingConv2d])
    torch.manual_seed(0)
    conv = layer_class(case.in_channels, case.out_channels, case.kernel_size, padding=case.padding).to(device)
    return Contender("groupy", conv, lambda x: lambda: conv(x))


def build_contenders(case: Case, device, groupy) -> list[Contender]:
    gcnn = gcnn_edu_contender(case, device)
    contenders = [gcnn, gcnn_edu_frozen_contender(case, device), e2cnn_contender(case, device)]
    if groupy is not None:
        contenders.append(groupy_contender(groupy, case, device))
    return [*contenders, bare_contender(gcnn.module)]


# ----------------------------------------------------------------------------------------------
# Checks: shapes for all, equal outputs and gradients for GrouPy and the bare conv2d
# ----------------------------------------------------------------------------------------------

def check_shapes(case: Case, contenders: list[Contender], device) -> None:
    x = case.input(contenders[0].module, device)
    shapes = {c.name: tuple(flat(c.bind(x)().detach()).shape) for c in contenders}
    if len(set(shapes.values())) != 1:
        raise AssertionError(f"{case.title}: the contenders' output shapes differ: {shapes}")


def compare_with_gcnn_edu(case: Case, other_class, device, dtype) -> tuple[float, float | None]:
    """Largest |difference| of output and weight gradient between gcnn_edu and ``other_class``
    (built by ``other_class(layer)``, holding the same weight and bias); the gradient's is None
    when the other's weight has another shape (the bare conv2d's expanded weight)."""
    layer = case.build(device).to(dtype)
    other = other_class(layer)
    x = case.input(layer, device).to(dtype)
    outputs, grads = [], []
    for module in (layer, other):
        out = module(x)
        dy = torch.linspace(-1, 1, out.numel(), dtype=dtype, device=device).view_as(out)
        out.backward(dy)
        outputs.append(flat(out.detach()))
        grads.append(module.weight.grad)
    grad = (grads[0] - grads[1]).abs().max().item() if grads[0].shape == grads[1].shape else None
    return (outputs[0] - outputs[1]).abs().max().item(), grad


def groupy_with_weights_of(groupy, case):
    def build(layer):
        conv = getattr(groupy, GROUPY_CLASSES[case.group, case.layer is LiftingConv2d])(
            case.in_channels, case.out_channels, case.kernel_size, padding=case.padding)
        conv.load_state_dict(layer.state_dict())
        return conv.to(device=layer.weight.device, dtype=layer.weight.dtype)
    return build


def report_agreement(groupy, device) -> None:
    print("\nagreement, max |difference| of output / of weight gradient, same weight and bias:")
    for case in SIZES:
        pairs = [("bare conv2d", BareConv)]
        if groupy is not None:
            pairs.append(("GrouPy", groupy_with_weights_of(groupy, case)))
        for name, other in pairs:
            differences = {dtype: compare_with_gcnn_edu(case, other, device, dtype)
                           for dtype in (torch.float32, torch.float64)}
            text = "   ".join(f"{str(dtype).removeprefix('torch.')}: {out:.2e} / "
                              f"{'-' if grad is None else f'{grad:.2e}'}"
                              for dtype, (out, grad) in differences.items())
            tolerance = {torch.float32: 1e-4, torch.float64: 1e-10}  # sums of a few hundred products
            verdict = "agree" if all(max(out, grad or 0.0) <= tolerance[dtype]
                                     for dtype, (out, grad) in differences.items()) else "DISAGREE"
            print(f"  {case.title:<22} gcnn_edu vs {name:<12} {text}   {verdict}")
            if verdict != "agree":
                raise AssertionError(f"{case.title}: gcnn_edu and {name} disagree")


# ----------------------------------------------------------------------------------------------
# Construction and checkpoints
# ----------------------------------------------------------------------------------------------

def report_construction(groupy, device, repeats: int) -> None:
    print(f"\nconstruction (wall ms: the first in this process, then the median of {repeats} more) and "
          "checkpoint size (bytes of torch.save(state_dict()), train mode):")
    for case in SIZES:
        builders = {"gcnn_edu": lambda case=case: gcnn_edu_contender(case, device).module,
                    "e2cnn": lambda case=case: e2cnn_contender(case, device).module}
        if groupy is not None:
            builders["groupy"] = lambda case=case: groupy_contender(groupy, case, device).module
        builders["bare"] = lambda case=case: nn.Conv2d(
            case.in_channels * (1 if case.layer is LiftingConv2d else point_order(case)),
            case.out_channels * point_order(case), case.kernel_size, padding=case.padding, device=device)
        cells = []
        for name, build in builders.items():
            times = []
            for _ in range(1 + repeats):
                start = time.perf_counter()
                module = build()
                times.append(time.perf_counter() - start)
            buffer = io.BytesIO()
            torch.save(module.state_dict(), buffer)
            cells.append(f"{name} {1e3 * times[0]:.1f} / {1e3 * statistics.median(times[1:]):.1f} ms, "
                         f"{len(buffer.getvalue())} B")
        print(f"  {case.title:<22} " + ";  ".join(cells))


def point_order(case: Case) -> int:
    return 4 if case.group == "p4" else 8


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------

def steps(contenders: list[Contender], case: Case, device, train: bool, variant: Variant):
    """One timed step per contender that runs under ``variant`` (the others are named in
    ``failed``): a training step or an eval-mode forward under torch.no_grad()."""
    x = case.input(contenders[0].module, device).requires_grad_(train)
    with torch.no_grad():
        dy = torch.randn_like(flat(contenders[-1].bind(x)()))
    result, failed = {}, {}
    for contender in contenders:
        if train and contender.eval_only:
            continue
        contender.module.train(train)
        module = contender.module
        call = contender.bind(x)
        if variant.compile_mode is not None:
            compiled = variant.prepare(module)
            call = compiled_bind(contender, compiled, x)
        leaves = [p for p in module.parameters() if p.requires_grad]

        def step(call=call, leaves=leaves):
            variant.before_call()
            if train:
                for leaf in leaves:
                    leaf.grad = None
                x.grad = None
                with variant.context(device):
                    out = call()
                out.backward(dy.to(out.dtype).view_as(out))
                return out
            with torch.no_grad(), variant.context(device):
                return call()

        try:
            step()
            result[contender.name] = step
        except Exception as error:  # noqa: BLE001 -- a peer that cannot run a variant is reported
            failed[contender.name] = f"{type(error).__name__}: {str(error).splitlines()[0][:160]}"
    return result, failed


def compiled_bind(contender: Contender, compiled, x):
    """The contender's call with its module replaced by the compiled one."""
    if contender.name == "e2cnn":
        from e2cnn import nn as enn

        wrapped = enn.GeometricTensor(flat(x), contender.module.in_type)
        return lambda: compiled(wrapped).tensor
    return lambda: compiled(x)


@dataclass(frozen=True)
class Row:
    case: Case
    mode: str
    bare_ms: float
    ratios: dict[str, tuple[float, float, float]]
    failed: dict[str, str]


def measure(contenders, case, device, train, variant, rounds, warmup, clock) -> Row:
    timed, failed = steps(contenders, case, device, train, variant)
    if "bare" not in timed:
        raise RuntimeError(f"the bare conv2d failed under {variant}: {failed.get('bare')}")
    times = interleaved_times(timed, rounds, warmup, device, clock)
    ratios = {name: ratio_summary(times[name], times["bare"]) for name in timed if name != "bare"}
    return Row(case, "train" if train else "eval", 1e3 * statistics.median(times["bare"]), ratios, failed)


def print_table(title: str, rows: list[Row], names: list[str]) -> None:
    print(f"\n{title}\n  contender / bare conv2d, median of per-round ratios [IQR]; best = the fastest contender")
    header = "".join(f"{name:>24}" for name in names)
    print(f"  {'layer':<22}{'batch':>6}{'mode':>7}{'bare ms':>10}{header}   best")
    for row in rows:
        cells = ""
        for name in names:
            if name in row.ratios:
                median, q1, q3 = row.ratios[name]
                cells += f"{median:>8.3f} [{q1:.3f}, {q3:.3f}]"
            else:
                cells += f"{'failed' if name in row.failed else 'n/a':>24}"
        best = min(row.ratios, key=lambda name: row.ratios[name][0])
        ours = min((name for name in row.ratios if name.startswith("gcnn_edu")), key=lambda name: row.ratios[name][0],
                   default=None)
        lead = ""
        if not best.startswith("gcnn_edu") and ours is not None:
            lead = f" ({ours} {row.ratios[ours][0] / row.ratios[best][0]:.2f}x its time)"
        print(f"  {row.case.title:<22}{row.case.batch:>6}{row.mode:>7}{row.bare_ms:10.3f}{cells}   {best}{lead}")
    for row in rows:
        for name, reason in row.failed.items():
            print(f"  {row.case.title}, batch {row.case.batch}, {row.mode}: {name} left out: {reason}")


def run_table(title, device, groupy, batches, variant, rounds, warmup, clock) -> None:
    rows, names = [], None
    started = time.perf_counter()
    for case in SIZES:
        contenders = build_contenders(case, device, groupy)
        names = names or [c.name for c in contenders if c.name != "bare"]
        check_shapes(case, contenders, device)
        for batch in batches:
            sized = replace(case, batch=batch)
            for train in (True, False):
                rows.append(measure(contenders, sized, device, train, variant,
                                    rounds if train else 3 * rounds, warmup, clock))
    print_table(title, rows, names)
    print(f"  ({time.perf_counter() - started:.0f} s wall)")


def run_device(device: torch.device, groupy, rounds: int, warmup: int, wall: bool, batches) -> None:
    clock = clock_for(device, wall)
    cuda = device.type == "cuda"
    batches = batches or (CUDA_BATCHES if cuda else CPU_BATCHES)
    print(f"\n=== {device.type.upper()} ===")
    print(machine_description(device))
    import e2cnn

    print(f"e2cnn {getattr(e2cnn, '__version__', '(version unknown)')}; "
          f"GrouPy: {'from ' + os.environ['GROUPY_SRC'] if groupy is not None else 'left out'}")
    print(f"{load()} at start; float32; clock: {'thread CPU time' if clock is time.thread_time else 'wall'}; "
          f"medians of {rounds} interleaved rounds (eval: {3 * rounds}) after {warmup} warm-up rounds")
    for case in SIZES:
        print(f"  {case.title:<22} {case.describe().split(' on ')[0]} on {case.size}x{case.size}")
    report_agreement(groupy, device)
    report_construction(groupy, device, repeats=3)
    run_table(f"{device.type.upper()} float32, eager", device, groupy, batches, EAGER, rounds, warmup, clock)
    if cuda:
        logging.getLogger("torch._dynamo").setLevel(logging.ERROR)  # e2cnn's graph breaks, one screen each
        for mode in ("default", "reduce-overhead"):
            run_table(f"CUDA float32, torch.compile(mode={mode!r}) for every contender", device, groupy, batches,
                      Variant(compile_mode=mode), rounds, warmup, clock)
        run_table("CUDA bf16 autocast, eager", device, groupy, batches, Variant(autocast=torch.bfloat16),
                  rounds, warmup, clock)
    print(f"{load()} at end")


def main(argv=None) -> int:
    parser = timing_parser(__doc__, "interleaved rounds per training row (eval rows: 3x; default 20, 6 with --quick)",
                           f"batch sizes (default {' '.join(map(str, CPU_BATCHES))} on the CPU, "
                           f"{' '.join(map(str, CUDA_BATCHES))} on CUDA)")
    args = parser.parse_args(argv)
    batches = check_timing_arguments(parser, args)
    try:
        importlib.import_module("e2cnn")
    except ImportError:
        parser.error("e2cnn is not installed here: run `make bench-peers`, which builds .venv-peers with it")
    groupy, reason = import_groupy()
    if groupy is None:
        print(f"GrouPy left out: {reason}")
    torch.set_num_threads(args.threads)
    rounds = args.rounds or (6 if args.quick else 20)
    warmup = 2 if args.quick else 3
    if args.device in ("all", "cpu"):
        run_device(torch.device("cpu"), groupy, rounds, warmup, args.wall, batches)
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            run_device(torch.device("cuda"), groupy, rounds, warmup, args.wall, batches)
        else:
            print("\n=== CUDA ===\nskipped: no CUDA GPU is visible to torch (torch.cuda.is_available() is False)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
