"""Animations of the group action, made with matplotlib.animation and saved as GIF (or MP4).

Every animation is a list of key frames, one per application of a generator g, joined by
in-between frames. Between two key functions A and B on the group, the patch at node h
slides along its edge h -> g h while it turns (r) or flips (m), and its content blends from
A(h) into g^-1 B(g h), the target patch seen in the moving patch's own frame. For an
equivariant map B = L_g A, so g^-1 B(g h) = A(h) and nothing blends: the patches only
move. A planar CNN has no such law, and its feature map changes shape as it turns.

A move takes 0.9 s (18 frames at 20 frames per second; a GIF counts time in hundredths of
a second, so 20 fps plays exactly) and every key frame rests 1.5 s, long enough to read;
while the patches move, the edges are drawn above them, half transparent, so the arrows they
follow stay in sight.

    animate_action(f, r, group="p4")             (a), (b): L_g on a function on any of the ten plane groups
    animate_equivariance(image, gcnn, cnn, path) (c): a G-CNN and a CNN on a rotating digit

The group of a function travels explicitly (``group=``, a name or a group object); left out,
a group axis of size 4 or 8 is read as p4 or p4m (:func:`gcnn_edu.functions.legacy_group`).
``animate_equivariance`` reads the group from the G-CNN's layers.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib import animation
from PIL import Image

from ..equivariance import layer_groups, max_error
from ..functions import act_on_group, act_on_plane, legacy_group
from ..groups import PlaneGroup, PointGroup, PointGroupElement, e, r, resolve_group
from .cayley import edge_point
from .plot import (
    CMAP,
    GroupFunctionPlot,
    PlanarFunctionPlot,
    _function_and_group,
    group_function,
    plot_group_function,
    plot_planar_function,
    spatial_transform,
)

IDENTITY_FRAME = "#fe6100"  # frames the CNN's map and the G-CNN's patch at e alike, when they share a filter

__all__ = ["ActionAnimation", "EquivarianceAnimation", "animate_action", "animate_equivariance",
           "equivariance_animation", "save_animation"]


def _ease(t: float) -> float:
    """Smoothstep: start and stop gently."""
    return t * t * (3 - 2 * t)


def _schedule(steps: int, frames_per_step: int, hold: int) -> list[tuple[int, float]]:
    """Frames as (step, t): each step rests ``hold`` frames on its key, then moves in ``frames_per_step``."""
    frames = []
    for step in range(steps):
        frames += [(step, 0.0)] * hold
        frames += [(step, i / frames_per_step) for i in range(1, frames_per_step + 1)]
    return frames + [(steps - 1, 1.0)] * hold


def _move_group_patches(plot: GroupFunctionPlot, g: PointGroupElement, a: torch.Tensor, b: torch.Tensor,
                        t: float) -> None:
    """The patch that starts at node h (showing a(h)) a fraction t of the way to node g h (showing b(g h)).

    a and b are (|H|, H, W) in the local order of ``plot.group``; g is an element of it."""
    plot.edges_in_flight(0 < t < 1)
    group = plot.group
    for source, h in enumerate(group):
        patch, target = plot.patches[source], group.index(g * h)
        if t <= 0:
            patch.place(plot.layout[source], data=a[source].numpy())
        elif t >= 1:
            patch.place(plot.layout[target], data=b[target].numpy())
        else:
            s = _ease(t)
            seen_from_h = act_on_plane(g.inverse(), b[target])
            data = ((1 - s) * a[source] + s * seen_from_h).numpy()
            patch.place(edge_point(h, g, s), spatial_transform(g, s), data)


def _move_planar_patch(plot: PlanarFunctionPlot, g: PointGroupElement, a: torch.Tensor, b: torch.Tensor,
                       t: float) -> None:
    """A planar map turning (or flipping) by g, its content blending from a into g^-1 b."""
    if t <= 0:
        plot.patch.place((0.0, 0.0), data=a.numpy())
    elif t >= 1:
        plot.patch.place((0.0, 0.0), data=b.numpy())
    else:
        s = _ease(t)
        data = ((1 - s) * a + s * act_on_plane(g.inverse(), b)).numpy()
        plot.patch.place((0.0, 0.0), spatial_transform(g, s), data)


class _Animation:
    """Key frames, a schedule and a figure; ``draw_frame(i)`` draws frame i, ``save`` writes a file.

    Subclasses implement ``_draw(step, t)``; ``unchanged`` tells the GIF writer that a frame
    repeats the one before (a rest on a key frame), so it need not be rendered again.
    """

    figure: plt.Figure
    frames: list[tuple[int, float]]
    fps: int
    unchanged: bool = False
    _state: tuple[int, float] | None = None

    def draw_frame(self, index: int) -> None:
        state = self.frames[index]
        self.unchanged = state == self._state
        self._draw(*state)
        self._state = state

    def _draw(self, step: int, t: float) -> None:
        raise NotImplementedError

    @cached_property
    def animation(self) -> animation.FuncAnimation:
        return animation.FuncAnimation(self.figure, self.draw_frame, frames=len(self.frames),
                                       interval=1000 / self.fps, repeat=True)

    def save(self, path, dpi: float | None = None) -> Path:
        return save_animation(self, path, dpi=dpi)


def _power(operator: str, n: int) -> str:
    """'', 'L_r ', 'L_r^{2} ', ... in math text."""
    return "" if n == 0 else f"{operator} " if n == 1 else f"{operator}^{{{n}}} "


class ActionAnimation(_Animation):
    """L_g applied ``steps`` times to a function f on ``group``, drawn on its Cayley graph."""

    def __init__(self, f: torch.Tensor, g: PointGroupElement, steps: int, frames_per_step: int, hold: int,
                 fps: int, cmap, figsize, fontsize: float, tags: bool = False,
                 group: str | PointGroup | PlaneGroup | None = None):
        f, group = _function_and_group(f, group, None, None)
        group.check_member(g)
        self.g, self.fps, self.steps, self.tagged = g, fps, steps, tags
        self.keys = [f]
        for _ in range(steps):
            self.keys.append(act_on_group(g, self.keys[-1], group))
        self.frames = _schedule(steps, frames_per_step, hold)
        self.figure, ax = plt.subplots(figsize=figsize)
        self.plot = plot_group_function(f, group, ax=ax, cmap=cmap, fontsize=fontsize, legend=group.has_mirrors,
                                        vmin=float(f.min()), vmax=float(f.max()), tags=tags or None)
        self.title = ax.text(0.5, 1.0, "", transform=ax.transAxes, ha="center", va="bottom", fontsize=fontsize + 3)
        self.figure.subplots_adjust(0.01, 0.01, 0.99, 0.9)
        self.draw_frame(0)

    def _draw(self, step: int, t: float) -> None:
        _move_group_patches(self.plot, self.g, self.keys[step], self.keys[step + 1], t)
        if self.tagged:  # the patch that started at h carries the name of the node its content came from
            for h, patch in zip(self.plot.group, self.plot.patches, strict=True):
                patch.set_tag((self.g ** -step * h).label)
        operator = f"L_{{{self.g.label}}}"
        if 0 < t < 1:  # on the way from one key frame to the next
            self.title.set_text(f"${_power(operator, step)}f \\;\\to\\; {_power(operator, step + 1)}f$")
        else:
            applied = step + (t >= 1)
            closed = applied == self.steps and self.g**applied == self.g**0  # back where it started
            self.title.set_text(f"${_power(operator, applied)}f{' = f' if closed else ''}$")


def animate_action(f, g: PointGroupElement | None = None, *, group: str | PointGroup | PlaneGroup | None = None,
                   batch: int | None = None, channel: int | None = None, steps: int | None = None,
                   frames_per_step: int = 18, hold: int = 30, fps: int = 20, path=None, cmap=CMAP, figsize=None,
                   fontsize: float = 13, dpi: float | None = None, tags: bool = False) -> ActionAnimation:
    """Animate L_g on a function on ``group``: every patch slides along its g-edge while it turns/flips.

    ``f`` is (|H|, H, W) or (N, C, |H|, H, W) with ``batch``/``channel`` (see ``plot_group_function``);
    ``group`` is any of the ten plane groups (left out: p4 or p4m for a group axis of size 4 or 8,
    the legacy default). ``g`` is an element of the group, by default its first generator (r for
    p4 and p4m, r^2 for p2, pmm and cmm, the mirror for pm and cm; e for p1).
    ``steps`` applications of g (default: the order of g, 4 for r and 2 for m, so the loop closes).
    The first frame is the plot of f, the last the plot of L_g^steps f, titled "L_g^n f = f"
    when the loop closes. ``tags=True`` tags every patch with the element its content started
    at (a second cue besides colour, see ``plot_group_function``). With ``path`` (.gif, or
    .mp4 where ffmpeg exists) the animation is also saved there. Returns the ActionAnimation,
    whose ``.animation`` is a matplotlib FuncAnimation and ``.figure`` the figure.
    """
    f, H = _function_and_group(f, group, batch, channel)
    if g is None:
        g = H.generators[0] if H.generators else e
    if not isinstance(g, PointGroupElement):
        raise TypeError(f"g must be a group element such as gcnn_edu.groups.r or m, got {type(g).__name__}")
    if steps is None:
        steps = next(n for n in range(1, 5) if g**n == g**0)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    figsize = figsize or ((5.4, 5.4) if H.has_mirrors else (3.8, 4.0))
    movie = ActionAnimation(f, g, steps, frames_per_step, hold, fps, cmap, figsize, fontsize, tags, group=H)
    if path is not None:
        movie.save(path, dpi=dpi)
    return movie


class EquivarianceAnimation(_Animation):
    """A digit turning by r, step by step, next to a CNN's and a G-CNN's feature maps of it, and the
    CNN's failure to commute with the turn, |CNN(r^k x) - r^k CNN(x)|, with a colour bar."""

    def __init__(self, inputs, planar, on_group, steps, frames_per_step, hold, fps, cmap, fontsize,
                 shared_filter: bool = False, group: str | PointGroup | PlaneGroup = "p4"):
        self.inputs, self.planar, self.on_group, self.fps = inputs, planar, on_group, fps
        self.group = resolve_group(group)
        self.group.point_group.check_member(r)  # the digit turns by r
        self.differences = [(map_k - act_on_plane(r**k, planar[0])).abs() for k, map_k in enumerate(planar)]
        self.frames = _schedule(steps, frames_per_step, hold)
        self.figure = plt.figure(figsize=(12.6, 4.3))
        grid = self.figure.add_gridspec(1, 5, width_ratios=(0.9, 0.9, 1.45, 0.9, 0.06), left=0.005, right=0.94,
                                        bottom=0.14, top=0.84, wspace=0.08)
        axes = [self.figure.add_subplot(grid[0, i]) for i in range(4)]
        stacked = torch.stack
        self.input_plot = plot_planar_function(inputs[0], ax=axes[0], cmap="gray", size=1.45,
                                               vmin=float(stacked(inputs).min()), vmax=float(stacked(inputs).max()))
        low = min(float(stacked(planar).min()), float(stacked(on_group).min())) if shared_filter else None
        high = max(float(stacked(planar).max()), float(stacked(on_group).max())) if shared_filter else None
        self.cnn_plot = plot_planar_function(planar[0], ax=axes[1], cmap=cmap, size=1.45,
                                             vmin=float(stacked(planar).min()) if low is None else low,
                                             vmax=float(stacked(planar).max()) if high is None else high)
        self.gcnn_plot = plot_group_function(on_group[0], self.group, ax=axes[2], cmap=cmap, fontsize=fontsize,
                                             vmin=float(stacked(on_group).min()) if low is None else low,
                                             vmax=float(stacked(on_group).max()) if high is None else high)
        largest = max(max(float(d.max()) for d in self.differences), 1e-12)
        self.difference_plot = plot_planar_function(self.differences[0], ax=axes[3], cmap="magma", size=1.45,
                                                    vmin=0.0, vmax=largest)
        bar = self.figure.colorbar(self.difference_plot.image, cax=self.figure.add_subplot(grid[0, 4]))
        bar.ax.tick_params(labelsize=fontsize - 3)
        bar.set_label("|difference|", fontsize=fontsize - 3)
        if shared_filter:  # the CNN's map is the G-CNN's patch at e: frame both alike
            from matplotlib.patches import Rectangle

            from .plot import PATCH
            for ax, centre in ((axes[1], (0.0, 0.0)), (axes[2], self.gcnn_plot.layout[0])):
                ax.add_patch(Rectangle((centre[0] - PATCH * 1.12, centre[1] - PATCH * 1.12), 2.24 * PATCH,
                                       2.24 * PATCH, fill=False, edgecolor=IDENTITY_FRAME, linewidth=3.0, zorder=2))
        titles = ("", "CNN feature map", f"G-CNN feature map on {self.group.name}", "")
        cnn_error = _largest_step_error(act_on_plane, planar)
        gcnn_error = _largest_step_error(lambda g, f: act_on_group(g, f, self.group), on_group)
        cnn_caption = _law("CNN($rx$)", "$r\\,$CNN($x$)", cnn_error, stacked(planar))
        if shared_filter:
            cnn_caption = "same filter: = G-CNN's patch at $e$\n" + cnn_caption.split("\n")[0]
        captions = ("turned by $r$ (90°) each step", cnn_caption,
                    _law("G-CNN($rx$)", "$L_r\\,$G-CNN($x$)", gcnn_error, stacked(on_group)),
                    f"largest {largest:.2g} (largest |CNN($x$)|: {float(stacked(planar).abs().max()):.2g});\n"
                    f"the same for the G-CNN: {gcnn_error:.0g}")
        texts = []
        for ax, title, caption in zip(axes, titles, captions, strict=True):
            box = ax.get_position()
            centre = (box.x0 + box.x1) / 2
            texts.append(self.figure.text(centre, 0.93, title, ha="center", va="center", fontsize=fontsize + 2))
            self.figure.text(centre, 0.06, caption, ha="center", va="center", fontsize=fontsize - 1,
                             color="#333333",
                             linespacing=1.4)
        self.input_title = texts[0]
        self.difference_title = texts[3]
        self.draw_frame(0)

    def _draw(self, step: int, t: float) -> None:
        _move_planar_patch(self.input_plot, r, self.inputs[step], self.inputs[step + 1], t)
        _move_planar_patch(self.cnn_plot, r, self.planar[step], self.planar[step + 1], t)
        _move_group_patches(self.gcnn_plot, r, self.on_group[step], self.on_group[step + 1], t)
        s = _ease(min(max(t, 0.0), 1.0))
        shown = (1 - s) * self.differences[step] + s * self.differences[step + 1]
        self.difference_plot.patch.place((0.0, 0.0), data=shown.numpy())
        k = step + (t >= 1)
        self.input_title.set_text(f"input digit ${_power('r', k)}x$")
        power = "" if k == 0 else "r" if k == 1 else f"r^{{{k}}}"
        self.difference_title.set_text(f"|CNN(${power}x$) $-$ ${power}\\,$CNN($x$)|" if k else
                                       "|CNN($x$) $-$ CNN($x$)|")


