"""Pictures of all ten plane groups: Cayley graphs with each group's generators, functions drawn on
them, the action L_g for every element, and no group read off the size of a group axis.

Everything is checked on the artists' data (node positions, edge paths, image arrays and
transforms), against the groups of ``gcnn_edu.groups`` and the action ``functions.act``.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch  # noqa: E402

from gcnn_edu.functions import act, act_on_plane  # noqa: E402
from gcnn_edu.groups import D4, PLANE_GROUPS, e, m, r, resolve_group  # noqa: E402
from gcnn_edu.viz import (  # noqa: E402
    GENERATOR_COLORS,
    animate_action,
    cayley_graph,
    cayley_layout,
    draw_cayley_graph,
    edge_style,
    generator_legend,
    group_function,
    plot_filter_bank,
    plot_group_function,
)
from gcnn_edu.viz.animation import ActionAnimation  # noqa: E402

TEN = [pytest.param(G, id=G.name) for G in PLANE_GROUPS]
EVERY_ELEMENT = [pytest.param(G, g, id=f"{G.name}-{g.label}") for G in PLANE_GROUPS for g in G.point_group]
RED, ORANGE, BLUE = GENERATOR_COLORS["r"], GENERATOR_COLORS["r^2"], GENERATOR_COLORS["m"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def feature_map(G, size=5, seed=0):
    """A random map (1, 1, |H|, size, size) on G."""
    order = G.point_group.order
    return torch.randn(1, 1, order, size, size, generator=torch.Generator().manual_seed(seed))


def expected_edges(H):
    """{(a, b, generator label)}: one edge H.index(h) -> H.index(g h) per generator g and element h."""
    return {(H.index(h), H.index(g * h), g.label) for g in H.generators for h in H}


# ----------------------------------------------------------------------------- the graphs as data


@pytest.mark.parametrize("G", TEN)
def test_graph_nodes_are_the_elements_and_edges_are_left_multiplication_by_generators(G):
    H = G.point_group
    graph = cayley_graph(G.name)
    assert sorted(graph.nodes) == list(range(H.order))
    assert [graph.nodes[i]["element"] for i in sorted(graph)] == list(H.elements)
    assert [graph.nodes[i]["d4_index"] for i in sorted(graph)] == [h.index for h in H]
    assert {(a, b, label) for a, b, label in graph.edges(data="generator")} == expected_edges(H)
    assert graph.number_of_edges() == H.order * len(H.generators)
    assert nx.is_strongly_connected(graph)  # the generators generate the group
    for a, b, data in graph.edges(data=True):
        (g,) = [g for g in H.generators if g.label == data["generator"]]
        assert H[b] == g * H[a] and data["color"] == edge_style(g).color and data["kind"] == edge_style(g).kind


@pytest.mark.parametrize("G", TEN)
def test_every_element_sits_where_it_sits_in_the_D4_picture(G):
    H = G.point_group
    layout, d4 = cayley_layout(G), cayley_layout(D4)
    assert sorted(layout) == list(range(H.order))
    for h in H:
        np.testing.assert_array_equal(layout[H.index(h)], d4[h.index])


def test_generator_styles():
    assert edge_style(r).color == RED and edge_style(r).directed and edge_style(r).linestyle == "-"
    assert edge_style(r**3).kind == "rotation"
    assert edge_style(r**2).color == ORANGE and edge_style(r**2).linestyle == "--" and edge_style(r**2).directed
    for s in (m, m * r, m * r**2, m * r**3):
        assert edge_style(s).color == BLUE and not edge_style(s).directed
    with pytest.raises(ValueError, match="other than e"):
        edge_style(e)


# ----------------------------------------------------------------------------- the graphs as drawn


def drawn_edges(ax, H):
    """{(a, b, colour, linestyle)} read back from the edge artists: each path's ends, matched to the
    nearest nodes; a mirror line (no direction) gives both (a, b) and (b, a)."""
    layout = cayley_layout(H)
    nodes = np.stack([layout[i] for i in range(H.order)])

    def nearest(point):
        distances = np.linalg.norm(nodes - point, axis=1)
        assert distances.min() < 0.45, f"an edge ends at {point}, far from every node"
        return int(distances.argmin())

    found = set()
    for artist in ax.patches:
        if isinstance(artist, FancyArrowPatch):
            vertices = artist._path_original.vertices  # the path in data coordinates, as drawn
            style = "--" if artist.get_linestyle() == "--" else "-"
            found.add((nearest(vertices[0]), nearest(vertices[-1]), to_hex(artist.get_edgecolor()), style))
    for line in ax.lines:
        x, y = line.get_data()
        a, b = nearest(np.array([x[0], y[0]])), nearest(np.array([x[-1], y[-1]]))
        found |= {(a, b, to_hex(line.get_color()), "line"), (b, a, to_hex(line.get_color()), "line")}
    return found


def styled(H):
    """What drawn_edges should find: the Cayley graph's edges with their generator's style."""
    out = set()
    for a, b, label in expected_edges(H):
        style = edge_style(next(g for g in H.generators if g.label == label))
        out.add((a, b, style.color, style.linestyle if style.directed else "line"))
    return out


@pytest.mark.parametrize("G", TEN)
def test_drawn_edges_are_exactly_h_to_gh_in_the_generators_style(G):
    H = G.point_group
    ax = draw_cayley_graph(G, ghosts=True)
    assert drawn_edges(ax, H) == styled(H)
    nodes = [c for c in ax.patches if isinstance(c, Circle) and c.get_gid() is None]
    positions = sorted(tuple(np.round(c.center, 9)) for c in nodes)
    assert positions == sorted(tuple(np.round(p, 9)) for p in cayley_layout(H).values())
    ghosts = [c for c in ax.patches if isinstance(c, Circle) and (c.get_gid() or "").startswith("ghost")]
    assert sorted(c.get_gid() for c in ghosts) == sorted(f"ghost {h.label}" for h in D4 if h not in H)
    labels = {t.get_text().strip("$") for t in ax.texts}
    assert {h.label for h in H} <= labels
    assert [handle.get_label() for handle in generator_legend(G)] == [
        f"${g.label}$: $h \\to {g.label}h$" for g in H.generators]
    ax.figure.canvas.draw()


@pytest.mark.parametrize("G", TEN)
def test_a_function_plot_draws_the_same_edges(G):
    H = G.point_group
    plot = plot_group_function(feature_map(G)[0, 0], G)
    assert drawn_edges(plot.ax, H) == styled(H)
    assert len(plot.edges) == len(styled(H)) - sum(not edge_style(g).directed for g in H.generators) * H.order // 2


# ----------------------------------------------------------------------------- functions on every group


@pytest.mark.parametrize("size", [4, 5])
@pytest.mark.parametrize("G", TEN)
def test_patch_drawn_at_h_is_f_at_the_local_index_of_h(G, size):
    H = G.point_group
    f = feature_map(G, size)
    plot = plot_group_function(f, group=G.name, tags=True)
    drawn = plot.drawn()
    assert sorted(drawn) == list(range(H.order))
    for h in H:
        np.testing.assert_array_equal(drawn[H.index(h)], f[0, 0, H.index(h)].numpy())
        np.testing.assert_array_equal(plot.patches[H.index(h)].centre, cayley_layout(D4)[h.index])
    assert plot.tags() == {H.index(h): h.label for h in H}
    plot.ax.figure.canvas.draw()


@pytest.mark.parametrize("G, g", EVERY_ELEMENT)
def test_plot_of_Lg_f_is_act_with_the_group_and_each_patch_moved_from_h_to_gh(G, g):
    H = G.point_group
    f = feature_map(G)
    moved = act(g, f, G.name)  # the package's action, told the group
    before = plot_group_function(f, G, batch=0, channel=0).drawn()
    after = plot_group_function(moved, G, batch=0, channel=0).drawn()
    for h in H:
        target = H.index(g * h)
        np.testing.assert_array_equal(after[target], moved[0, 0, target].numpy())
        # the patch at h, carried along to g h and transformed there by g
        np.testing.assert_array_equal(after[target], act_on_plane(g, torch.from_numpy(before[H.index(h)])).numpy())


@pytest.mark.parametrize("G, g", EVERY_ELEMENT)
def test_animation_of_Lg_moves_patch_h_along_its_path_and_lands_on_act(G, g):
    H = G.point_group
    f = feature_map(G)[0, 0]
    movie = ActionAnimation(f, g, 1, 3, 1, 20, "viridis", (3, 3), 10, tags=True, group=G)
    np.testing.assert_array_equal(np.stack([movie.plot.drawn()[i] for i in range(H.order)]), f.numpy())
    movie.draw_frame(len(movie.frames) - 1)
    moved = act(g, f[None, None], G)[0, 0]
    drawn = movie.plot.drawn()
    assert sorted(drawn) == list(range(H.order))
    for i in range(H.order):
        np.testing.assert_array_equal(drawn[i], moved[i].numpy())
    assert movie.plot.tags() == {H.index(h): (g.inverse() * h).label for h in H}  # where each F came from
    for h, patch in zip(H, movie.plot.patches, strict=True):  # the patch from h ends at g h
        np.testing.assert_allclose(patch.centre, cayley_layout(H)[H.index(g * h)], atol=1e-9)


def test_animate_action_defaults_to_the_groups_first_generator():
    for name, first in (("p4", r), ("p4m", r), ("pmm", r**2), ("cm_main", m * r), ("p1", e)):
        G = resolve_group(name)
        movie = animate_action(feature_map(G)[0, 0], group=name, frames_per_step=1, hold=1)
        assert movie.g == first and movie.plot.group == G.point_group


# ----------------------------------------------------------------------------- one vocabulary


def test_the_group_is_named_not_read_off_the_axis():
    four = torch.randn(4, 5, 5)
    assert plot_group_function(four).group.name == "C4"  # the one legacy default: size 4 is p4
    assert plot_group_function(four, "pmm").group.name == "D2_uv"
    assert plot_group_function(four, resolve_group("cmm")).group.name == "D2_diag"
    pmm = plot_group_function(four, "pmm").layout
    np.testing.assert_array_equal(pmm[1], cayley_layout(D4)[2])  # local index 1 of pmm is r^2, at the bottom
    with pytest.raises(ValueError, match=r"pass group=.*'p2', 'pm_u', 'pm_v', 'cm_main', 'cm_anti'"):
        group_function(torch.randn(2, 5, 5))
    with pytest.raises(ValueError, match=r"expected 2 \(pm_v\), got size 4"):
        group_function(four, "pm_v")
    with pytest.raises(ValueError, match="plot_planar_function, or pass group='p1'"):
        group_function(torch.randn(1, 5, 5))
    assert group_function(torch.randn(1, 5, 5), "p1").shape == (1, 5, 5)
    with pytest.raises(ValueError, match="unknown group 'p3'"):
        plot_group_function(four, "p3")
    with pytest.raises(ValueError, match="r is not an element of D2_uv"):
        animate_action(four, r, group="pmm")


def test_equivariance_animation_reads_the_group_from_the_layers():
    from gcnn_edu.nn import LiftingConv2d
    from gcnn_edu.viz.animation import equivariance_animation

    torch.manual_seed(0)
    image = torch.rand(9, 9)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1)
    gcnn = LiftingConv2d(1, 1, kernel_size=3, group="p4m", padding=1)
    movie = equivariance_animation(image, gcnn, conv, steps=1, frames_per_step=1, hold=1)
    assert movie.group.name == "p4m" and movie.gcnn_plot.group == D4
    pmm = LiftingConv2d(1, 1, kernel_size=3, group="pmm", padding=1)
    with pytest.raises(ValueError, match="r is not an element of D2_uv"):
        equivariance_animation(image, pmm, conv, steps=1, frames_per_step=1, hold=1)


@pytest.mark.parametrize("name", ["pmm", "cm_anti", "p2"])
def test_lifting_animation_on_a_group_without_r_moves_the_digit_by_its_first_generator(name):
    from gcnn_edu import fast
    from gcnn_edu.viz import lifting_animation

    G = resolve_group(name)
    digit = torch.rand(8, 8, generator=torch.Generator().manual_seed(0))
    psi = torch.randn(3, 3, generator=torch.Generator().manual_seed(1))
    movie = lifting_animation(digit, psi, name, padding=1, rows_per_frame=8, hold=1, frames_per_turn=1)
    g = G.point_group.generators[0]
    assert movie.g == g
    planes = fast.lifting_correlation(digit[None, None], psi[None, None, None], name, padding=1)
    movie.draw_frame(len(movie.frames) - 1)
    for i, patch in movie.graph.drawn().items():
        np.testing.assert_allclose(patch, act(g, planes, name)[0, 0, i].numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="p1"):
        lifting_animation(digit, psi, "p1")


@pytest.mark.parametrize("name", ["pmm", "cm_main"])
def test_filter_bank_on_a_subgroup_uses_local_indices(name):
    H = resolve_group(name).point_group
    weight = torch.randn(1, 1, H.order, 3, 3, generator=torch.Generator().manual_seed(0))
    plot = plot_filter_bank(weight, name)
    for g in H:
        for b, h in enumerate(H):  # cell (g, h) = g . psi(g^-1 h)
            psi = weight[0, 0, H.index(g.inverse() * h)]
            np.testing.assert_array_equal(plot.cell(H.index(g), b), act_on_plane(g, psi).numpy())


def test_example_function_gives_each_element_its_D4_colour_in_every_group():
    from gcnn_edu.figures import example_function

    for G in PLANE_GROUPS:
        f = example_function(G)
        assert f.shape == (G.point_group.order, 7, 7)
        assert [int(f[i].max()) for i in range(f.shape[0])] == [h.index + 1 for h in G.point_group]
    assert torch.equal(example_function(8), example_function("p4m"))
    with pytest.raises(ValueError, match="example_function\\('pmm'\\)"):
        example_function(2)


@pytest.mark.slow
def test_subgroup_sheets_render_byte_identically(tmp_path):
    from gcnn_edu.figures import FIGURES, render

    for name in ("subgroup_cayley_graphs.png", "plane_group_functions.png"):
        assert name in FIGURES
        first, second = render(name, tmp_path / f"a_{name}"), render(name, tmp_path / f"b_{name}")
        assert first.read_bytes() == second.read_bytes()
