"""Draw functions on p4 and p4m the way the paper does: one image patch per group element,
placed at its node of the Cayley graph, with red arrows for r and blue lines for m.

A function f on p4 is a stack of four planar patches f(h), h in C4 (shape (4, H, W)); on
p4m eight, h in D4 (shape (8, H, W)). The left action [L_g f](h) = spatial_g(f(g^-1 h))
moves the patch at h to the node g h and transforms it there, so the picture of L_g f is
the picture of f with every patch carried one edge along and turned (or flipped) on the way.

    plot_group_function(f)        f of shape (|H|, H, W), or (N, C, |H|, H, W) with batch=, channel=
    plot_planar_function(x)       a planar map (H, W) in the same style, for side-by-side figures
    draw_cayley_graph(group)      the bare Cayley graph: labelled nodes and coloured edges

The edges are those of left multiplication, h -> g h (see :mod:`gcnn_edu.viz.cayley`); the
mirrored nodes carry both names, e.g. "mr = r^3m". Colour is never the only cue: with
``tags`` every patch carries a small label (by default the element it starts at), which
travels with the patch when it moves.

Every function draws on a given ``ax`` (or a new figure) and returns what it drew, so tests
and notebooks can read the artists' data back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import Normalize
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import Affine2D

from ..groups import PlaneGroup, PointGroup, PointGroupElement, point_group
from .cayley import (
    GENERATOR_COLORS,
    INNER_RADIUS,
    OUTER_RADIUS,
    cayley_layout,
    edge_point,
    math_label,
    node_label,
    right_reading,
)

__all__ = [
    "GroupFunctionPlot",
    "PlanarFunctionPlot",
    "plot_group_function",
    "plot_planar_function",
    "draw_cayley_graph",
    "group_function",
    "planar_function",
    "spatial_transform",
    "generator_legend",
]

PATCH = 0.34  # half the side of a patch, in units of the inner radius
FRAME_COLOR = "#2b2b2b"
CMAP = "viridis"
EDGE_ALPHA_IN_FLIGHT = 0.55  # while patches move, the edges stay visible above them at this opacity
TAG_CORNER = (-1.0, 1.0)  # a patch's tag sits on its top-left corner (in the patch's own frame)


# ----------------------------------------------------------------------------- choosing the map to draw


def group_function(f, group: str | PointGroup | PlaneGroup | None = None, *,
                   batch: int | None = None, channel: int | None = None) -> torch.Tensor:
    """The function on p4 / p4m to draw, as a float tensor (|H|, H, W).

    ``f`` is (|H|, H, W), or a feature map (N, C, |H|, H, W) from which ``batch`` and
    ``channel`` pick one (an axis of size 1 needs no choice). |H| must be 4 (p4) or 8 (p4m),
    and match ``group`` when one is given.
    """
    f = _as_tensor(f, "f")
    if f.dim() == 5:
        f = _choose(f, batch, channel, "(N, C, |H|, H, W)")
    elif f.dim() == 3:
        _no_choice(batch, channel, f)
    else:
        raise ValueError(
            f"expected a function on p4 or p4m of shape (|H|, H, W), or a feature map (N, C, |H|, H, W) "
            f"with batch= and channel=, got shape {tuple(f.shape)}"
        )
    size = f.shape[0]
    expected = (point_group(group).order,) if group is not None else (4, 8)
    if size not in expected:
        wanted = " or ".join(f"{n} ({'p4' if n == 4 else 'p4m'})" for n in expected)
        raise ValueError(
            f"the group axis of a function on p4 has size 4 and on p4m size 8: expected {wanted}, "
            f"got size {size} in shape {tuple(f.shape)}"
            + (": a planar map goes to plot_planar_function" if size == 1 else "")
        )
    return f


def planar_function(x, *, batch: int | None = None, channel: int | None = None) -> torch.Tensor:
    """The planar map to draw, as a float tensor (H, W): ``x`` is (H, W) or (N, C, H, W) with
    ``batch`` and ``channel`` picking one (an axis of size 1 needs no choice)."""
    x = _as_tensor(x, "x")
    if x.dim() == 4:
        return _choose(x, batch, channel, "(N, C, H, W)")
    if x.dim() == 2:
        _no_choice(batch, channel, x)
        return x
    hint = ": a function on p4/p4m goes to plot_group_function" if x.dim() in (3, 5) else ""
    raise ValueError(
        f"expected a planar map (H, W), or a feature map (N, C, H, W) with batch= and channel=, "
        f"got shape {tuple(x.shape)}{hint}"
    )


def _as_tensor(f, name: str) -> torch.Tensor:
    if isinstance(f, np.ndarray):
        f = torch.from_numpy(f)
    if not isinstance(f, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(f).__name__}")
    return f.detach().to("cpu", torch.float32)


def _choose(f: torch.Tensor, batch, channel, layout: str) -> torch.Tensor:
    for axis, (name, value) in enumerate((("batch", batch), ("channel", channel))):
        size = f.shape[axis]
        if value is None and size > 1:
            raise ValueError(
                f"a feature map {layout} of shape {tuple(f.shape)} has {size} {name} entries on axis {axis}: "
                f"choose one to draw with {name}=0..{size - 1}"
            )
        value = 0 if value is None else value
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < size:
            raise ValueError(f"{name} must be an int in 0..{size - 1} for shape {tuple(f.shape)}, got {value!r}")
    return f[batch or 0, channel or 0]


def _no_choice(batch, channel, f: torch.Tensor) -> None:
    if batch is not None or channel is not None:
        raise ValueError(
            f"batch= and channel= pick from a feature map with batch and channel axes; "
            f"this one has shape {tuple(f.shape)}, so leave them out"
        )


# ----------------------------------------------------------------------------- one patch


def spatial_transform(g: PointGroupElement, t: float = 1.0) -> Affine2D:
    """The display of the spatial action of g = m^j r^k on a patch centred at 0, a fraction t of the way.

    At t = 1 the patch drawn with this transform looks exactly like ``act_on_plane(g, patch)``
    drawn upright: r turns it 90 degrees counter-clockwise, m flips it upside down (rows).
    In between it turns by t of the angle and flips like a card (its height scales by cos(pi t)).
    """
    quarter_turns = g.k if g.k < 3 else -1  # r^3 turns back a quarter, not forward three
    motion = Affine2D().rotate_deg(90 * quarter_turns * t)
    if g.j:
        flip = np.cos(np.pi * t)
        motion.scale(1, np.sign(flip) * max(abs(flip), 0.03) if t < 1 else -1.0)  # never singular
    return motion


class _Patch:
    """One image patch with a frame, centred at 0 in its own coordinates and placed by a transform.

    With a ``tag`` the patch also carries a small upright label on its top-left corner; the
    corner turns and flips with the patch, so the tag shows where the patch's top-left went.
    """

    def __init__(self, ax, data: np.ndarray, half: float, norm: Normalize, cmap, zorder: float = 3,
                 tag: str | None = None, tag_size: float = 8):
        self.ax, self.half = ax, half
        self.tag: Text | None = None
        if tag is not None:
            self.tag = ax.text(0, 0, math_label(tag), ha="center", va="center", fontsize=tag_size, zorder=zorder + 0.3,
                               bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": FRAME_COLOR,
                                     "linewidth": 0.6})
        extent = (-half, half, -half, half)
        self.image: AxesImage = ax.imshow(data, extent=extent, origin="upper", cmap=cmap, norm=norm,
                                          interpolation="nearest", zorder=zorder)
        self.frame = Rectangle((-half, -half), 2 * half, 2 * half, fill=False, edgecolor=FRAME_COLOR,
                               linewidth=1.2, zorder=zorder + 0.1)
        ax.add_patch(self.frame)
        self.place((0.0, 0.0))

    def place(self, centre, motion: Affine2D | None = None, data: np.ndarray | None = None) -> None:
        """Draw the patch transformed by ``motion`` (about its centre), then moved to ``centre``."""
        placement = Affine2D(motion.get_matrix() if motion is not None else None).translate(*centre)
        self.placement = placement
        self.image.set_transform(placement + self.ax.transData)
        self.frame.set_transform(placement + self.ax.transData)
        if self.tag is not None:
            self.tag.set_position(placement.transform(self.half * np.array(TAG_CORNER)))
        if data is not None:
            self.image.set_data(data)

    def set_tag(self, tag: str) -> None:
        if self.tag is not None:
            self.tag.set_text(math_label(tag))

    @property
    def centre(self) -> np.ndarray:
        return self.placement.transform(np.zeros(2))

    @property
    def upright(self) -> bool:
        return np.allclose(self.placement.get_matrix()[:2, :2], np.eye(2))


# ----------------------------------------------------------------------------- functions on p4 / p4m


@dataclass
class GroupFunctionPlot:
    """What ``plot_group_function`` drew: the patches (one per element), the layout and the colour scale."""

    ax: plt.Axes
    group: PointGroup
    layout: dict[int, np.ndarray]
    norm: Normalize
    patches: list[_Patch] = field(default_factory=list)  # patches[i] starts at node i
    edges: list = field(default_factory=list)  # the edge artists (arrows and lines)

    @property
    def images(self) -> list[AxesImage]:
        return [patch.image for patch in self.patches]

    def tags(self) -> dict[int, str]:
        """{node: the tag on the upright patch at that node}, read back from the artists."""
        out = {}
        for patch in self.patches:
            if patch.tag is None or not patch.upright:
                continue
            for node, position in self.layout.items():
                if np.allclose(patch.centre, position, atol=1e-9):
                    out[node] = patch.tag.get_text().strip("$")
        return out

    def edges_in_flight(self, moving: bool) -> None:
        """While patches move, draw the edges above them, half transparent; at rest, opaque."""
        for edge in self.edges:
            edge.set_alpha(EDGE_ALPHA_IN_FLIGHT if moving else None)

    def drawn(self) -> dict[int, np.ndarray]:
        """{node: the array of the upright patch drawn at that node}, read back from the artists."""
        out = {}
        for patch in self.patches:
            if not patch.upright:
                continue
            for node, position in self.layout.items():
                if np.allclose(patch.centre, position, atol=1e-9):
                    out[node] = np.asarray(patch.image.get_array())
        return out

    def show(self, f: torch.Tensor) -> None:
        """Put f(h) upright at node h, for every h (f of shape (|H|, H, W))."""
        for h, patch in enumerate(self.patches):
            patch.place(self.layout[h], data=f[h].numpy())


def plot_group_function(f, group: str | PointGroup | PlaneGroup | None = None, *, batch: int | None = None,
                        channel: int | None = None, ax=None, cmap=CMAP, vmin: float | None = None,
                        vmax: float | None = None, title: str | None = None, fontsize: float = 13,
                        legend: bool = False, tags=None, tag_size: float = 8) -> GroupFunctionPlot:
    """Draw f on the Cayley graph of C4 (|H| = 4) or D4 (|H| = 8): the patch f(h) at node h.

    Rotation edges h -> r h are red arrows, mirror edges h <-> m h blue lines (left
    multiplication: the edge labelled g runs from h to g h). The colour scale is shared by all
    patches (``vmin``/``vmax``, by default the range of f), so equal values look equal
    everywhere; pass the same limits to plots that are compared.

    ``tags`` puts a second cue besides colour on every patch: ``True`` tags the patch at h
    with h's name, a list of |H| strings (math text without $) tags the patch at node h with
    ``tags[h]``; for L_g f, tagging node h with g^-1 h names where each patch came from.
    """
    f = group_function(f, group, batch=batch, channel=channel)
    group = point_group({4: "C4", 8: "D4"}[f.shape[0]])
    ax = ax if ax is not None else _new_axes(group)
    norm = _norm(f, vmin, vmax)
    plot = GroupFunctionPlot(ax, group, cayley_layout(group), norm)
    plot.edges = _draw_edges(ax, group, clearance=PATCH, shape="square")
    tags = _tags(tags, group)
    plot.patches = [_Patch(ax, f[h.index].numpy(), PATCH, norm, cmap, tag=None if tags is None else tags[h.index],
                           tag_size=tag_size) for h in group]
    plot.show(f)
    _draw_labels(ax, group, offset=PATCH, fontsize=fontsize)
    # room for the patches, and for the labels outside the outer ring of D4 (two lines left and right)
    _finish(ax, group, title, fontsize, legend, reach=PATCH + (0.1 if group.order == 4 else 0.72))
    return plot


def _tags(tags, group: PointGroup) -> list[str] | None:
    if tags is None or tags is False:
        return None
    if tags is True:
        return [h.label for h in group]
    tags = list(tags)
    if len(tags) != group.order or not all(isinstance(tag, str) for tag in tags):
        raise ValueError(f"tags must be True or a list of {group.order} strings, one per element of {group.name}, "
                         f"got {tags!r}")
    return tags


# ----------------------------------------------------------------------------- planar functions


@dataclass
class PlanarFunctionPlot:
    """What ``plot_planar_function`` drew: one patch at the centre of the axes."""

    ax: plt.Axes
    norm: Normalize
    patch: _Patch

    @property
    def image(self) -> AxesImage:
        return self.patch.image


def plot_planar_function(x, *, batch: int | None = None, channel: int | None = None, ax=None, cmap=CMAP,
                         vmin: float | None = None, vmax: float | None = None, title: str | None = None,
                         label: str | None = None, fontsize: float = 13, size: float = 1.0) -> PlanarFunctionPlot:
    """Draw a planar map (H, W) as one framed patch, in the style of ``plot_group_function``.

    ``size`` is the half-width of the axes in units of the patch, so 1.0 fills them; ``label``
    goes under the patch in math text (e.g. ``'x'`` or ``'L_r x'``).
    """
    x = planar_function(x, batch=batch, channel=channel)
    ax = ax if ax is not None else plt.subplots(figsize=(2.4, 2.6))[1]
    norm = _norm(x, vmin, vmax)
    patch = _Patch(ax, x.numpy(), PATCH, norm, cmap)
    reach = PATCH * max(size, 1.0) * 1.08
    ax.set_xlim(-reach, reach)
    ax.set_ylim(-reach - (0.25 if label else 0.0), reach)
    if label:
        ax.text(0, -PATCH - 0.06, math_label(label), ha="center", va="top", fontsize=fontsize)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=fontsize)
    return PlanarFunctionPlot(ax, norm, patch)


# ----------------------------------------------------------------------------- the bare Cayley graph


def draw_cayley_graph(group: str | PointGroup | PlaneGroup = "p4", ax=None, title: str | None = None,
                      fontsize: float = 14, legend: bool = True) -> plt.Axes:
    """Draw the Cayley graph of C4 or D4: labelled nodes, red r-arrows, blue m-lines."""
    group = point_group(group)
    ax = ax if ax is not None else _new_axes(group)
    radius = 0.27
    _draw_edges(ax, group, clearance=radius, shape="circle")
    for h, (x, y) in cayley_layout(group).items():
        ax.add_patch(Circle((x, y), radius, facecolor="white", edgecolor=FRAME_COLOR, linewidth=1.5, zorder=3))
        element = group[h]
        size = fontsize * (0.8 if element.label.startswith("mr") else 1.0)  # mr^k is the widest
        ax.text(x, y, math_label(element.label), ha="center", va="center", fontsize=size, zorder=4)
        if right_reading(element) != element.label:  # the mirror-on-the-right name, just outside the node
            _outside_text(ax, np.array([x, y]), radius + 0.04, f"$= {right_reading(element)}$", fontsize * 0.8,
                          color="#555555")
    _finish(ax, group, title, fontsize, legend, reach=radius + (0.12 if group.order == 4 else 0.5))
    return ax


def _outside_text(ax, position: np.ndarray, offset: float, text: str, fontsize: float, **kwargs) -> Text:
    """Text just outside a node of the outer ring, on the far side from the centre."""
    outward = position / np.hypot(*position)
    x, y = position + outward * offset
    ha = {1: "left", -1: "right"}.get(int(round(outward[0])), "center")
    va = {1: "bottom", -1: "top"}.get(int(round(outward[1])), "center")
    return ax.text(x, y, text, ha=ha, va=va, fontsize=fontsize, zorder=4, **kwargs)


# ----------------------------------------------------------------------------- shared drawing


def _new_axes(group: PointGroup) -> plt.Axes:
    side = 3.4 if group.order == 4 else 5.2
    return plt.subplots(figsize=(side, side))[1]


def _norm(f: torch.Tensor, vmin, vmax) -> Normalize:
    low = float(f.min()) if vmin is None else vmin
    high = float(f.max()) if vmax is None else vmax
    if high <= low:
        low, high = low - 0.5, low + 0.5  # a constant map: any range shows it
    return Normalize(low, high)


def _draw_edges(ax, group: PointGroup, clearance: float, shape: str) -> list:
    """Red arrows along the rings for r; one blue line per pair {h, m h} for m. Returns the artists.

    They are drawn above the patches (zorder 3.5): at rest they stop short of every patch, and
    while patches move along them (``GroupFunctionPlot.edges_in_flight``) they stay visible.
    """
    layout = cayley_layout(group)
    gap = 0.06
    artists = []

    def clear(points, node):
        d = points - layout[node]
        distance = np.abs(d).max(axis=-1) if shape == "square" else np.hypot(d[:, 0], d[:, 1])
        return distance > clearance + gap

    for g in group.generators:
        for h in group:
            if g.j and h.j:  # m h -> h is the same line as h -> m h
                continue
            points = edge_point(h, g, np.linspace(0, 1, 120))
            points = points[clear(points, h.index) & clear(points, (g * h).index)]
            color = GENERATOR_COLORS[g.label]
            if g.j:
                artists.append(ax.add_line(Line2D(*points[[0, -1]].T, color=color, linewidth=2.4,
                                                  solid_capstyle="round", zorder=3.5)))
            else:
                arrow = FancyArrowPatch(path=Path(points), arrowstyle="-|>,head_length=0.55,head_width=0.3",
                                        mutation_scale=18, color=color, linewidth=2.2, zorder=3.5)
                artists.append(ax.add_patch(arrow))
    return artists


def _draw_labels(ax, group: PointGroup, offset: float, fontsize: float) -> None:
    """Labels of the inner ring inside it, of the outer ring outside it, just off the patch.

    A mirrored node gets both readings, "mr = r^3m"; beside the graph (left, right) they are
    stacked on two lines to keep the figure narrow.
    """
    for h, position in cayley_layout(group).items():
        element = group[h]
        outward = position / np.hypot(*position) * (1 if element.j else -1)  # a unit vector along an axis
        x, y = position + outward * (offset + 0.05)
        ha = {1: "left", -1: "right"}.get(int(round(outward[0])), "center")
        va = {1: "bottom", -1: "top"}.get(int(round(outward[1])), "center")
        beside = abs(outward[0]) > 0.5
        ax.text(x, y, node_label(element, "\n" if beside else " "), ha=ha, va=va, fontsize=fontsize, zorder=4,
                multialignment="center", linespacing=1.1)


def generator_legend(group: str | PointGroup | PlaneGroup, fontsize: float = 11) -> list[Line2D]:
    """Legend handles for the edges: a red arrow for r and (for D4) a blue line for m."""
    handles = [Line2D([], [], color=GENERATOR_COLORS["r"], linewidth=2.2, marker=">", markersize=7,
                      label=r"$r$: $h \to rh$")]  # left multiplication, as the edges are drawn
    if point_group(group).has_mirrors:
        handles.append(Line2D([], [], color=GENERATOR_COLORS["m"], linewidth=2.4, label=r"$m$: $h \to mh$"))
    return handles


def _finish(ax, group: PointGroup, title, fontsize, legend: bool, reach: float) -> None:
    """Square limits ``reach`` beyond the outer ring (plus room for a legend underneath)."""
    reach += INNER_RADIUS if group.order == 4 else OUTER_RADIUS
    below = 0.4 if legend else 0.0  # room for the legend under the graph
    ax.set_xlim(-reach, reach)
    ax.set_ylim(-reach - below, reach)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    if legend:
        ax.legend(handles=generator_legend(group), loc="lower center", ncol=2, fontsize=fontsize - 2, frameon=False,
                  bbox_to_anchor=(0.5, 0.0), handlelength=1.8, columnspacing=2.0, borderaxespad=0.0)
