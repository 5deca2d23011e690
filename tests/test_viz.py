"""Pictures of functions on p4 and p4m: the Cayley graphs, the patches the plots draw, and the animations.

Plots are checked on the artists' data (the arrays and transforms of the images), not on pixels.
"""

import matplotlib
import matplotlib.animation

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from gcnn_edu.functions import act_on_group, act_on_plane  # noqa: E402
from gcnn_edu.groups import C4, D4, m, r  # noqa: E402
from gcnn_edu.nn import LiftingConv2d  # noqa: E402
from gcnn_edu.viz import (  # noqa: E402
    animate_action,
    animate_equivariance,
    cayley_graph,
    cayley_layout,
    draw_cayley_graph,
    plot_group_function,
    plot_planar_function,
    save_animation,
    spatial_transform,
)
from gcnn_edu.viz.animation import equivariance_animation  # noqa: E402

GROUPS = [pytest.param(C4, id="C4"), pytest.param(D4, id="D4")]
ACTIONS = [pytest.param(C4, r, id="p4-r"), pytest.param(D4, r, id="p4m-r"), pytest.param(D4, m, id="p4m-m")]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def random_function(group, size=5, seed=0):
    return torch.randn(group.order, size, size, generator=torch.Generator().manual_seed(seed))


def successor(group, h, g):
    """The node reached from h along the g-edge of the Cayley graph."""
    graph = cayley_graph(group)
    (target,) = [b for _, b, label in graph.out_edges(h.index, data="generator") if label == g.label]
    return target


# ----------------------------------------------------------------------------- the graphs


@pytest.mark.parametrize("group", GROUPS)
def test_cayley_graph_has_an_edge_h_to_gh_per_generator(group):
    graph = cayley_graph(group)
    assert sorted(graph.nodes) == list(range(group.order))
    assert [graph.nodes[h]["label"] for h in sorted(graph)] == [h.label for h in group]
    for g in group.generators:
        edges = sorted((a, b) for a, b, label in graph.edges(data="generator") if label == g.label)
        assert edges == sorted((h.index, (g * h).index) for h in group)
    assert graph.number_of_edges() == group.order * len(group.generators)
    assert nx.is_strongly_connected(graph)  # the generators generate the group


def test_cayley_graph_by_plane_group_name():
    assert sorted(cayley_graph("p4m").edges) == sorted(cayley_graph("D4").edges)
    assert cayley_graph("p4").graph["group"] == "C4"


def test_layout_reads_like_the_paper():
    c4 = cayley_layout("C4")
    top, left, bottom, right = (c4[k] for k in range(4))  # e at the top, then counter-clockwise
    assert top[1] > 0 and np.isclose(top[0], 0)
    assert left[0] < 0 and np.isclose(left[1], 0)
    assert bottom[1] < 0 and right[0] > 0
    d4 = cayley_layout("D4")
    for k in range(4):  # m r^k straight outside r^k, so the m-edges are radial
        inner, outer = d4[k], d4[4 + k]
        assert np.linalg.norm(outer) > np.linalg.norm(inner)
        assert np.isclose(np.linalg.det(np.stack([inner, outer])), 0)


@pytest.mark.parametrize("group", GROUPS)
def test_draw_cayley_graph_colours_edges_by_generator(group):
    ax = draw_cayley_graph(group)
    colours = {matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches if hasattr(p, "get_path")
               and type(p).__name__ == "FancyArrowPatch"}
    assert colours == {"#d62728"}  # the r-arrows are red
    blue = [line for line in ax.lines if matplotlib.colors.to_hex(line.get_color()) == "#1f5fb4"]
    assert len(blue) == (4 if group.has_mirrors else 0)  # one line per pair {h, m h}
    ax.figure.canvas.draw()


# ----------------------------------------------------------------------------- the patches


@pytest.mark.parametrize("group", GROUPS)
def test_patch_drawn_at_node_h_is_f_of_h(group):
    f = random_function(group)
    plot = plot_group_function(f)
    drawn = plot.drawn()
    assert sorted(drawn) == list(range(group.order))
    for h in group:
        np.testing.assert_array_equal(drawn[h.index], f[h.index].numpy())
    plot.ax.figure.canvas.draw()


