"""What each deployment route costs: a trained G-CNN run as itself, and as what it is deployed as.

    .venv/bin/python benchmarks/bench_deploy.py            # P4CNN and P4MCNN, batch 1 and 32
    .venv/bin/python benchmarks/bench_deploy.py --quick    # fewer rounds (noisier ratios)

Eval mode, float32, on the CPU, the forward pass of a whole model on 28x28 digits, by route:

  model           the gcnn_edu model itself under ``torch.no_grad()`` (its layers reuse their
                  cached filter banks)
  plain           ``gcnn_edu.export(model)``: the same network built only from torch.nn modules
  export(model)   ``torch.export.export(model).module()``: the exported graph of the model; it
                  gathers every filter bank from the weights on every call, as a traced graph must
  export(plain)   ``torch.export.export(plain).module()``
  onnxruntime     ``torch.onnx.export(plain)`` run by an onnxruntime CPU session with one
                  intra-op thread (which runs on the calling thread, so the CPU clock sees it)

Timing as in ``bench_conv.py``, whose helpers this script imports: the routes are timed
interleaved, round-robin, in one process (the order reversed every other round), after a warm-up,
with one thread; the clock is the thread's CPU time. Every ratio is the median over rounds of
the per-round ratio route / model, with its interquartile range: below 1 the route is faster.
Before timing, every route's logits are checked against the model's (1e-4).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_conv.py, beside this file
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from bench_conv import check_same, clock_for, interleaved_times, load, machine_description, ratio_summary  # noqa: E402

import gcnn_edu  # noqa: E402
from gcnn_edu.models import P4CNN, P4MCNN  # noqa: E402

MODELS = {"P4CNN": P4CNN, "P4MCNN": P4MCNN}
BATCHES = (1, 32)


def onnx_session(module, x, folder: Path):
    """An onnxruntime CPU session, one thread, of ``module`` exported with a dynamic batch axis."""
    import onnxruntime

    batch = torch.export.Dim("batch", min=1)
    path = folder / "model.onnx"
    torch.onnx.export(module, (x,), dynamic_shapes=({0: batch},), dynamo=True, verbose=False).save(str(path))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def routes(model, x, folder: Path) -> dict:
    """Every route as a no-argument call returning logits (a tensor)."""
    plain = gcnn_edu.export(model)
    exported_model = torch.export.export(model, (x,)).module()
    exported_plain = torch.export.export(plain, (x,)).module()
    session = onnx_session(plain, x, folder)
    name = session.get_inputs()[0].name

    def no_grad(module):
        def step():
            with torch.no_grad():
                return module(x)
        return step

    return {
        "model": no_grad(model),
        "plain": no_grad(plain),
        "export(model)": no_grad(exported_model),
        "export(plain)": no_grad(exported_plain),
        "onnxruntime": lambda: torch.from_numpy(session.run(None, {name: x.numpy()})[0]),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: fewer rounds (noisier ratios)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per case (default 40, "
                        "10 with --quick)")
    args = parser.parse_args(argv)
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as error:
        parser.error(f"{error.name} is missing: install the deploy extra, pip install -e '.[deploy]'")
    torch.set_num_threads(1)
    rounds = args.rounds or (10 if args.quick else 40)
    warmup = 2 if args.quick else 5
    device = torch.device("cpu")
    clock = clock_for(device, wall=False)

    print(machine_description(device))
    print(f"{load()} at start; float32, eval mode; clock: thread CPU time; medians of {rounds} interleaved "
          f"rounds after {warmup} warm-up rounds; ratio = route / model, median [IQR]")
    print(f"\n  {'model':<8}{'batch':>6}  {'route':<15}{'ms':>10}   ratio")
    with tempfile.TemporaryDirectory() as folder:
        for model_name, cls in MODELS.items():
            torch.manual_seed(0)
            model = cls().eval()
            for batch in BATCHES:
                x = torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(batch))
                contenders = routes(model, x, Path(folder))
                check_same({name: step() for name, step in contenders.items()})
                times = interleaved_times(contenders, rounds, warmup, device, clock)
                for route, seconds in times.items():
                    median, q1, q3 = ratio_summary(seconds, times["model"])
                    ratio = "1" if route == "model" else f"{median:.3f} [{q1:.3f}, {q3:.3f}]"
                    print(f"  {model_name:<8}{batch:>6}  {route:<15}{1e3 * statistics.median(seconds):10.3f}   "
                          f"{ratio}")
    print(f"{load()} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
