"""The pictures of a study (:mod:`gcnn_edu.reproduce`): validation curves with a band over seeds,
and the test error against the number of training digits.

Both take the study's runs grouped by (model, protocol, training digits), each group a list of
runs (dicts with ``validation_accuracy``, a list per epoch, and ``test_accuracy``), one per seed.
"""

from __future__ import annotations

import statistics
from pathlib import Path

__all__ = ["plot_validation_curves", "plot_data_size", "PUBLISHED_MNIST_ROT", "MNIST_ROT_TRAIN_DIGITS"]

# Cohen & Welling (2016), Table 1: test error (%) on MNIST-rot (its 12,000 training digits, 2,000
# of them for validation), the mean of 5 repeats.
PUBLISHED_MNIST_ROT = {"z2cnn": 5.03, "p4cnn-rotation-pooling": 3.21, "p4cnn": 2.28}
MNIST_ROT_TRAIN_DIGITS = 12_000


def _panel_title(protocol: str, digits: int, all_digits: int) -> str:
    return f"protocol: {protocol}" + ("" if digits == all_digits else f", {digits:,} training digits")


def plot_validation_curves(groups: dict[tuple[str, str, int], list[dict]], path: str | Path,
                           all_digits: int) -> Path:
    """Validation accuracy against epoch, one panel per (protocol, training digits), one line
    per model: the mean over the seeds that reached an epoch, with a band from their lowest to
    their highest. A panel of ``all_digits`` training digits is titled by its protocol alone."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    panels = list(dict.fromkeys((protocol, digits) for _, protocol, digits in groups))
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(5.5 * columns, 4.2 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).flatten()
    for ax, (protocol, digits) in zip(axes[:len(panels)], panels, strict=True):
        for (model, group_protocol, group_digits), runs in groups.items():
            if (group_protocol, group_digits) == (protocol, digits):
                _draw_seed_band(ax, [run["validation_accuracy"] for run in runs], model)
        ax.set(title=_panel_title(protocol, digits, all_digits), xlabel="epoch", ylabel="validation accuracy (%)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    path = Path(path)
    figure.savefig(path, dpi=120, metadata={"Software": None})
    return path


def _draw_seed_band(ax, curves: list[list[float]], label: str) -> None:
    longest = max(len(curve) for curve in curves)
    epochs = list(range(1, longest + 1))
    at = [[100 * curve[e - 1] for curve in curves if len(curve) >= e] for e in epochs]
    line, = ax.plot(epochs, [statistics.fmean(values) for values in at], marker="o", markersize=3,
                    label=f"{label} (n={len(curves)})")
    ax.fill_between(epochs, [min(v) for v in at], [max(v) for v in at], color=line.get_color(), alpha=0.2,
                    linewidth=0)



def plot_data_size(groups: dict[tuple[str, str, int], list[dict]], path: str | Path) -> Path | None:
    """Test error against the number of training digits under 'rotated', for every model run
    with at least two numbers of digits: every seed as a dot, the mean ± std as a bar; the
    paper's MNIST-rot errors (12,000 digits) as open markers."""
    from matplotlib.figure import Figure

    sizes = {}
    for (model, protocol, digits), runs in groups.items():
        if protocol == "rotated":
            sizes.setdefault(model, {})[digits] = [100 * (1 - run["test_accuracy"]) for run in runs]
    sizes = {model: by_size for model, by_size in sizes.items() if len(by_size) >= 2}
    if not sizes:
        return None
    figure = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = figure.subplots()
    for model, by_size in sizes.items():
        digits = sorted(by_size)
        means = [statistics.fmean(by_size[n]) for n in digits]
        spreads = [statistics.stdev(by_size[n]) if len(by_size[n]) > 1 else 0.0 for n in digits]
        bars = ax.errorbar(digits, means, yerr=spreads, marker="o", capsize=4, label=f"{model}: mean ± std")
        colour = bars.lines[0].get_color()
        for n in digits:
            ax.plot([n] * len(by_size[n]), by_size[n], ".", color=colour, alpha=0.5)
        if model in PUBLISHED_MNIST_ROT:
            ax.plot([MNIST_ROT_TRAIN_DIGITS], [PUBLISHED_MNIST_ROT[model]], marker="o", markerfacecolor="white",
                    color=colour, linestyle="none", label=f"{model}: Cohen & Welling 2016, MNIST-rot")
    ax.set_xscale("log")
    ticks = sorted({n for by_size in sizes.values() for n in by_size} | {MNIST_ROT_TRAIN_DIGITS})
    ax.set_xticks(ticks, [f"{n:,}" for n in ticks])
    ax.minorticks_off()
    ax.set(xlabel="training digits (validation digits included)", ylabel="test error (%)", ylim=(0, None),
           title="Trained and tested on rotated digits: error against data")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    path = Path(path)
    figure.savefig(path, dpi=120, metadata={"Software": None})
    return path