def _largest_step_error(action, maps: list[torch.Tensor]) -> float:
    """max over the steps of |L_r map_k - map_(k+1)|: zero for an equivariant network."""
    return max(max_error(action(r, a), b) for a, b in zip(maps[:-1], maps[1:], strict=True))


def _law(left: str, right: str, error: float, values: torch.Tensor) -> str:
    """'left = right' or 'left ≠ right', decided by the measured error relative to the values' size."""
    equal = error <= 1e-4 * max(values.abs().max().item(), 1e-12)
    return f"{left} {'=' if equal else '≠'} {right}\nlargest difference {error:.1g}"


@torch.no_grad()
def equivariance_animation(image: torch.Tensor, gcnn, cnn, channel: int = 0, *, steps: int = 4,
                           frames_per_step: int = 18, hold: int = 30, fps: int = 20, cmap=CMAP,
                           fontsize: float = 13, shared_filter: bool = False,
                           group: str | PointGroup | PlaneGroup | None = None) -> EquivarianceAnimation:
    """The animation of ``animate_equivariance``, not yet saved (see there for the arguments)."""
    image = _check_image(image)
    given = group
    inputs = [torch.rot90(image, k, dims=(0, 1)) for k in range(steps + 1)]
    planar, on_group = [], []
    for x in inputs:
        c = _run(cnn, x, "cnn", 4)
        planar.append(c[0, _channel(channel, c, "cnn")])
        y = _run(gcnn, x, "gcnn", 5)
        group = _output_group(gcnn, given, y)
        on_group.append(group_function(y[0, _channel(channel, y, "gcnn")], group))
    return EquivarianceAnimation(inputs, planar, on_group, steps, frames_per_step, hold, fps, cmap, fontsize,
                                 shared_filter, group)


