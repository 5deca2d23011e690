"""The lifting correlation at work, animated: one filter, |H| transformed copies, |H| output planes.

The first layer of a G-CNN lifts a planar image x to a function on a plane group (p4, p4m,
or any of the ten, ``group=``) by correlating it with every transformed copy of one filter ψ
(Cohen & Welling 2016, section 6.1):

    [x ⋆ ψ](g) = Σ_y x(y) ψ(g^-1 y),   i.e. the plane at h is x correlated with L_h ψ.

The animation shows it in two acts:

1. for each h in H in turn, the filter L_h ψ (drawn above the digit) slides down the digit,
   and the plane at node h of the Cayley graph fills row by row with x ⋆ L_h ψ;
2. the digit turns by r (or, on a group without r, is moved by its first generator g), and the
   filled planes move along the g-edges and turn: the lifting of g x is L_g of the lifting of x,
   rolled and turned, not recomputed.

    animate_lifting(digit, psi, "p4", padding=2, path="lifting.gif")

Every plane is cut from the fast path's output (``gcnn_edu.fast.lifting_correlation``) and
every filter drawn from its bank, so the picture is what the layer computes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import ConnectionPatch, Rectangle

from .. import fast
from ..functions import act_on_group, act_on_plane
from ..groups import PlaneGroup, PointGroup, PointGroupElement, point_group, r, resolve_group
from .animation import _Animation, _move_group_patches, _move_planar_patch, _power
from .cayley import EDGE_RULE
from .plot import CMAP, PATCH, plot_group_function, plot_planar_function

__all__ = ["LiftingAnimation", "lifting_animation", "animate_lifting"]

FILTER_CMAP = "PuOr_r"  # filters have both signs: a diverging map, neither red nor blue like the edges
WINDOW_COLOR = "#fe6100"


class LiftingAnimation(_Animation):
    """The frames of ``animate_lifting``: see there. ``planes`` is x ⋆ ψ (|H|, H', W'), ``turned`` (r x) ⋆ ψ."""

    def __init__(self, digit: torch.Tensor, bank: torch.Tensor, planes: torch.Tensor, turned: torch.Tensor,
                 group: PointGroup, padding: int, rows_per_frame: int, hold: int, frames_per_turn: int,
                 fps: int, cmap, fontsize: float, g: PointGroupElement = r):
        self.digit, self.bank, self.planes, self.turned, self.g = digit, bank, planes, turned, g
        self.group, self.padding, self.fps = group, padding, fps
        self.kernel_size = bank.shape[-1]
        height = planes.shape[-2]
        self.fill_steps = -(-height // rows_per_frame)  # frames to fill one plane
        self.rows_per_frame = rows_per_frame
        # the schedule: ("fill", h, rows) frames, ("rest", h) after each plane, then ("turn", t)
        frames: list[tuple] = []
        for h in range(group.order):
            frames += [("fill", h, min(height, (i + 1) * rows_per_frame)) for i in range(self.fill_steps)]
            frames += [("fill", h, height)] * (hold // 3)
        frames += [("full", 0, 0)] * hold
        frames += [("turn", i / frames_per_turn, 0) for i in range(1, frames_per_turn + 1)]
        frames += [("turn", 1.0, 0)] * hold
        self.frames = frames

        self.figure = plt.figure(figsize=(10.8, 6.0) if group.has_mirrors else (9.6, 5.0))
        grid = self.figure.add_gridspec(2, 2, width_ratios=(1.0, 1.7), height_ratios=(0.9, 2.0), left=0.01,
                                        right=0.99, bottom=0.07, top=0.86, wspace=0.05, hspace=0.12)
        self.filter_ax = self.figure.add_subplot(grid[0, 0])
        self.digit_ax = self.figure.add_subplot(grid[1, 0])
        self.graph_ax = self.figure.add_subplot(grid[:, 1])
        limit = float(bank.abs().max())
        self.filter_plot = plot_planar_function(bank[0], ax=self.filter_ax, cmap=FILTER_CMAP, vmin=-limit,
                                                vmax=limit, size=1.0)
        self.filter_label = self.filter_ax.text(PATCH * 1.25, 0, "", ha="left", va="center", fontsize=fontsize + 1)
        self.filter_ax.set_xlim(-PATCH * 1.1, PATCH * 4.2)
        self.digit_plot = plot_planar_function(digit, ax=self.digit_ax, cmap="gray", size=1.1,
                                               vmin=float(digit.min()), vmax=float(digit.max()))
        self.digit_label = self.digit_ax.text(0, -PATCH * 1.12, "", ha="center", va="top", fontsize=fontsize)
        self.digit_ax.set_ylim(-PATCH * 1.35, PATCH * 1.1)
        pixel = 2 * PATCH / digit.shape[-1]
        self.window = Rectangle((0, 0), self.kernel_size * pixel, self.kernel_size * pixel, fill=False,
                                edgecolor=WINDOW_COLOR, linewidth=2.2, zorder=6)
        self.digit_ax.add_patch(self.window)
        self.pixel = pixel
        both = torch.stack([planes, turned])
        self.low, self.high = float(both.min()), float(both.max())
        self.graph = plot_group_function(planes, group, ax=self.graph_ax, cmap=cmap, vmin=self.low, vmax=self.high,
                                         fontsize=fontsize, legend=group.has_mirrors)
        self.arrow = ConnectionPatch((PATCH * 1.1, 0), (0, 0), coordsA=self.filter_ax.transData,
                                     coordsB=self.graph_ax.transData, arrowstyle="-|>", mutation_scale=16,
                                     color=WINDOW_COLOR, linewidth=1.6, linestyle="--", zorder=7)
        self.figure.add_artist(self.arrow)
        self.title = self.figure.text(0.5, 0.975, "", ha="center", va="top", fontsize=fontsize + 2)
        self.figure.text(0.5, 0.015, f"plane at node $h$ = digit correlated with $L_h\\psi$;  {EDGE_RULE}",
                         ha="center", va="bottom", fontsize=fontsize - 2, color="#333333")
        self.draw_frame(0)

    def _partial(self, upto_plane: int, rows: int) -> torch.Tensor:
        """The planes filled so far: all rows of planes before ``upto_plane``, ``rows`` rows of it, blank after."""
        shown = torch.full_like(self.planes, float("nan"))
        shown[:upto_plane] = self.planes[:upto_plane]
        shown[upto_plane, :rows] = self.planes[upto_plane, :rows]
        return shown

    def _place_window(self, row: int) -> None:
        """The k x k window whose correlation gives output row ``row`` (middle column), on the digit."""
        k, pixel = self.kernel_size, self.pixel
        column = (self.planes.shape[-1] - 1) // 2
        top_row, left_column = row - self.padding, column - self.padding
        self.window.set_xy((-PATCH + left_column * pixel, PATCH - (top_row + k) * pixel))

    def _draw(self, kind, a, b) -> None:
        G = self.group
        self.window.set_visible(kind == "fill")
        self.arrow.set_visible(kind == "fill")
        self.filter_ax.set_visible(kind == "fill")
        if kind == "fill":
            h, rows = a, b
            self.graph.show(self._partial(h, rows))
            self.graph.edges_in_flight(False)
            self.filter_plot.patch.place((0.0, 0.0), data=self.bank[h].numpy())
            self.filter_label.set_text(f"$L_{{{G[h].label}}}\\psi$")
            self._place_window(max(rows - 1, 0))
            self.arrow.xy2 = tuple(self.graph.layout[h])
            self.digit_plot.patch.place((0.0, 0.0), data=self.digit.numpy())
            self.digit_label.set_text("digit $x$")
            self.title.set_text(f"lifting: the plane at ${G[h].label}$ is $x \\star L_{{{G[h].label}}}\\psi$, "
                                f"filled as $L_{{{G[h].label}}}\\psi$ slides over $x$")
        elif kind == "full":
            self.graph.show(self.planes)
            self.digit_label.set_text("digit $x$")
            self.title.set_text(f"$x \\star \\psi$: a function on {resolve_group(G).name}, "
                                f"one plane per element, {G.order} filters from one")
        else:
            t, g = a, self.g.label
            verb = "turn" if self.g.is_rotation else "flip"
            _move_planar_patch(self.digit_plot, self.g, self.digit, act_on_plane(self.g, self.digit), t)
            _move_group_patches(self.graph, self.g, self.planes, self.turned, t)
            self.digit_label.set_text(f"digit ${_power(g, int(t >= 1))}x$")
            self.title.set_text(f"{verb} the digit by ${g}$: $({g}x) \\star \\psi = L_{{{g}}}(x \\star \\psi)$, "
                                "the planes arrive rolled and turned" if t >= 1 else
                                f"{verb} the digit by ${g}$ ...")


@torch.no_grad()
def lifting_animation(digit, psi, group: str | PointGroup | PlaneGroup = "p4", *, padding: int = 0,
                      rows_per_frame: int = 3, hold: int = 30, frames_per_turn: int = 18, fps: int = 20,
                      cmap=CMAP, fontsize: float = 12, g: PointGroupElement | None = None) -> LiftingAnimation:
    """The animation of ``animate_lifting``, not yet saved (see there for the arguments)."""
    digit = _check_square(digit, "digit")
    psi = _check_square(psi, "psi")
    G = point_group(group)
    g = _moving_element(G, g)
    weight = psi[None, None, None]  # (C_out, C_in, |H_in| = 1, k, k)
    bank = fast.transform_filter(weight, fast.channel_index(G.name, 1, 1, psi.shape[-1]), G.order)[:, 0]
    planes = fast.lifting_correlation(digit[None, None], weight, G.name, padding=padding)[0, 0]
    turned = fast.lifting_correlation(act_on_plane(g, digit)[None, None], weight, G.name, padding=padding)[0, 0]
    if not torch.allclose(turned, act_on_group(g, planes, G), atol=1e-5 * max(float(planes.abs().max()), 1e-12)):
        raise AssertionError("the lifting correlation should satisfy (g x) * psi = L_g (x * psi)")  # pragma: no cover
    return LiftingAnimation(digit, bank, planes, turned, G, padding, rows_per_frame, hold, frames_per_turn, fps,
                            cmap, fontsize, g)


def _moving_element(G: PointGroup, g) -> PointGroupElement:
    """The element the digit is moved by in the second act: ``g``, by default r where G has it,
    else G's first generator."""
    if g is None:
        if r in G:
            return r
        if not G.generators:
            raise ValueError(f"{resolve_group(G).name} has no element but e to move the digit by: the lifting "
                             "onto p1 is a planar correlation; animate a group with rotations or mirrors")
        return G.generators[0]
    return G.check_member(g)