@pytest.mark.parametrize("group, g", ACTIONS)
def test_plot_of_Lg_f_is_plot_of_f_moved_along_the_edges(group, g):
    f = random_function(group)
    before = plot_group_function(f).drawn()
    after = plot_group_function(act_on_group(g, f)).drawn()
    for h in group:
        moved = act_on_plane(g, torch.from_numpy(before[h.index])).numpy()
        np.testing.assert_array_equal(after[successor(group, h, g)], moved)


@pytest.mark.parametrize("g", list(D4), ids=[g.label for g in D4])
def test_spatial_transform_draws_the_action_on_a_patch(g):
    """A patch drawn with spatial_transform(g) shows each value where act_on_plane(g, patch) shows it."""
    n, half = 5, 1.0
    patch = torch.arange(n * n, dtype=torch.float32).reshape(n, n)
    moved = act_on_plane(g, patch)

    def centre(u, v):  # pixel (u, v) of an upright patch with extent (-1, 1, -1, 1), row 0 at the top
        return np.array([-half + (v + 0.5) * 2 * half / n, half - (u + 0.5) * 2 * half / n])

    transform = spatial_transform(g, 1.0)
    for u in range(n):
        for v in range(n):
            x, y = transform.transform(centre(u, v))
            u2, v2 = round((half - y) * n / (2 * half) - 0.5), round((x + half) * n / (2 * half) - 0.5)
            assert moved[u2, v2] == patch[u, v]
    assert np.allclose(spatial_transform(g, 0.0).get_matrix(), np.eye(3))


def test_planar_plot_draws_the_map():
    x = torch.randn(2, 3, 6, 6)
    plot = plot_planar_function(x, batch=1, channel=2, label="x")
    np.testing.assert_array_equal(plot.image.get_array(), x[1, 2].numpy())


def test_feature_map_channel_is_chosen_explicitly():
    f = torch.randn(2, 3, 8, 5, 5)
    drawn = plot_group_function(f, batch=1, channel=2).drawn()
    np.testing.assert_array_equal(drawn[7], f[1, 2, 7].numpy())
    drawn = plot_group_function(f[:1, :1]).drawn()  # axes of size 1 need no choice
    np.testing.assert_array_equal(drawn[0], f[0, 0, 0].numpy())


# ----------------------------------------------------------------------------- the animations


@pytest.mark.parametrize("group, g", ACTIONS)
def test_animation_starts_at_f_and_ends_at_Lg_f(group, g):
    f = random_function(group)
    movie = animate_action(f, g, steps=1, frames_per_step=3, hold=2)
    movie.draw_frame(0)
    first = movie.plot.drawn()
    movie.draw_frame(len(movie.frames) - 1)
    last = movie.plot.drawn()
    for (name, want), got in zip((("f", f), ("L_g f", act_on_group(g, f))), (first, last), strict=True):
        static = plot_group_function(want).drawn()
        assert sorted(got) == sorted(static) == list(range(group.order)), name
        for h in static:
            np.testing.assert_array_equal(got[h], static[h], err_msg=name)


@pytest.mark.parametrize("group, g", ACTIONS)
def test_animation_moves_each_patch_along_its_edge_towards_gh(group, g):
    f = random_function(group)
    movie = animate_action(f, g, steps=1, frames_per_step=40, hold=1)
    halfway = movie.frames.index((0, 0.5))
    movie.draw_frame(halfway)
    assert movie.plot.drawn() == {}  # every patch is on its way
    for h, patch in zip(group, movie.plot.patches, strict=True):
        start, end = movie.plot.layout[h.index], movie.plot.layout[(g * h).index]
        if g.is_rotation:  # along the arc of its ring
            assert np.isclose(np.linalg.norm(patch.centre), np.linalg.norm(start))
        else:  # along the straight mirror line
            np.testing.assert_allclose(patch.centre, (start + end) / 2, atol=1e-9)
        assert min(np.linalg.norm(patch.centre - start), np.linalg.norm(patch.centre - end)) > 0.1
    movie.draw_frame(movie.frames.index((0, 39 / 40)))  # almost there: at g h, turned (flipped) by g
    for h, patch in zip(group, movie.plot.patches, strict=True):
        assert np.linalg.norm(patch.centre - movie.plot.layout[(g * h).index]) < 0.01
        linear = patch.placement.get_matrix()[:2, :2]
        np.testing.assert_allclose(linear, spatial_transform(g, 1.0).get_matrix()[:2, :2], atol=0.05)
        np.testing.assert_allclose(patch.image.get_array(), f[h.index].numpy(), atol=1e-5)  # f(h), carried


