"""The filter bank of a G-correlation as a grid: "twist and shift".

A group correlation correlates its input with |G| transformed copies L_g ψ of one filter ψ
(Cohen & Welling 2016, section 6.1). For a filter on a plane group (p4, p4m or any of the ten,
``group=``), ψ has one patch ψ(h) per point-group element h, and

    [L_g ψ](h) = g · ψ(g^-1 h)

so every row g of the bank *shifts* ψ along the group axis (cell (g, h) holds the patch
ψ(g^-1 h), a cyclic roll for p4) and *twists* every patch by g (turns it, or flips it). For a
lifting layer (a planar filter, |H_in| = 1) only the twist is left.

    plot_filter_bank(weight, "p4")      rows g in G, columns h in H_in: cell (g, h) = bank[o, g, i, h]

The cells are read from the fast path's bank (``gcnn_edu.fast.transform_filter`` with the
layer's index), not recomputed, so the picture is the bank the layer correlates with. Each
cell carries a tag, the element g^-1 h it came from, on the corner where ψ's top-left corner went.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import Normalize
from matplotlib.image import AxesImage

from .. import fast
from ..groups import PlaneGroup, PointGroup, point_group
from .cayley import math_label
from .plot import FRAME_COLOR, TAG_CORNER, spatial_transform

__all__ = ["FilterBankPlot", "filter_bank", "plot_filter_bank"]


def filter_bank(weight: torch.Tensor, group: str | PointGroup | PlaneGroup = "p4", *, out_channel: int = 0,
                in_channel: int = 0) -> torch.Tensor:
    """bank[g, h] = [L_g ψ](h) for ψ = weight[out_channel, in_channel], shape (|G|, |H_in|, k, k).

    ``weight`` is a layer's weight (C_out, C_in, |H_in|, k, k), |H_in| = 1 (lifting) or the
    order of ``group`` (rows and columns in its local index order); the bank is gathered
    exactly as the fast path gathers it.
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() != 5 or weight.shape[-1] != weight.shape[-2]:
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"weight must be a layer's weight (C_out, C_in, |H_in|, k, k) with square filters, "
                         f"got {shape}")
    G = point_group(group)
    c_out, c_in, in_order, k, _ = weight.shape
    if in_order not in (1, G.order):
        raise ValueError(f"a filter on {G.name} has |H_in| = {G.order} (or 1 for a lifting layer), got "
                         f"|H_in| = {in_order} in shape {tuple(weight.shape)}")
    for name, value, size in (("out_channel", out_channel, c_out), ("in_channel", in_channel, c_in)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < size:
            raise ValueError(f"{name} must be an int in 0..{size - 1} for weight {tuple(weight.shape)}, got {value!r}")
    index = fast.channel_index(G.name, in_order, c_in, k)
    bank = fast.transform_filter(weight.detach().cpu(), index, G.order)  # (C_out |G|, C_in |H_in|, k, k)
    return bank.view(c_out, G.order, c_in, in_order, k, k)[out_channel, :, in_channel]


@dataclass
class FilterBankPlot:
    """What ``plot_filter_bank`` drew: one axes and image per cell (g, h), and the tags."""

    figure: plt.Figure
    group: PointGroup
    in_order: int
    norm: Normalize
    axes: dict[tuple[int, int], plt.Axes] = field(default_factory=dict)
    images: dict[tuple[int, int], AxesImage] = field(default_factory=dict)
    tags: dict[tuple[int, int], str] = field(default_factory=dict)

    def cell(self, g: int, h: int) -> np.ndarray:
        """The array drawn in row g, column h, read back from the image."""
        return np.asarray(self.images[g, h].get_array())


def plot_filter_bank(weight, group: str | PointGroup | PlaneGroup = "p4", *, out_channel: int = 0,
                     in_channel: int = 0, cmap="viridis", vmin: float | None = None, vmax: float | None = None,
                     title: str | None = None, cell_size: float = 0.78, fontsize: float = 11) -> FilterBankPlot:
    """Draw the filter bank of one (out, in) channel pair: row g is L_g ψ, column h its patch at h.

    Read a row left to right: its patches are ψ's patches in a rolled order (the tag on each
    names the element g^-1 h it came from: the shift) and each is turned or flipped by g (the
    tag sits on the corner where ψ's top-left corner went: the twist). Row e is ψ itself.
    ``weight`` is (C_out, C_in, |H_in|, k, k); pass ``group`` (any of the ten, e.g. 'p4', 'pmm') explicitly.
    """
    bank = filter_bank(weight, group, out_channel=out_channel, in_channel=in_channel)
    G = point_group(group)
    in_order = bank.shape[1]
    low = float(bank.min()) if vmin is None else vmin
    high = float(bank.max()) if vmax is None else vmax
    norm = Normalize(low, high if high > low else low + 1)
    rows, cols = G.order, in_order
    left, top = 1.15, 0.75 + (0.35 if title else 0.0)
    width, height = left + cols * cell_size + 0.15, top + rows * cell_size + 0.15
    figure = plt.figure(figsize=(width, height))
    plot = FilterBankPlot(figure, G, in_order, norm)
    gap = 0.16 * cell_size
    source_group = G if in_order > 1 else None
    for g in G:
        for h_index in range(in_order):
            x0 = (left + h_index * cell_size + gap / 2) / width
            y0 = 1 - (top + (G.index(g) + 1) * cell_size - gap / 2) / height
            ax = figure.add_axes((x0, y0, (cell_size - gap) / width, (cell_size - gap) / height))
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_color(FRAME_COLOR)
            image = ax.imshow(bank[G.index(g), h_index].numpy(), cmap=cmap, norm=norm, interpolation="nearest",
                              extent=(-1, 1, -1, 1))
            plot.axes[G.index(g), h_index], plot.images[G.index(g), h_index] = ax, image
            source = (g.inverse() * source_group[h_index]).label if source_group is not None else "e"
            plot.tags[G.index(g), h_index] = source
            corner = spatial_transform(g).transform(np.array(TAG_CORNER) * 0.999)
            ax.text(*corner, math_label(source), ha="center", va="center", fontsize=fontsize - 3, zorder=5,
                    clip_on=False, bbox={"boxstyle": "round,pad=0.12", "facecolor": "white",
                                         "edgecolor": FRAME_COLOR, "linewidth": 0.6})
            ax.set_xlim(-1.12, 1.12)
            ax.set_ylim(-1.12, 1.12)
        y = 1 - (top + (G.index(g) + 0.5) * cell_size) / height
        figure.text((left - 0.12) / width, y, f"$L_{{{g.label}}}\\psi$" if g != G.identity else "$\\psi$",
                    ha="right", va="center", fontsize=fontsize)
    for h_index in range(in_order):
        name = source_group[h_index].label if source_group is not None else "e"
        figure.text((left + (h_index + 0.5) * cell_size) / width, 1 - (top - 0.12) / height,
                    f"$h = {name}$" if in_order > 1 else "planar $\\psi$", ha="center", va="bottom",
                    fontsize=fontsize)
    figure.text(0.08 / width, 1 - (top - 0.12) / height, "row $g$,\ncolumn $h$", ha="left", va="bottom",
                fontsize=fontsize - 2, color="#555555", linespacing=1.0)
    if title:
        figure.text(0.5, 1 - 0.12 / height, title, ha="center", va="top", fontsize=fontsize + 1)
    return plot