def _output_group(gcnn, group, y: torch.Tensor) -> PlaneGroup:
    """The group of the G-CNN's output: ``group`` if given, else the output group of its last group
    layer (:func:`gcnn_edu.equivariance.layer_groups`), else the legacy default of its group axis."""
    if group is not None:
        return resolve_group(group)
    layers = layer_groups(gcnn)
    if layers and layers[-1][1] is not None:
        return layers[-1][1]
    return legacy_group(y.shape[2])


def animate_equivariance(image: torch.Tensor, gcnn, cnn, path, channel: int = 0, *, steps: int = 4,
                         frames_per_step: int = 18, hold: int = 30, fps: int = 20, dpi: float = 90,
                         cmap=CMAP, shared_filter: bool = False,
                         group: str | PointGroup | PlaneGroup | None = None) -> Path:
    """Write an animation of equivariance at work to ``path`` (.gif; .mp4 where ffmpeg exists) and return it.

    The digit ``image`` (H, W), H == W, is rotated by r ``steps`` times (4 closes the loop).
    ``gcnn`` maps (1, 1, H, W) to a feature map (1, C, |H|, H', W') on ``group``, a group that
    contains r (p4 or p4m; by default the output group of gcnn's last group layer, or for a
    plain callable p4 / p4m by the size of the group axis, the legacy default) and ``cnn``
    maps (1, 1, H, W) to (1, C, H', W'); channel ``channel`` of each is drawn. Between two
    key frames, the G-CNN's patches slide along the red arrows and turn, and blend into the
    next key frame's patches, as the CNN's map turns and blends into its next one. The
    G-CNN's blend is invisible, since gcnn(r x) = L_r gcnn(x); the CNN's is not.
    A fourth panel shows |cnn(r^k x) - r^k cnn(x)| on a colour bar from 0 to its largest value.
    With ``shared_filter=True`` (the cnn's filter is the gcnn's filter at e, so its map is the
    gcnn's patch at e) the CNN's map and the patch at e are framed alike, and share one colour scale.
    Both models run under ``torch.no_grad()`` in eval mode (their mode is restored afterwards).
    """
    movie = equivariance_animation(image, gcnn, cnn, channel, steps=steps, frames_per_step=frames_per_step,
                                   hold=hold, fps=fps, cmap=cmap, shared_filter=shared_filter, group=group)
    try:
        return movie.save(path, dpi=dpi)
    finally:
        plt.close(movie.figure)


