"""What pooling keeps: group pooling, and p4m -> p4 coset pooling on the Cayley graph.

* Group pooling takes, at every pixel, the max (or mean) over the patches of a function on
  any of the ten plane groups (``group=``; p4 and p4m in the figures). L_g permutes the
  patches and turns each, so the pooled map of L_g f is the pooled map of f turned by g: it
  still turns with the input, but there is no group axis left to roll.
* Coset pooling pools p4m down to p4 over the left cosets r^k {e, m} = {r^k, r^k m}. L_s with s
  in C4 maps a left coset onto a left coset, s r^k {e, m} = (s r^k){e, m}, so the pooled map
  is a function on p4. Pairing channel k with channel 4 + k pools {r^k, m r^k} = {e, m} r^k
  instead (a right coset: exactly the blue m-edges of the left-multiplication Cayley graph,
  which is why it is tempting), and L_r splits those pairs: r {r^k, m r^k} = {r^(k+1), m r^(k-1)}.

    plot_group_pooling(f, "p4")    f and L_g f on the Cayley graph, and their pooled maps
    plot_coset_pooling()           the two pairings on the Cayley graph of D4, before and after L_r
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Circle, FancyArrowPatch

from ..equivariance import max_error
from ..functions import act_on_group, act_on_plane
from ..groups import D4, PlaneGroup, PointGroup, PointGroupElement, m, point_group, r
from ..nn.pooling import coset_pool, group_pool
from .cayley import EDGE_RULE
from .palette import ELEMENT_COLORS
from .plot import (
    CMAP,
    GroupFunctionPlot,
    PlanarFunctionPlot,
    draw_cayley_graph,
    group_function,
    plot_group_function,
    plot_planar_function,
)

__all__ = ["GroupPoolingPlot", "CosetPoolingPlot", "plot_group_pooling", "plot_coset_pooling", "left_cosets",
           "channel_pairs"]


@dataclass
class GroupPoolingPlot:
    """What ``plot_group_pooling`` drew: f and L_g f on the graph, and their pooled maps."""

    figure: plt.Figure
    functions: list[GroupFunctionPlot]
    pooled: list[PlanarFunctionPlot]


def plot_group_pooling(f, group: str | PointGroup | PlaneGroup = "p4", g: PointGroupElement | None = None, *,
                       mode: str = "max", cmap=CMAP, fontsize: float = 12) -> GroupPoolingPlot:
    """Draw f and L_g f (a function on ``group``, (|H|, H, W)) with their group-pooled maps.

    ``g`` is an element of the group, by default r where the group has it, else its first generator.

    Top row: f on the Cayley graph, then pool(f) = max over h of f(h) (``nn.group_pool``).
    Bottom row: L_g f, then pool(L_g f), which is g turning pool(f): the same planar map, turned.
    """
    G = point_group(group)
    f = group_function(f, G)
    if g is None:
        g = r if r in G else G.generators[0] if G.generators else G.identity
    G.check_member(g)
    moved = act_on_group(g, f, G)
    pooled = [group_pool(x[None, None], mode)[0, 0] for x in (f, moved)]
    scale = {"vmin": float(f.min()), "vmax": float(f.max())}
    figure = plt.figure(figsize=(8.4, 8.2))
    grid = figure.add_gridspec(2, 2, width_ratios=(1.6, 1.0), left=0.01, right=0.99, top=0.87, bottom=0.08,
                               wspace=0.25, hspace=0.15)
    plots, flat = [], []
    for row, (function, pool, name) in enumerate(zip((f, moved), pooled, ("f", f"L_{{{g.label}}} f"), strict=True)):
        graph_ax, pool_ax = figure.add_subplot(grid[row, 0]), figure.add_subplot(grid[row, 1])
        plots.append(plot_group_function(function, G, ax=graph_ax, cmap=cmap, fontsize=fontsize,
                                         title=f"${name}$", **scale))
        flat.append(plot_planar_function(pool, ax=pool_ax, cmap=cmap, size=1.25, fontsize=fontsize, **scale,
                                         title=f"{mode} over $h$ of ${name}(h)$"))
        a, b = graph_ax.get_position(), pool_ax.get_position()
        y = (a.y0 + a.y1) / 2
        figure.patches.append(FancyArrowPatch((a.x1 - 0.01, y), (b.x0 + 0.01, y), transform=figure.transFigure,
                                              arrowstyle="-|>", mutation_scale=18, linewidth=1.8, color="#444444"))
        figure.text((a.x1 + b.x0) / 2, y + 0.012, "group\npool", ha="center", va="bottom", fontsize=fontsize - 1)
    error = max_error(pooled[1], act_on_plane(g, pooled[0]))
    figure.text(0.5, 0.975, f"group pooling keeps, at each pixel, the strongest response over all {G.order} "
                f"orientations,\nand forgets which one: the map turns with the input but no longer rolls",
                ha="center", va="top", fontsize=fontsize)
    figure.text(0.5, 0.02, f"pool($L_{g.label} f$) = ${g.label}\\,$pool($f$): measured largest difference "
                f"{error:.1g};   {EDGE_RULE}", ha="center", va="bottom", fontsize=fontsize - 1, color="#333333")
    return GroupPoolingPlot(figure, plots, flat)


def left_cosets() -> list[tuple[int, int]]:
    """The left cosets r^k {e, m} = {r^k, r^k m} of {e, m} in D4, as index pairs, k = 0..3 (what coset_pool pools)."""
    return [(g.index, (g * m).index) for g in D4 if g.is_rotation]


def channel_pairs() -> list[tuple[int, int]]:
    """The pairs {r^k, m r^k} = {e, m} r^k, channels k and 4 + k: right cosets, the wrong pairing."""
    return [(g.index, (m * g).index) for g in D4 if g.is_rotation]


@dataclass
class CosetPoolingPlot:
    """What ``plot_coset_pooling`` drew. ``colours[(column, row)][node]`` is the pair index k whose colour
    node carries in that panel; ``errors`` the measured max |pool(L_r f) - L_r pool(f)| of each pairing."""

    figure: plt.Figure
    axes: dict[tuple[int, int], plt.Axes]
    pairings: dict[str, list[tuple[int, int]]]
    colours: dict[tuple[int, int], dict[int, int]] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)


def plot_coset_pooling(f=None, *, fontsize: float = 12, seed: int = 0) -> CosetPoolingPlot:
    """The two ways to pair the eight channels of p4m, on the Cayley graph of D4, before and after L_r.

    Left column: the left cosets r^k{e, m} = {r^k, r^k m} (``nn.coset_pool``); right column: channel
    k with channel 4 + k, {r^k, m r^k}. Top row: node h coloured (and tagged with k) by its pair.
    Bottom row: after L_r, node r h shows the colour h had. Under the left cosets every pair
    still holds one colour; under the other pairing every pair holds two, so pooling them mixes
    different pairs and the result is not a function on p4. The measured
    max |pool(L_r f) - L_r pool(f)| for ``f`` (default: a random (1, 1, 8, 9, 9) map from ``seed``)
    is printed under each column.
    """
    if f is None:
        f = torch.randn(1, 1, 8, 9, 9, generator=torch.Generator().manual_seed(seed))
    if not isinstance(f, torch.Tensor) or f.dim() != 5 or f.shape[2] != 8:
        raise ValueError(f"f must be a function on p4m (N, C, 8, H, W), got "
                         f"{tuple(f.shape) if isinstance(f, torch.Tensor) else type(f).__name__}")
    pairings = {"left cosets": left_cosets(), "channels k, 4 + k": channel_pairs()}
    titles = {"left cosets": "coset_pool pairs $r^k\\{e, m\\} = \\{r^k, r^km\\}$",
              "channels k, 4 + k": "channel $k$ with $4 + k$: $\\{r^k, mr^k\\} = \\{e, m\\}r^k$"}
    figure, axes = plt.subplots(2, 2, figsize=(11.0, 11.6))
    figure.subplots_adjust(left=0.01, right=0.99, top=0.9, bottom=0.1, wspace=0.05, hspace=0.12)
    plot = CosetPoolingPlot(figure, {}, pairings)
    for column, (name, pairs) in enumerate(pairings.items()):
        pair_of = {node: k for k, pair in enumerate(pairs) for node in pair}
        before = pair_of
        after = {(r * D4[node]).index: k for node, k in pair_of.items()}  # node r h gets the colour of h
        for row, colouring in enumerate((before, after)):
            ax = axes[row, column]
            draw_cayley_graph(D4, ax=ax, fontsize=fontsize + 1, legend=row == 1,
                              title=(titles[name] if row == 0 else "after $L_r$: node $rh$ gets the colour of $h$"))
            _colour_nodes(ax, colouring, pairs, fontsize)
            plot.axes[column, row] = ax
            plot.colours[column, row] = dict(colouring)
        pooled = _pool_pairs(f, pairs)
        moved = _pool_pairs(act_on_group(r, f, "p4m"), pairs)
        plot.errors[name] = max_error(moved, act_on_group(r, pooled, "p4"))
        mixed = sum(len({after[a], after[b]}) > 1 for a, b in pairs)
        verdict = ("every pair keeps one colour: pooling commutes with $L_r$" if mixed == 0 else
                   f"{mixed} of 4 pairs now hold two colours: pooling mixes pairs")
        x = 0.25 + 0.5 * column
        figure.text(x, 0.065, f"{verdict}\nmeasured max |pool($L_r f$) $-$ $L_r$ pool($f$)| = "
                    f"{plot.errors[name]:.2g}", ha="center", va="top", fontsize=fontsize, linespacing=1.4)
    assert torch.equal(_pool_pairs(f, pairings["left cosets"]), coset_pool(f))  # the same pairs as the layer
    figure.text(0.5, 0.985, "p4m → p4 coset pooling: pool each $r^k$ with $r^km$, not with $mr^k$ (channel $4 + k$)",
                ha="center", va="top", fontsize=fontsize + 2)
    figure.text(0.5, 0.955, f"{EDGE_RULE}: the blue lines join $h$ and $mh$, the wrong pairs; "
                "colour and number: the pair $k$ of each node", ha="center", va="top", fontsize=fontsize - 1,
                color="#333333")
    return plot


def _pool_pairs(f: torch.Tensor, pairs) -> torch.Tensor:
    """max over each pair of channels: (N, C, 8, H, W) -> (N, C, 4, H, W)."""
    return f[:, :, torch.tensor(pairs)].amax(dim=3)


def _colour_nodes(ax, colouring: dict[int, int], pairs, fontsize: float) -> None:
    """Fill node h with the colour of pair colouring[h], and tag it with k."""
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    layout = {i: np.array(c.center) for i, c in enumerate(circles)}
    for node, circle in enumerate(circles):
        k = colouring[node]
        colour = ELEMENT_COLORS[(0, 1, 3, 4)[k]]  # gold, orange, violet, wine: apart in every vision
        circle.set_facecolor(colour)
        circle.set_alpha(None)
        circle.set_linewidth(2.0)
        for text in ax.texts:
            if np.allclose(text.get_position(), layout[node]):
                text.set_color("white" if k >= 2 else "black")
        x, y = layout[node]
        ax.text(x + 0.2, y + 0.2, str(k), ha="center", va="center", fontsize=fontsize - 2, zorder=6,
                bbox={"boxstyle": "circle,pad=0.15", "facecolor": "white", "edgecolor": "#2b2b2b", "linewidth": 0.8})