def animate_lifting(digit, psi, group: str | PointGroup | PlaneGroup = "p4", *, padding: int = 0, path=None,
                    rows_per_frame: int = 3, hold: int = 30, frames_per_turn: int = 18, fps: int = 20, cmap=CMAP,
                    fontsize: float = 12, dpi: float | None = None, g: PointGroupElement | None = None
                    ) -> LiftingAnimation:
    """Animate the lifting correlation of a digit (H, W), H == W, with a planar filter ψ (k, k).

    For each element h of the point group of ``group`` (any of the ten plane groups but p1,
    pass it explicitly), L_h ψ slides down the digit (``rows_per_frame`` output rows per frame)
    and fills the plane at node h; then the digit is moved by ``g`` (by default r, or the
    group's first generator where it has no r) and the planes move to where L_g puts them. ``padding``
    is the layer's zero padding. With ``path`` (.gif; .mp4 where ffmpeg exists) the animation
    is saved there. Returns the LiftingAnimation: ``.graph`` is the GroupFunctionPlot of the
    planes, ``.filter_plot`` the filter drawn, ``.planes`` the fast path's x ⋆ ψ.
    """
    movie = lifting_animation(digit, psi, group, padding=padding, rows_per_frame=rows_per_frame, hold=hold,
                              frames_per_turn=frames_per_turn, fps=fps, cmap=cmap, fontsize=fontsize, g=g)
    if path is not None:
        movie.save(path, dpi=dpi)
    return movie


def _check_square(x, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (H, W), got {type(x).__name__}")
    x = x.detach().to("cpu", torch.float32)
    while x.dim() > 2 and x.shape[0] == 1:
        x = x[0]
    if x.dim() != 2 or x.shape[0] != x.shape[1]:
        raise ValueError(f"{name} must be one square map (H, W) with H == W, got shape {tuple(x.shape)}")
    return x