def _check_image(image) -> torch.Tensor:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a torch.Tensor of shape (H, W), got {type(image).__name__}")
    if image.dim() == 3 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 2 or image.shape[0] != image.shape[1]:
        raise ValueError(
            f"image must be one square digit of shape (H, W) with H == W, got shape {tuple(image.shape)}: "
            "pick one from a batch with images[i, 0]"
        )
    return image.detach().to("cpu", torch.float32)


def _run(model, x: torch.Tensor, name: str, dims: int) -> torch.Tensor:
    """model(x[None, None]) in eval mode, on the model's device, back on the CPU as float."""
    parameter = next(iter(model.parameters()), None) if isinstance(model, torch.nn.Module) else None
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None else torch.float32
    training = getattr(model, "training", False)
    if isinstance(model, torch.nn.Module):
        model.eval()
    try:
        y = model(x[None, None].to(device, dtype))
    finally:
        if isinstance(model, torch.nn.Module):
            model.train(training)
    expected = "(1, C, |H|, H', W')" if dims == 5 else "(1, C, H', W')"
    if not isinstance(y, torch.Tensor) or y.dim() != dims or y.shape[0] != 1:
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{name} must map (1, 1, H, W) to a feature map {expected}, got {shape}")
    return y.detach().to("cpu", torch.float32)