def test_action_gif_is_written_and_loops(tmp_path):
    f = random_function(C4, size=3)
    movie = animate_action(f, r, frames_per_step=2, hold=1, path=tmp_path / "p4.gif", dpi=30)
    with Image.open(tmp_path / "p4.gif") as gif:
        assert gif.info.get("loop") == 0
        durations = []
        for index in range(gif.n_frames):  # Pillow merges equal frames into longer ones
            gif.seek(index)
            durations.append(gif.info["duration"])
    assert gif.n_frames > 4
    assert sum(durations) == pytest.approx(len(movie.frames) * 1000 / movie.fps, abs=gif.n_frames)


def small_layers(size=9):
    torch.manual_seed(0)
    lifting = LiftingConv2d(1, 2, kernel_size=3, group="p4", padding=1, bias=False)
    conv = torch.nn.Conv2d(1, 2, kernel_size=3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(lifting.weight[:, :, 0])
    image = torch.rand(size, size, generator=torch.Generator().manual_seed(1))
    return image, lifting, conv


def test_equivariance_animation_shows_the_layers_outputs():
    image, gcnn, cnn = small_layers()
    movie = equivariance_animation(image, gcnn, cnn, channel=1, steps=1, frames_per_step=2, hold=1)
    with torch.no_grad():
        before, after = gcnn(image[None, None])[0, 1], gcnn(torch.rot90(image, 1)[None, None])[0, 1]
    movie.draw_frame(0)
    for h, patch in movie.gcnn_plot.drawn().items():
        np.testing.assert_array_equal(patch, before[h].numpy())
    np.testing.assert_array_equal(movie.cnn_plot.image.get_array(), cnn(image[None, None])[0, 1].detach())
    movie.draw_frame(len(movie.frames) - 1)
    rolled = act_on_group(r, before)  # equivariance: the last frame is the first one moved along the arrows
    for h, patch in movie.gcnn_plot.drawn().items():
        np.testing.assert_array_equal(patch, after[h].numpy())
        np.testing.assert_allclose(patch, rolled[h].numpy(), atol=1e-5)


def test_animate_equivariance_writes_a_gif(tmp_path):
    image, gcnn, cnn = small_layers()
    gcnn.train()
    path = animate_equivariance(image, gcnn, cnn, tmp_path / "c.gif", steps=1, frames_per_step=2, hold=1, dpi=30)
    assert path == tmp_path / "c.gif" and path.stat().st_size > 0
    assert gcnn.training  # the model's mode is restored


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("shape, kwargs, match", [
    ((3, 5, 5), {}, "group axis"),
    ((1, 5, 5), {}, "plot_planar_function"),
    ((4, 5, 5), {"group": "p4m"}, r"expected 8 \(p4m\)"),
    ((2, 3, 4, 5, 5), {}, "batch=0..1"),
    ((1, 3, 4, 5, 5), {}, "channel=0..2"),
    ((2, 3, 4, 5, 5), {"batch": 0, "channel": 3}, "channel must be an int in 0..2"),
    ((4, 5, 5), {"batch": 0}, "leave them out"),
    ((3, 4, 5, 5), {}, r"\(N, C, \|H\|, H, W\)"),
])
def test_bad_group_function_is_named(shape, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_group_function(torch.zeros(shape), **kwargs)


def test_bad_inputs_elsewhere(tmp_path):
    with pytest.raises(TypeError, match="torch.Tensor or numpy array"):
        plot_group_function([[0.0]])
    with pytest.raises(ValueError, match="plot_group_function"):
        plot_planar_function(torch.zeros(4, 5, 5))
    with pytest.raises(ValueError, match="batch=0..1"):
        plot_planar_function(torch.zeros(2, 1, 5, 5))
    with pytest.raises(ValueError, match="not an element of C4"):
        animate_action(torch.zeros(4, 3, 3), m)
    image, gcnn, cnn = small_layers()
    with pytest.raises(ValueError, match="H == W"):
        animate_equivariance(image[:, :5], gcnn, cnn, tmp_path / "c.gif")
    with pytest.raises(ValueError, match="channel must be an int in 0..1"):
        animate_equivariance(image, gcnn, cnn, tmp_path / "c.gif", channel=2)
    with pytest.raises(ValueError, match=r"\(1, C, H', W'\)"):
        animate_equivariance(image, gcnn, gcnn, tmp_path / "c.gif")
    with pytest.raises(ValueError, match=".gif or .mp4"):
        save_animation(animate_action(torch.zeros(4, 3, 3), r, steps=1, frames_per_step=1, hold=1),
                       tmp_path / "a.png")


def test_mp4_needs_ffmpeg_and_any_matplotlib_animation_saves(tmp_path):
    movie = animate_action(torch.rand(4, 3, 3), r, steps=1, frames_per_step=1, hold=1)
    if matplotlib.animation.writers.is_available("ffmpeg"):
        assert save_animation(movie, tmp_path / "a.mp4", dpi=30).stat().st_size > 0
    else:
        with pytest.raises(RuntimeError, match="ffmpeg"):
            save_animation(movie, tmp_path / "a.mp4")
    path = save_animation(movie.animation, tmp_path / "func.gif", dpi=30)  # a plain FuncAnimation
    with Image.open(path) as gif:
        assert gif.n_frames >= 2


# ----------------------------------------------------------------------------- the functions of the figures


def test_figures_letter_shows_every_turn_and_flip():
    """The F of the figures has no symmetry in D4, so each g in D4 draws it differently."""
    from gcnn_edu.figures import example_function

    letter = example_function(1)[0]
    images = {tuple(act_on_plane(g, letter).flatten().tolist()) for g in D4}
    assert len(images) == D4.order


@pytest.mark.parametrize("group", GROUPS)
def test_figures_function_has_one_colour_per_element(group):
    """f(h) is the F in a value of its own, which the letters' colour map draws in a colour of its own."""
    from gcnn_edu.figures import example_function, letter_colormap

    f = example_function(group.order)
    letter = example_function(1)[0]
    for h in group:
        np.testing.assert_array_equal(f[h.index], (h.index + 1) * letter)
    cmap, norm = letter_colormap(f), plot_group_function(f).norm  # the plots' default scale: 0 to |H|
    values = range(group.order + 1)  # the background, then the F at each element
    assert len({cmap(norm(value)) for value in values}) == group.order + 1
    wobble = 1e-4 * group.order  # the animation's blends (1 - s) a + s a may round a little
    for value in values:
        assert cmap(norm(value - wobble)) == cmap(norm(value)) == cmap(norm(value + wobble))


# ----------------------------------------------------------------------------- labels, tags and colours (issue 11)


def test_mirrored_nodes_are_named_both_ways():
    from gcnn_edu.groups import r as rot
    from gcnn_edu.viz.cayley import node_label, right_reading

    for h in D4:
        reading = right_reading(h)
        if h.j and h.k:  # m r^k = r^-k m: the right reading names the same element
            assert reading.endswith("m") and node_label(h) == f"${h.label}$ $= {reading}$"
            assert rot ** ((-h.k) % 4) * m == h
        else:
            assert reading == h.label and node_label(h) == f"${h.label}$"
    ax = draw_cayley_graph("D4")
    assert {t.get_text() for t in ax.texts} >= {"$= r^3m$", "$= r^2m$", "$= rm$"}


@pytest.mark.parametrize("group, g", ACTIONS)
def test_tags_name_the_node_each_patch_came_from(group, g):
    f = random_function(group)
    tags = [(g.inverse() * h).label for h in group]
    plot = plot_group_function(act_on_group(g, f), tags=tags)
    assert plot.tags() == {h.index: tags[h.index] for h in group}
    movie = animate_action(f, g, steps=1, frames_per_step=4, hold=1, tags=True)
    movie.draw_frame(len(movie.frames) - 1)  # after L_g the patch at node h came from g^-1 h
    assert movie.plot.tags() == {h.index: tags[h.index] for h in group}


def test_edges_stay_visible_while_patches_move():
    movie = animate_action(random_function(C4), r, steps=1, frames_per_step=4, hold=1)
    patch_z = max(p.image.get_zorder() for p in movie.plot.patches)
    assert all(edge.get_zorder() > patch_z for edge in movie.plot.edges)
    movie.draw_frame(movie.frames.index((0, 0.5)))
    assert all(edge.get_alpha() is not None and 0 < edge.get_alpha() < 1 for edge in movie.plot.edges)
    movie.draw_frame(len(movie.frames) - 1)
    assert all(edge.get_alpha() is None for edge in movie.plot.edges)


@pytest.mark.parametrize("g, last", [(r, "$L_{r}^{4} f = f$"), (m, "$L_{m}^{2} f = f$")])
def test_last_frame_says_the_loop_closed(g, last):
    movie = animate_action(random_function(D4), g, frames_per_step=2, hold=1)
    movie.draw_frame(len(movie.frames) - 1)
    assert movie.title.get_text() == last
    assert 18 / movie.fps == 0.9  # a move takes 0.9 s by default


def test_letter_palette_survives_colour_vision_deficiencies():
    """Every pair of the letters' colours (and the background) stays >= 20 Delta E*ab apart under
    protanopia, deuteranopia and tritanopia (Machado et al. 2009) and in normal vision."""
    from gcnn_edu.figures import LETTER_COLORS
    from gcnn_edu.viz.palette import VISIONS, closest_pair, palette_distances, simulate_cvd

    distance, i, j, vision = closest_pair(LETTER_COLORS)
    assert distance >= 20, f"{LETTER_COLORS[i]} and {LETTER_COLORS[j]} are only {distance:.1f} apart ({vision})"
    # the check can fail: a red and a green that differ only in the L-M axis merge for a deuteranope
    assert palette_distances(["#d62728", "#8c8c00"], "deuteranopia")[0, 1] < 20
    assert set(VISIONS) == {"normal", "protanopia", "deuteranopia", "tritanopia"}
    np.testing.assert_allclose(simulate_cvd("#ffffff", "deuteranopia"), [1, 1, 1], atol=2e-3)  # white stays white
    grey = simulate_cvd("#808080", "protanopia")
    assert np.ptp(grey) < 5e-3  # a grey stays grey


# ----------------------------------------------------------------------------- the new pictures (issue 11)


@pytest.mark.parametrize("group, in_order", [("p4", 1), ("p4", 4), ("p4m", 8)])
def test_filter_bank_cells_are_the_fast_paths_bank(group, in_order):
    from gcnn_edu import fast
    from gcnn_edu.groups import point_group
    from gcnn_edu.viz import plot_filter_bank

    G = point_group(group)
    weight = torch.randn(2, 3, in_order, 3, 3, generator=torch.Generator().manual_seed(0))
    plot = plot_filter_bank(weight, group, out_channel=1, in_channel=2)
    index = fast.channel_index(G.name, in_order, 3, 3)
    bank = fast.transform_filter(weight, index, G.order).view(2, G.order, 3, in_order, 3, 3)
    for g in G:
        for h in range(in_order):
            np.testing.assert_array_equal(plot.cell(g.index, h), bank[1, g.index, 2, h].numpy())
            source = (g.inverse() * G[h]).label if in_order > 1 else "e"
            assert plot.tags[g.index, h] == source
            # twist and shift: cell (g, h) is psi(g^-1 h) turned by g
            psi = weight[1, 2, (g.inverse() * G[h]).index if in_order > 1 else 0]
            np.testing.assert_array_equal(plot.cell(g.index, h), act_on_plane(g, psi).numpy())


def test_lifting_animation_fills_plane_g_with_the_digit_correlated_with_Lg_psi():
    from gcnn_edu import fast
    from gcnn_edu.viz import animate_lifting

    digit = torch.rand(9, 9, generator=torch.Generator().manual_seed(0))
    psi = torch.randn(3, 3, generator=torch.Generator().manual_seed(1))
    movie = animate_lifting(digit, psi, "p4", padding=1, rows_per_frame=5, hold=3, frames_per_turn=2)
    expected = fast.lifting_correlation(digit[None, None], psi[None, None, None], "p4", padding=1)[0, 0]
    for h in C4:  # while plane h fills, the filter drawn is L_h psi; when it is full it is x * L_h psi
        movie.draw_frame(movie.frames.index(("fill", h.index, 9)))
        np.testing.assert_array_equal(movie.filter_plot.image.get_array(), act_on_plane(h, psi).numpy())
        drawn = movie.graph.drawn()
        np.testing.assert_allclose(drawn[h.index], expected[h.index].numpy(), atol=1e-6)
        np.testing.assert_allclose(drawn[h.index], torch.nn.functional.conv2d(
            digit[None, None], act_on_plane(h, psi)[None, None], padding=1)[0, 0].numpy(), atol=1e-5)
    movie.draw_frame(movie.frames.index(("fill", 1, 5)))  # plane r half full, r^2 still empty
    half = movie.graph.drawn()
    assert np.isfinite(half[1][:5]).all() and np.isnan(half[1][5:]).all() and np.isnan(half[2]).all()
    movie.draw_frame(len(movie.frames) - 1)  # the digit turned: the planes rolled and turned
    turned = fast.lifting_correlation(torch.rot90(digit, 1)[None, None], psi[None, None, None], "p4", padding=1)
    for h, patch in movie.graph.drawn().items():
        np.testing.assert_allclose(patch, turned[0, 0, h].numpy(), atol=1e-5)
        np.testing.assert_allclose(patch, act_on_group(r, expected)[h].numpy(), atol=1e-5)


@pytest.mark.parametrize("group, lifting, in_channels", [("p4", False, 2), ("p4m", False, 1), ("p4", True, 2)])
def test_gather_picture_shows_the_fast_paths_index_and_scatter_add(group, lifting, in_channels):
    from gcnn_edu import fast
    from gcnn_edu.groups import point_group
    from gcnn_edu.viz import plot_gather

    G = point_group(group)
    plot = plot_gather(group, out_channels=2, in_channels=in_channels, kernel_size=3, lifting=lifting)
    c_out, c_in, in_order, k, _ = plot.weight_shape
    row = in_order * k * k
    np.testing.assert_array_equal(plot.weight_numbers(), np.arange(row).reshape(1, 1, in_order, k, k).repeat(
        c_out, 0).repeat(c_in, 1))
    # the bank's numbers are the index: gathering a weight whose entries are their own numbers gives them
    weight = torch.arange(c_in * row, dtype=torch.float64).repeat(c_out, 1).view(plot.weight_shape)
    bank = fast.transform_filter(weight, fast.channel_index(G.name, in_order, c_in, k), G.order)
    np.testing.assert_array_equal(plot.bank_numbers(), bank.long().numpy() % row)
    # backward: the outlined copies are exactly where autograd's scatter-add takes the gradient from
    weight = torch.randn(plot.weight_shape, dtype=torch.float64, requires_grad=True)
    bank = fast.transform_filter(weight, fast.channel_index(G.name, in_order, c_in, k), G.order)
    upstream = torch.randn(bank.shape, dtype=torch.float64)
    (bank * upstream).sum().backward()
    assert len(plot.copies) == G.order
    total = sum(upstream[row_, column, u, v] for row_, column, u, v in plot.copies)
    assert weight.grad[plot.source].item() == pytest.approx(total.item(), abs=1e-12)


def test_group_pooling_picture_pools_and_turns():
    from gcnn_edu.nn import group_pool
    from gcnn_edu.viz import plot_group_pooling

    f = random_function(C4, size=6)
    plot = plot_group_pooling(f, "p4", r)
    pooled = [p.image.get_array() for p in plot.pooled]
    np.testing.assert_array_equal(pooled[0], group_pool(f[None, None])[0, 0].numpy())
    np.testing.assert_array_equal(pooled[1], act_on_plane(r, torch.from_numpy(np.asarray(pooled[0]))).numpy())
    for h, patch in plot.functions[1].drawn().items():
        np.testing.assert_array_equal(patch, act_on_group(r, f)[h].numpy())


def test_coset_pooling_marks_the_left_cosets_and_the_wrong_pairs():
    from gcnn_edu.nn.pooling import coset_pool
    from gcnn_edu.viz import channel_pairs, left_cosets, plot_coset_pooling

    cosets = {frozenset({h.index, (h * m).index}) for h in D4}  # h{e, m}: four left cosets
    assert {frozenset(pair) for pair in left_cosets()} == cosets
    assert {frozenset(pair) for pair in channel_pairs()} == {frozenset({k, 4 + k}) for k in range(4)}
    f = torch.randn(1, 2, 8, 5, 5, generator=torch.Generator().manual_seed(0))
    plot = plot_coset_pooling(f)
    for column, name in enumerate(plot.pairings):
        before, after = plot.colours[column, 0], plot.colours[column, 1]
        marked = {}
        for node, k in before.items():
            marked.setdefault(k, set()).add(node)
        assert {frozenset(nodes) for nodes in marked.values()} == {frozenset(p) for p in plot.pairings[name]}
        for h in D4:  # after L_r, node r h carries the colour of h
            assert after[(r * h).index] == before[h.index]
        colours = [circle.get_facecolor() for circle in plot.axes[column, 0].patches
                   if type(circle).__name__ == "Circle"]
        for a, b in plot.pairings[name]:  # the two nodes of a pair are drawn in one colour
            assert colours[a] == colours[b]
    assert plot.errors["left cosets"] == 0.0  # coset_pool commutes with L_r ...
    assert plot.errors["channels k, 4 + k"] > 0.1  # ... pairing channel k with 4 + k does not
    np.testing.assert_array_equal(coset_pool(act_on_group(r, f)), act_on_group(r, coset_pool(f)))


def test_equivariance_plot_draws_check_equivariances_numbers():
    from gcnn_edu import check_equivariance
    from gcnn_edu.viz import plot_equivariance_errors
    from gcnn_edu.viz.errors import FLOOR

    torch.manual_seed(0)
    cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.AdaptiveMaxPool2d(1), torch.nn.Flatten())
    gcnn = torch.nn.Sequential(LiftingConv2d(1, 2, 3, group="p4"), torch.nn.AdaptiveMaxPool3d(1),
                               torch.nn.Flatten())
    x = torch.rand(2, 1, 9, 9, generator=torch.Generator().manual_seed(0))
    plot = plot_equivariance_errors(cnn.eval(), gcnn.eval(), x, "p4", angles=(0, 45, 90), names=("cnn", "gcnn"))
    for name, model in (("cnn", cnn), ("gcnn", gcnn)):
        for dtype, torch_dtype in (("float32", torch.float32), ("float64", torch.float64)):
            measured = check_equivariance(model.to(torch_dtype), x.to(torch_dtype), "p4")
            heights = [bar.get_height() for bar in plot.bars[name, dtype]]
            assert heights == [max(value, FLOOR) for value in measured.values()]
            model.float()
    assert plot.errors["gcnn"]["float64"]["r"] < 1e-12 < plot.errors["cnn"]["float64"]["r"]
    gcnn_line = plot.lines["gcnn"].get_ydata()
    assert gcnn_line[2] < 1e-12 < gcnn_line[1]  # exact at 90 degrees, approximate at 45


def test_accuracy_plot_marks_quarter_turns_chance_and_labels_curve_ends():
    from gcnn_edu import training
    from gcnn_edu.viz import draw_accuracy_vs_angle

    assert training.plot_accuracy_vs_angle.__module__ == "gcnn_edu.viz.accuracy"  # moved, still importable
    angles = range(0, 361, 10)
    runs = [{str(float(a)): 0.5 + 0.1 * seed + 0.001 * a for a in angles} for seed in range(3)]
    fig, ax = plt.subplots()
    draw_accuracy_vs_angle({"P4CNN, trained upright (24,680 parameters)": runs,
                            "Z2CNN, trained upright (21,750 parameters)": runs[0]}, ax)
    assert list(ax.get_xticks()) == [0, 90, 180, 270, 360]
    assert any(np.allclose(line.get_ydata(), 10) for line in ax.lines)  # chance
    texts = [t.get_text() for t in ax.texts]
    assert "P4CNN, trained upright" in texts and not any("parameters" in t for t in texts)
    assert ax.get_legend() is None
    (band,) = ax.collections  # one band: the curve with three seeds
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(100 * (0.7 + 0.36))
    mean = ax.lines[0].get_ydata()
    np.testing.assert_allclose(mean, [100 * (0.6 + 0.001 * a) for a in angles])
