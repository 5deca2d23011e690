"""What keeping freed memory in the process saves in training (gcnn_edu.training.keep_freed_memory).

    .venv/bin/python benchmarks/bench_allocator.py                    # every model of the study
    .venv/bin/python benchmarks/bench_allocator.py --models z2cnn gcnn --rounds 3

The setting belongs to the whole process and cannot be undone inside it, so each round starts two
fresh processes, one with glibc's defaults and one with ``keep_freed_memory()``, in alternating
order; each times the same seeded training steps (batch 32, one thread, Adam) and prints its median
step. A round's ratio is kept / default; the script prints the median ratio over rounds with its
range, and checks that both processes end with the same weights, bit for bit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from gcnn_edu._arguments import positive_int  # noqa: E402

MODELS = ("z2cnn", "p4cnn", "p4cnn-rotation-pooling", "p4mcnn", "p4-early", "cnn", "gcnn")

# One process's work: seeded steps of one model; prints its median step time and a digest of its weights.
_STEPS = """
import hashlib, json, statistics, sys, time
import torch
sys.path.insert(0, {root!r})
from gcnn_edu.training import keep_freed_memory
from gcnn_edu.models import build_model
kept = keep_freed_memory() if {keep} else False
torch.set_num_threads(1)
torch.manual_seed(0)
model = build_model({model!r})
optimizer = torch.optim.Adam(model.parameters(), 1e-3)
images, labels = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
times = []
for step in range({warmup} + {steps}):
    began = time.perf_counter()
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(images), labels).backward()
    optimizer.step()
    times.append(time.perf_counter() - began)
digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest()
print(json.dumps({{"kept": kept, "ms": 1e3 * statistics.median(times[{warmup}:]), "weights": digest}}))
"""


def one_process(model: str, keep: bool, steps: int, warmup: int = 3) -> dict:
    code = _STEPS.format(root=str(ROOT), keep=keep, model=model, steps=steps, warmup=warmup)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS, metavar="NAME")
    parser.add_argument("--rounds", type=positive_int, default=4, help="process pairs per model (default: 4)")
    parser.add_argument("--steps", type=positive_int, default=8, help="timed steps per process (default: 8)")
    args = parser.parse_args(argv)
    print(f"{'model':<24} {'default ms':>10} {'kept ms':>8} {'kept / default':>15}  range         weights")
    for model in args.models:
        ratios, default_ms, kept_ms, same = [], [], [], True
        for round_ in range(args.rounds):
            order = (False, True) if round_ % 2 == 0 else (True, False)
            runs = {keep: one_process(model, keep, args.steps) for keep in order}
            if not runs[True]["kept"]:
                print("keep_freed_memory() did nothing here (no glibc): nothing to compare")
                return 0
            default_ms.append(runs[False]["ms"])
            kept_ms.append(runs[True]["ms"])
            ratios.append(runs[True]["ms"] / runs[False]["ms"])
            same &= runs[True]["weights"] == runs[False]["weights"]
        print(f"{model:<24} {statistics.median(default_ms):>10.1f} {statistics.median(kept_ms):>8.1f} "
              f"{statistics.median(ratios):>15.3f}  {min(ratios):.3f}-{max(ratios):.3f}   "
              f"{'identical' if same else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