def _channel(channel: int, y: torch.Tensor, name: str) -> int:
    if not isinstance(channel, int) or isinstance(channel, bool) or not 0 <= channel < y.shape[1]:
        raise ValueError(f"channel must be an int in 0..{y.shape[1] - 1} for the {name} output of shape "
                         f"{tuple(y.shape)}, got {channel!r}")
    return channel


class _GifWriter(animation.PillowWriter):
    """matplotlib's PillowWriter, rendering and palettising each distinct frame once.

    While the animation rests on a key frame the last image is re-used; Pillow then merges
    the equal frames into one longer frame, so the file is the one PillowWriter would write.
    """

    def __init__(self, movie: _Animation, **kwargs):
        super().__init__(**kwargs)
        self.movie = movie

    def grab_frame(self, **savefig_kwargs):
        if self._frames and self.movie.unchanged:
            self._frames.append(self._frames[-1])
            return
        super().grab_frame(**savefig_kwargs)
        self._frames[-1] = self._frames[-1].convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE)


def save_animation(movie: _Animation | animation.Animation, path, fps: int | None = None,
                   dpi: float | None = None) -> Path:
    """Save an animation as .gif (Pillow, always available) or .mp4 (needs ffmpeg on the PATH).

    ``movie`` is one of this module's animations or any matplotlib Animation.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"save an animation as .gif or .mp4, got {path.name!r}")
    if suffix == ".mp4" and not animation.writers.is_available("ffmpeg"):
        raise RuntimeError(f"writing {path} needs ffmpeg on the PATH: install it, or save as .gif")
    path.parent.mkdir(parents=True, exist_ok=True)
    fps = fps or getattr(movie, "fps", 20)
    if not isinstance(movie, _Animation):
        writer = animation.PillowWriter(fps=fps) if suffix == ".gif" else animation.FFMpegWriter(fps=fps)
        movie.save(path, writer=writer, dpi=dpi)
        return path
    writer = _GifWriter(movie, fps=fps) if suffix == ".gif" else animation.FFMpegWriter(fps=fps)
    if dpi is not None:
        movie.figure.set_dpi(dpi)  # render at the saving resolution, so text layouts are cached across frames
    with writer.saving(movie.figure, path, dpi=movie.figure.dpi):
        for index in range(len(movie.frames)):
            movie.draw_frame(index)
            writer.grab_frame()
    return path
