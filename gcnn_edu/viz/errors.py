"""Equivariance measured: how far net(L_g x) is from L_g net(x), per element and per angle.

``gcnn_edu.check_equivariance`` measures, for every g of the point group, the largest
|net(L_g x) - L_g net(x)| (for logits, |net(L_g x) - net(x)|). For a G-CNN it is zero up to
floating-point rounding, about 1e-7 relative in float32 and 1e-16 in float64; for a planar CNN
it is as large as the outputs themselves. Between the quarter turns there is no exact
rotation of a pixel grid: the digit must be resampled (bilinearly), and even a G-CNN is then
only approximately invariant.

    plot_equivariance_errors(cnn, gcnn, digits)   bars per element (log axis), and error against angle
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..data import rotate
from ..equivariance import check_equivariance
from ..functions import act_on_plane
from ..groups import PlaneGroup, PointGroup, point_group
from .palette import ELEMENT_COLORS

__all__ = ["EquivarianceErrorPlot", "equivariance_errors", "angle_errors", "plot_equivariance_errors"]

FLOOR = 1e-18  # where an exact zero is drawn on the log axis
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def equivariance_errors(models: dict, x: torch.Tensor, group: str | PointGroup | PlaneGroup = "p4",
                        dtypes=("float32", "float64")) -> dict[str, dict[str, dict[str, float]]]:
    """{model name: {dtype: check_equivariance(model in dtype, x in dtype, group)}}; the models are copied."""
    out = {}
    for name, model in models.items():
        out[name] = {}
        for dtype in dtypes:
            copied = copy.deepcopy(model).to(DTYPES[dtype]).eval()
            out[name][dtype] = check_equivariance(copied, x.to(DTYPES[dtype]), point_group(group))
    return out


@torch.no_grad()
def angle_errors(model, x: torch.Tensor, angles, dtype: str = "float64") -> dict[float, float]:
    """{angle: max |model(rotate(x, angle)) - model(x)| / max |model(x)|} for a model with invariant
    outputs (logits): the error relative to the size of the outputs.

    A multiple of 90 degrees is applied exactly (``act_on_plane``); any other angle bilinearly
    (``gcnn_edu.data.rotate``, as MNIST-rot was made).
    """
    model = copy.deepcopy(model).to(DTYPES[dtype]).eval()
    x = x.to(DTYPES[dtype])
    reference = model(x)
    out = {}
    for angle in angles:
        angle = float(angle)
        quarter = angle / 90
        if quarter == round(quarter):
            turned = act_on_plane(point_group("C4")[int(round(quarter)) % 4], x)
        else:
            turned = rotate(x, angle)
        out[angle] = float((model(turned) - reference).abs().max() / reference.abs().max())
    return out


@dataclass
class EquivarianceErrorPlot:
    """What ``plot_equivariance_errors`` drew: the measured numbers, and the bars and lines drawing them."""

    figure: plt.Figure
    errors: dict[str, dict[str, dict[str, float]]]
    by_angle: dict[str, dict[float, float]]
    bars: dict[tuple[str, str], list] = field(default_factory=dict)  # (model, dtype) -> one bar per element
    lines: dict[str, object] = field(default_factory=dict)


def plot_equivariance_errors(cnn, gcnn, digits: torch.Tensor, group: str | PointGroup | PlaneGroup = "p4", *,
                             angles=tuple(range(0, 361, 10)), names=("planar CNN (Z2CNN)", "G-CNN (P4CNN)"),
                             fontsize: float = 11) -> EquivarianceErrorPlot:
    """Left: check_equivariance per element of ``group`` for ``cnn`` and ``gcnn``, float32 and float64,
    on a log axis (an exact 0 is drawn at the floor, marked "0"). Right: the invariance error of
    the logits against the rotation angle of ``digits`` (N, 1, H, W), float64, with the quarter turns marked.
    """
    G = point_group(group)
    models = dict(zip(names, (cnn, gcnn), strict=True))
    errors = equivariance_errors(models, digits, G)
    by_angle = {name: angle_errors(model, digits, angles) for name, model in models.items()}
    figure, (left, right) = plt.subplots(1, 2, figsize=(12.5, 5.4), gridspec_kw={"width_ratios": (1.0, 1.35)})
    figure.subplots_adjust(left=0.07, right=0.98, top=0.83, bottom=0.25, wspace=0.22)
    plot = EquivarianceErrorPlot(figure, errors, by_angle)
    colours = {names[0]: ELEMENT_COLORS[1], names[1]: ELEMENT_COLORS[6]}
    series = [(name, dtype) for name in names for dtype in DTYPES]
    width = 0.8 / len(series)
    labels = [g.label for g in G]
    for s, (name, dtype) in enumerate(series):
        values = [errors[name][dtype][label] for label in labels]
        x = np.arange(len(labels)) - 0.4 + (s + 0.5) * width
        heights = [max(v, FLOOR) for v in values]
        bars = left.bar(x, heights, width, bottom=0, color=colours[name], alpha=1.0 if dtype == "float32" else 0.55,
                        hatch=None if dtype == "float32" else "//", edgecolor="#2b2b2b", linewidth=0.6,
                        label=f"{name.split(' (')[0]}, {dtype}")
        plot.bars[name, dtype] = list(bars)
        for bar, value in zip(bars, values, strict=True):
            if value == 0:
                left.text(bar.get_x() + bar.get_width() / 2, FLOOR * 3, "0", ha="center", va="bottom",
                          fontsize=fontsize - 2)
    left.set_yscale("log")
    left.set_ylim(FLOOR, 1e2)
    left.set_xticks(range(len(labels)), [f"${label}$" for label in labels], fontsize=fontsize + 1)
    left.set_xlabel("group element $g$", fontsize=fontsize)
    left.set_ylabel("max |net($L_g x$) $-$ net($x$)|  (logits)", fontsize=fontsize)
    left.set_title("check_equivariance, per element", fontsize=fontsize + 1)
    left.legend(fontsize=fontsize - 2, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncols=2, frameon=False)
    left.grid(axis="y", alpha=0.3)
    with torch.no_grad():
        sizes = {name: float(model.eval()(digits).abs().max()) for name, model in models.items()}
    for s, name in enumerate(names):  # the size of the logits, for scale
        left.axhline(sizes[name], color=colours[name], linestyle="--", linewidth=1.0)
        left.text(-0.45, sizes[name] * (4 if s else 1 / 4), f"size of the logits, {name.split(' (')[0]}",
                  ha="left", va="center", fontsize=fontsize - 3, color=colours[name])
    ends = []
    for name in names:
        curve = by_angle[name]
        xs = sorted(curve)
        plot.lines[name], = right.plot(xs, [max(curve[a], FLOOR) for a in xs], marker="o", markersize=3,
                                       color=colours[name], linewidth=1.6)
        ends.append([name, float(np.median([v for v in curve.values() if v > 0]))])
    ends.sort(key=lambda item: item[1])
    for lower, upper in zip(ends, ends[1:], strict=False):  # keep the end labels a factor 1000 apart on the log axis
        upper[1] = max(upper[1], lower[1] * 1e3)
    for name, y in ends:  # each curve named at its end, no legend
        right.text(364, y, name.replace(" (", "\n("), ha="left", va="center", fontsize=fontsize - 1,
                   color=colours[name], linespacing=1.1)
    right.set_yscale("log")
    right.set_ylim(FLOOR, 1e2)
    right.set_xlim(0, 440)
    right.set_xticks(range(0, 361, 90))
    right.set_xticks(range(0, 361, 45), minor=True)
    for quarter in range(0, 361, 90):
        right.axvline(quarter, color="#999999", linewidth=0.8, linestyle=":", zorder=0)
    right.set_xlabel("rotation of the digits (degrees); quarter turns exact, other angles bilinear",
                     fontsize=fontsize)
    right.set_ylabel("max |net(rotated $x$) $-$ net($x$)| / max |net($x$)|", fontsize=fontsize)
    right.set_title("between quarter turns: only approximately invariant (float64)", fontsize=fontsize + 1)
    right.grid(axis="y", alpha=0.3)
    figure.suptitle(f"equivariance measured on {len(digits)} MNIST digits, rotations of {G.name}: exact up to "
                    "rounding for the G-CNN at every element, far from it for the planar CNN", fontsize=fontsize + 1)
    return plot
