"""``gcnn-edu groups``: the Cayley tables of C4 and D4 and the measured equivariance of the layers."""

from __future__ import annotations

import torch

from ._arguments import int_range
from .equivariance import check_equivariance
from .groups import C4, D4, PointGroup
from .nn import GroupConv2d, GroupPool, LiftingConv2d

MAX_SIZE = 256  # a larger side only makes the report slower


def cayley_table_text(G: PointGroup) -> str:
    """The Cayley table with labels: row a, column b holds a * b."""
    labels = [g.label for g in G]
    width = max(map(len, labels)) + 1
    lines = [" " * width + "|" + "".join(label.rjust(width) for label in labels)]
    lines.append("-" * width + "+" + "-" * width * G.order)
    for a, row in zip(G, G.cayley_table, strict=True):
        lines.append(a.label.rjust(width) + "|" + "".join(G.label(int(i)).rjust(width) for i in row))
    return "\n".join(lines)


def equivariance_report(group: str, size: int = 9, seed: int = 0) -> dict[str, dict[str, float]]:
    """Errors of a lifting layer, a two-layer G-CNN and its group-pooled output, for every element."""
    torch.manual_seed(seed)
    lift = LiftingConv2d(1, 4, 3, group=group, padding=1, dtype=torch.float64)
    conv = GroupConv2d(4, 4, 3, group=group, padding=1, dtype=torch.float64)
    planar = torch.nn.Conv2d(1, 4, 3, padding=1, dtype=torch.float64)
    x = torch.randn(1, 1, size, size, dtype=torch.float64)
    return {
        "Conv2d (planar)": check_equivariance(planar, x, group=group),
        "LiftingConv2d": check_equivariance(lift, x),
        "Lifting + GroupConv2d": check_equivariance(torch.nn.Sequential(lift, conv), x),
        "... + GroupPool": check_equivariance(torch.nn.Sequential(lift, conv, GroupPool()), x),
    }


def add_arguments(parser) -> None:
    parser.add_argument("--size", type=int_range(1, MAX_SIZE), default=9,
                        help=f"side of the random test input, 1 to {MAX_SIZE} (default 9)")


def run(args) -> int:
    for G in (C4, D4):
        print(f"Cayley table of {G.name} (row a, column b: a * b)\n{cayley_table_text(G)}\n")
    for group in ("p4", "p4m"):
        report = equivariance_report(group, size=args.size)
        labels = list(next(iter(report.values())))
        print(f"max |f(L_g x) - L_g f(x)| on {group}, float64, {args.size}x{args.size} input")
        print(f"{'':24}" + "".join(f"{label:>9}" for label in labels))
        for name, errors in report.items():
            print(f"{name:24}" + "".join(f"{errors[label]:9.1e}" for label in labels))
        print()
    return 0
