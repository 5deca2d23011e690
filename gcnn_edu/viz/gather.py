"""Where the gather sits: the weight, the index, the bank, the one conv2d, and the backward scatter-add.

The fast path (``gcnn_edu.fast``) never loops over the group. It numbers the entries of each
weight row w[c, i] (shape (|H_in|, k, k), flattened), precomputes once which entry lands where
in every transformed filter (the index, GrouPy's ``make_gconv_indices``), and gathers:

    bank[c |G| + g, i |H_in| + h, u, v] = w[c, i].flatten()[index[g, h, u, v]]

The bank, (C_out |G|, C_in |H_in|, k, k), is the weight of one ordinary ``F.conv2d`` on the
input with its group axis folded into the channels; the output (N, C_out |G|, H', W') is viewed
back as (N, C_out, |G|, H', W'). Backward, autograd runs the gather in reverse: each entry of w
receives the sum of the gradients of all bank cells it was copied to, a scatter-add
(``index_add``; the paper's supplementary material, section 2).

    plot_gather("p4", out_channels=2, in_channels=1, kernel_size=3)

draws all of it for a small layer: every weight entry shows its number, every bank cell the
number it was gathered from (so the bank *is* the index, read with the weight's numbering),
cells coloured by the patch w[c, i, h] they came from, rows labelled by their channel c |G| + g.
One weight entry and its |G| copies in the bank are outlined, with the scatter-add arrows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyArrowPatch, Rectangle

from .. import fast
from ..groups import PlaneGroup, PointGroup, point_group
from .palette import ELEMENT_COLORS

__all__ = ["GatherPlot", "plot_gather"]

CHANNEL_COLORS = ("#dddddd", "#555555")  # output channel c = 0, 1, ...: light and dark, in any vision
CHANNEL_TEXT = ("black", "white")
HIGHLIGHT = "#000000"


@dataclass
class GatherPlot:
    """What ``plot_gather`` drew. The numbers are read back from the text artists.

    ``weight_texts[c, i, h, u, v]`` and ``bank_texts[c |G| + g, i |H_in| + h, u, v]`` are the
    texts in the cells; ``source`` is the outlined weight entry (c, i, h, u, v) and ``copies``
    the outlined bank cells (row, column, u, v) it was gathered into.
    """

    figure: plt.Figure
    ax: plt.Axes
    group: PointGroup
    weight_shape: tuple[int, ...]
    weight_texts: dict[tuple[int, ...], plt.Text] = field(default_factory=dict)
    bank_texts: dict[tuple[int, ...], plt.Text] = field(default_factory=dict)
    source: tuple[int, ...] = ()
    copies: list[tuple[int, ...]] = field(default_factory=list)

    def weight_numbers(self) -> np.ndarray:
        """The numbers drawn in the weight, shape (C_out, C_in, |H_in|, k, k)."""
        return self._read(self.weight_texts, self.weight_shape)

    def bank_numbers(self) -> np.ndarray:
        """The numbers drawn in the bank, shape (C_out |G|, C_in |H_in|, k, k)."""
        c_out, c_in, in_order, k, _ = self.weight_shape
        return self._read(self.bank_texts, (c_out * self.group.order, c_in * in_order, k, k))

    @staticmethod
    def _read(texts, shape) -> np.ndarray:
        out = np.full(shape, -1, dtype=np.int64)
        for position, text in texts.items():
            out[position] = int(text.get_text())
        return out


def plot_gather(group: str | PointGroup | PlaneGroup = "p4", *, out_channels: int = 2, in_channels: int = 1,
                kernel_size: int = 3, lifting: bool = False, fontsize: float = 8.5) -> GatherPlot:
    """Draw the gather of a small layer on ``group`` ('p4' or 'p4m'; pass it explicitly).

    The layer is a group convolution (|H_in| = |H|), or with ``lifting=True`` a lifting layer
    (|H_in| = 1). Left: the weight (C_out, C_in, |H_in|, k, k), each entry numbered by its place
    in its row w[c, i] flattened. Right: the bank (C_out |G|, C_in |H_in|, k, k) from
    ``fast.transform_filter`` with the layer's ``fast.channel_index``, each cell showing the number
    of the entry gathered into it. Below: the one conv2d, and the backward scatter-add of the
    entry w[0, 0].flatten()[0].
    """
    G = point_group(group)
    in_order = 1 if lifting else G.order
    for name, value in (("out_channels", out_channels), ("in_channels", in_channels), ("kernel_size", kernel_size)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 4:
            raise ValueError(f"{name} must be an int from 1 to 4 for a picture that can be read, got {value!r}")
    k, row_size = kernel_size, in_order * kernel_size**2
    shape = (out_channels, in_channels, in_order, k, k)
    numbers = torch.arange(row_size).repeat(out_channels, in_channels).view(shape)  # place in its row w[c, i]
    index = fast.channel_index(G.name, in_order, in_channels, k)
    # transform_filter gathers from each row w[c] = (C_in, |H_in|, k, k) flattened: put the row numbers there
    flat_numbers = torch.arange(in_channels * row_size).repeat(out_channels).view(shape)
    bank = fast.transform_filter(flat_numbers, index, G.order) % row_size  # the number within w[c, i]

    cell, patch_gap, row_gap = 1.0, 0.6, 0.45
    patch_width = k * cell + patch_gap
    columns = in_channels * in_order
    bank_rows = out_channels * G.order
    bank_x0 = columns * patch_width + 10.5  # the bank sits right of the weight, with room for the arrow
    figure_width = bank_x0 + columns * patch_width + 1.0
    bank_height = bank_rows * (k * cell + row_gap)
    figure = plt.figure(figsize=(0.36 * figure_width + 0.3, 0.36 * (bank_height + 9.5)))
    ax = figure.add_axes((0.01, 0.01, 0.98, 0.98))
    plot = GatherPlot(figure, ax, G, shape)
    element_labels = [g.label for g in G] if in_order > 1 else ["e"]

    def draw_patch(x0, y0, values, colour_of, texts, key, edge="#333333"):
        for u in range(k):
            for v in range(k):
                value = int(values[u, v])
                ax.add_patch(Rectangle((x0 + v * cell, y0 - (u + 1) * cell), cell, cell,
                                       facecolor=colour_of(value), edgecolor="white", linewidth=0.8, alpha=0.55))
                texts[(*key, u, v)] = ax.text(x0 + (v + 0.5) * cell, y0 - (u + 0.5) * cell, str(value),
                                              ha="center", va="center", fontsize=fontsize)
        ax.add_patch(Rectangle((x0, y0 - k * cell), k * cell, k * cell, fill=False, edgecolor=edge, linewidth=1.0))

    def colour_of(value):  # the patch w[c, i, h] the entry belongs to
        return ELEMENT_COLORS[value // (k * k)] if in_order > 1 else ELEMENT_COLORS[0]

    top = bank_height
    # ---- the weight
    weight_top = top - 1.0
    ax.text(0, top + 2.2, "weight $w$", fontsize=fontsize + 4, ha="left", va="bottom", weight="bold")
    ax.text(0, top + 1.0, f"$(C_{{out}}, C_{{in}}, |H_{{in}}|, k, k) = {shape}$",
            fontsize=fontsize + 2, ha="left", va="bottom")
    for c in range(out_channels):
        y0 = weight_top - c * (k * cell + 2.2)
        for i in range(in_channels):
            for h in range(in_order):
                x0 = (i * in_order + h) * patch_width
                draw_patch(x0, y0, numbers[c, i, h], colour_of, plot.weight_texts, (c, i, h))
                if c == 0:
                    ax.text(x0 + k * cell / 2, y0 + 0.25, f"$h = {element_labels[h]}$" if in_order > 1 else "",
                            ha="center", va="bottom", fontsize=fontsize + 1)
        ax.text(-0.3, y0 - k * cell / 2, f" c = {c} ", ha="right", va="center", fontsize=fontsize + 1,
                color=CHANNEL_TEXT[c % 2], bbox={"facecolor": CHANNEL_COLORS[c % 2], "edgecolor": "none"})
    weight_bottom = weight_top - out_channels * (k * cell + 2.2) + 2.2 - k * cell
    ax.text(0, weight_bottom - 0.9,
            "each entry numbered by its place\nin its row $w[c, i]$, flattened;\n"
            "colour: the patch $w[c, i, h]$ it is in", fontsize=fontsize + 1, ha="left", va="top",
            color="#333333", linespacing=1.3)

    # ---- the gather arrow and the index
    arrow_y = weight_top - (k * cell + 2.2) - 1.5  # level with the second row of the weight
    x_from, x_to = columns * patch_width + 0.3, bank_x0 - 4.6
    ax.add_patch(FancyArrowPatch((x_from, arrow_y), (x_to, arrow_y), arrowstyle="-|>,head_length=0.7,head_width=0.4",
                                 mutation_scale=14, linewidth=2.0, color="#333333"))
    ax.text((x_from + x_to) / 2, arrow_y + 0.5, "one gather", ha="center", va="bottom", fontsize=fontsize + 3,
            weight="bold")
    ax.text((x_from + x_to) / 2, arrow_y - 0.5,
            f"with the index\n$(|G|, |H_{{in}}|, k, k) = ({G.order}, {in_order}, {k}, {k})$,\n"
            "computed once:\nthe numbers in the bank\n*are* the index",
            ha="center", va="top", fontsize=fontsize + 1, linespacing=1.3)

    # ---- the bank
    ax.text(bank_x0, top + 2.2, "filter bank", fontsize=fontsize + 4, ha="left", va="bottom", weight="bold")
    ax.text(bank_x0, top + 1.0, f"$(C_{{out}}|G|, C_{{in}}|H_{{in}}|, k, k) = "
            f"({out_channels * G.order}, {in_channels * in_order}, {k}, {k})$", fontsize=fontsize + 2, ha="left",
            va="bottom")
    for row in range(bank_rows):
        c, g = divmod(row, G.order)
        y0 = top - row * (k * cell + row_gap)
        for column in range(columns):
            draw_patch(bank_x0 + column * patch_width, y0, bank[row, column], colour_of, plot.bank_texts, (row, column))
        ax.text(bank_x0 - 0.3, y0 - k * cell / 2, f" {row} = {c}$\\cdot${G.order} + ${G[g].label}$ ", ha="right",
                va="center", fontsize=fontsize + 0.5, color=CHANNEL_TEXT[c % 2],
                bbox={"facecolor": CHANNEL_COLORS[c % 2], "edgecolor": "none", "pad": 1.5})
    ax.text(bank_x0 - 0.3, top + 0.25, "channel $c|G| + g$", ha="right", va="bottom", fontsize=fontsize + 1)
    for column in range(columns):
        ax.text(bank_x0 + column * patch_width + k * cell / 2, top + 0.25, f"${column}$", ha="center",
                va="bottom", fontsize=fontsize + 1)
    ax.text(bank_x0 + columns * patch_width, top + 0.25, "← input channel\n    $i|H_{in}| + h$", ha="left",
            va="bottom", fontsize=fontsize)

    # ---- backward: the scatter-add of one entry
    # the top-right entry of w[0, 0], nearest the bank, so the arrows cross nothing
    source = (0, 0, in_order - 1, 0, k - 1)
    plot.source = source
    number = int(numbers[source])
    sx, sy = (in_order - 1) * patch_width + (k - 1) * cell, weight_top
    ax.add_patch(Rectangle((sx, sy - cell), cell, cell, fill=False, edgecolor=HIGHLIGHT, linewidth=2.6, zorder=5))
    ax.text(sx + cell + 0.5, sy + 0.4, "backward:\ngradients add up here", ha="left", va="bottom",
            fontsize=fontsize + 1, color="#333333")
    hits = (bank[:G.order, :in_order] == number).nonzero().tolist()  # rows of channel c = 0, input channel i = 0
    for row, column, u, v in hits:
        plot.copies.append((row, column, u, v))
        x0 = bank_x0 + column * patch_width + v * cell
        y0 = top - row * (k * cell + row_gap) - (u + 1) * cell
        ax.add_patch(Rectangle((x0, y0), cell, cell, fill=False, edgecolor=HIGHLIGHT, linewidth=2.6, zorder=5))
        ax.add_patch(FancyArrowPatch((x0, y0 + cell / 2), (sx + cell, sy - cell / 2),
                                     connectionstyle="arc3,rad=-0.12", arrowstyle="-|>", mutation_scale=10,
                                     linewidth=1.0, color="#666666", linestyle=(0, (4, 3)), zorder=4,
                                     shrinkA=1, shrinkB=1))
    ax.text(0, weight_bottom - 5.0,
            "backward (scatter-add, index_add):\n"
            f"the outlined entry was copied to the {len(hits)} outlined cells,\n"
            "one per $g$, so its gradient is the sum of theirs:\n"
            "$\\partial L/\\partial w = \\sum$ of $\\partial L/\\partial$bank over its copies",
            fontsize=fontsize + 1, ha="left", va="top", linespacing=1.35)

    # ---- the one conv2d
    ax.text(0, weight_bottom - 10.2,
            "forward, one F.conv2d:\n"
            f"$x$ $(N, C_{{in}}, |H_{{in}}|, H, W)$ → flatten → $(N, {in_channels * in_order}, H, W)$\n"
            f"→ conv2d with the bank → $(N, {out_channels * G.order}, H', W')$\n"
            f"→ view → $(N, C_{{out}}, |G|, H', W') = (N, {out_channels}, {G.order}, H', W')$",
            fontsize=fontsize + 1, ha="left", va="top", linespacing=1.45)
    ax.set_xlim(-4.8, figure_width)
    ax.set_ylim(-1.0, top + 3.8)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return plot
