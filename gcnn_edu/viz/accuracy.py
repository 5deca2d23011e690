"""Test accuracy against the rotation angle of the test digits, one curve per trained model.

A P4CNN is invariant to quarter turns, so its curve repeats every 90 degrees exactly and dips
in between, where the digits had to be resampled; a planar CNN trained on upright digits falls
away from 0 degrees. The plot marks the quarter turns, draws the chance level (10 % for ten
classes), names every curve at its right end (no legend to match colours against) and, where
a curve was measured for several seeds, draws their mean with a band from the lowest to the
highest run.

    draw_accuracy_vs_angle(curves, ax)            on a given axes
    plot_accuracy_vs_angle(curves, "acc.png")     on a figure of its own, saved
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["draw_accuracy_vs_angle", "plot_accuracy_vs_angle", "curve_statistics", "CHANCE"]

CHANCE = 0.1  # ten digit classes
_PARAMETERS = re.compile(r"\s*\(([\d,]+) parameters\)")


def curve_statistics(runs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(angles, mean, lowest, highest) of one curve, given as ``{angle: accuracy}`` or a list of such
    dicts (one per seed, all at the same angles). Angles may be numbers or strings ('30.0')."""
    runs = [runs] if isinstance(runs, dict) else list(runs)
    if not runs:
        raise ValueError("a curve needs at least one run {angle: accuracy}")
    tables = [{float(angle): float(value) for angle, value in run.items()} for run in runs]
    angles = sorted(tables[0])
    if any(sorted(table) != angles for table in tables):
        raise ValueError("every run of a curve must be measured at the same angles")
    values = np.array([[table[a] for a in angles] for table in tables])
    return np.array(angles), values.mean(0), values.min(0), values.max(0)


def draw_accuracy_vs_angle(curves: dict, ax, title: str | None = None, fontsize: float = 10):
    """One line per model on ``ax``: accuracy (%) against the rotation angle of the test digits.

    ``curves`` maps a label to ``{angle: accuracy}`` or to a list of them (one per seed: mean
    line, min-max band). Curves whose labels start with the same word (the model's name) share
    a colour; a curve whose label mentions 'upright' (trained on upright digits) is dashed. A
    "(N parameters)" in a label is left out of the end label. Returns ``ax``.
    """
    names = list(dict.fromkeys(label.split(maxsplit=1)[0].strip(",") for label in curves))
    colours = ("#fe6100", "#332288", "#666633", "#882255", "#009e73", "#56b4e9", "#cc79a7", "#000000")  # 8 models
    ends = []
    right_edge = 0.0
    for label, runs in curves.items():
        angles, mean, low, high = curve_statistics(runs)
        colour = colours[names.index(label.split(maxsplit=1)[0].strip(",")) % len(colours)]
        dashed = "upright" in label
        ax.plot(angles, 100 * mean, marker="o", markersize=2.5, color=colour, linewidth=1.6,
                linestyle="--" if dashed else "-", label=_PARAMETERS.sub("", label))
        if not np.array_equal(low, high):
            ax.fill_between(angles, 100 * low, 100 * high, color=colour, alpha=0.18, linewidth=0)
        ends.append([_PARAMETERS.sub("", label), 100 * mean[-1], colour])
        right_edge = max(right_edge, angles[-1])
    ends.sort(key=lambda item: -item[1])
    ends[0][1] = min(ends[0][1], 97.0)
    for upper, lower in zip(ends, ends[1:], strict=False):  # keep the end labels apart, top down
        lower[1] = min(lower[1], upper[1] - 5.5)
    for label, y, colour in ends:
        ax.text(right_edge + 6, y, label, ha="left", va="center", fontsize=fontsize - 1, color=colour)
    ax.axhline(100 * CHANCE, color="#777777", linestyle=":", linewidth=1.2)
    ax.text(2, 100 * CHANCE + 1, "chance, 10 %", ha="left", va="bottom", fontsize=fontsize - 2, color="#555555")
    for quarter in range(0, int(right_edge) + 1, 90):
        ax.axvline(quarter, color="#999999", linewidth=0.8, zorder=0)
    ax.set_xticks(range(0, int(right_edge) + 1, 90),
                  [f"{a}°\n(${_quarter_turn(a // 90)}$)" for a in range(0, int(right_edge) + 1, 90)])
    ax.set_xticks(range(0, int(right_edge) + 1, 30), minor=True)
    ax.set_xlim(0, right_edge * 1.33 if right_edge else 1)
    ax.set_xlabel("rotation of the test digits (degrees, counter-clockwise, bilinear; equal to the exact turn "
                  "at the quarter turns)", fontsize=fontsize)
    ax.set_ylabel("test accuracy (%)", fontsize=fontsize)
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    return ax


def _quarter_turn(k: int) -> str:
    return ("e", "r", "r^2", "r^3")[k % 4]


def plot_accuracy_vs_angle(curves: dict, path: str | Path,
                           title: str = "Test accuracy of digits rotated by an angle") -> Path:
    """:func:`draw_accuracy_vs_angle` on a figure of its own, saved to ``path``; the models'
    parameter counts (from "(N parameters)" in the labels) go once into a caption."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.5, 5), layout="constrained")
    ax = figure.subplots()
    draw_accuracy_vs_angle(curves, ax, title)
    counts = {}
    for label in curves:
        found = _PARAMETERS.search(label)
        if found:
            counts.setdefault(label.split(maxsplit=1)[0].strip(","), found.group(1))
    if counts:
        figure.get_layout_engine().set(h_pad=0.08)
        ax.text(0.0, -0.2, "parameters: " + ", ".join(f"{name} {count}" for name, count in counts.items()),
                transform=ax.transAxes, ha="left", va="top", fontsize=9, color="#333333")
    path = Path(path)
    figure.savefig(path, dpi=120, metadata={"Software": None})
    return path
