"""The left action on feature maps on every group, against an independent implementation of the conventions."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from gcnn_edu.functions import act, act_on_group, act_on_plane, legacy_group, translate
from gcnn_edu.groups import C4, D4, PLANE_GROUPS, PlaneGroupElement, PointGroupElement, m, r

# --- an independent implementation, straight from docs/conventions.md ------------------------------

R = np.array([[0, -1], [1, 0]])
M = np.array([[-1, 0], [0, 1]])


def reference_matrix(j, k):
    return np.linalg.matrix_power(M, j) @ np.linalg.matrix_power(R, k)


def reference_compose(a, b):
    (j1, k1), (j2, k2) = a, b
    return ((j1 + j2) % 2, ((-1) ** j2 * k1 + k2) % 4)


def reference_inverse(a, pairs):
    return next(b for b in pairs if reference_compose(a, b) == (0, 0))


# the elements (j, k) of each point group, by hand, in increasing 4 j + k
ELEMENTS = {
    "p1": [(0, 0)], "p2": [(0, 0), (0, 2)], "pm_u": [(0, 0), (1, 0)], "pm_v": [(0, 0), (1, 2)],
    "cm_main": [(0, 0), (1, 1)], "cm_anti": [(0, 0), (1, 3)], "p4": [(0, 0), (0, 1), (0, 2), (0, 3)],
    "pmm": [(0, 0), (0, 2), (1, 0), (1, 2)], "cmm": [(0, 0), (0, 2), (1, 1), (1, 3)],
    "p4m": [(j, k) for j in range(2) for k in range(4)],
}


def reference_act(j, k, f, pairs=None):
    """[L_g f](h, x) = f(g^-1 h, g^-1 x), pixel by pixel, about the centre of the grid; ``pairs``
    lists the group axis's elements (j, k) in order (default: C4 or D4 by size, or planar)."""
    f = np.asarray(f)
    order, height, width = f.shape[-3:]
    if pairs is None:
        pairs = [(jj, kk) for jj in range(order // 4) for kk in range(4)] if order > 1 else [(0, 0)]
    g_inv = reference_inverse((j, k), [(jj, kk) for jj in range(2) for kk in range(4)])
    inv_matrix = reference_matrix(*g_inv)
    centre = np.array([(height - 1) / 2, (width - 1) / 2])
    out = np.empty_like(f)
    for h_index, h in enumerate(pairs):
        source_h = pairs.index(reference_compose(g_inv, h)) if order > 1 else 0
        for u, v in itertools.product(range(height), range(width)):
            su, sv = inv_matrix @ (np.array([u, v]) - centre) + centre
            out[..., h_index, u, v] = f[..., source_h, int(round(su)), int(round(sv))]
    return out


@pytest.mark.parametrize("size", [5, 6])
@pytest.mark.parametrize("G", [C4, D4], ids=str)
def test_action_agrees_with_independent_implementation(G, size):
    f = torch.randn(2, 3, G.order, size, size)
    for g in G:
        np.testing.assert_array_equal(act(g, f).numpy(), reference_act(g.j, g.k, f.numpy()))


@pytest.mark.parametrize("size", [5, 6])
@pytest.mark.parametrize("name", ELEMENTS)
def test_action_on_every_group_agrees_with_independent_implementation(name, size):
    """Every element of every one of the ten groups, odd and even sizes, group given explicitly."""
    pairs = ELEMENTS[name]
    f = torch.randn(2, 3, len(pairs), size, size)
    for j, k in pairs:
        g = PointGroupElement(j, k)
        expected = reference_act(j, k, f.numpy(), pairs)
        np.testing.assert_array_equal(act(g, f, group=name).numpy(), expected)
        np.testing.assert_array_equal(act_on_group(g, f[0], name).numpy(), expected[0])


@pytest.mark.parametrize("name", [n for n in ELEMENTS if all(k % 2 == 0 for _, k in ELEMENTS[n])])
def test_groups_without_quarter_turns_act_on_rectangles(name):
    pairs = ELEMENTS[name]
    f = torch.randn(1, 2, len(pairs), 4, 7)
    for j, k in pairs:
        np.testing.assert_array_equal(act(PointGroupElement(j, k), f, group=name).numpy(),
                                      reference_act(j, k, f.numpy(), pairs))


@pytest.mark.parametrize("G", PLANE_GROUPS, ids=str)
def test_action_on_every_group_is_a_homomorphism(G):
    H = G.point_group
    for size in (5, 6):
        f = torch.randn(1, 2, H.order, size, size)
        for a, b in itertools.product(H, H):
            assert torch.equal(act(a, act(b, f, G), G), act(a * b, f, G))


def test_same_order_groups_act_differently():
    """The group axis size does not tell the group: p2, pm_u, pm_v, cm_main, cm_anti differ."""
    f = torch.randn(1, 1, 2, 5, 5)
    flips = {name: act(PointGroupElement(*ELEMENTS[name][1]), f, group=name)
             for name in ("p2", "pm_u", "pm_v", "cm_main", "cm_anti")}
    assert all(not torch.equal(a, b) for a, b in itertools.combinations(flips.values(), 2))
    assert torch.equal(flips["pm_v"], torch.flip(f, dims=(-1,)).flip(2))  # left-right flip, slices swapped
    assert torch.equal(flips["cm_main"], f.transpose(-1, -2).flip(2))  # transpose


@pytest.mark.parametrize("size", [(5, 5), (4, 4)])
def test_planar_action_agrees_with_independent_implementation(size):
    f = torch.randn(2, 3, *size)
    for g in D4:
        expected = reference_act(g.j, g.k, f.numpy()[:, :, None])[:, :, 0]
        np.testing.assert_array_equal(act(g, f).numpy(), expected)


def test_rotation_of_a_3x3_arange():
    f = torch.arange(9).view(3, 3)
    #  0 1 2        2 5 8
    #  3 4 5   r->  1 4 7    counter-clockwise as displayed
    #  6 7 8        0 3 6
    assert act_on_plane(r, f).tolist() == [[2, 5, 8], [1, 4, 7], [0, 3, 6]]
    assert torch.equal(act_on_plane(r, f), torch.rot90(f, 1, dims=(-2, -1)))
    assert act_on_plane(m, f).tolist() == [[6, 7, 8], [3, 4, 5], [0, 1, 2]]  # m flips rows
    assert act_on_plane(m * r, f).tolist() == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]  # first r, then m


def test_p4_map_rotation_rolls_group_axis_forward():
    f = torch.randn(2, 3, 4, 5, 5)
    expected = torch.rot90(torch.roll(f, 1, dims=2), 1, dims=(-2, -1))
    assert torch.equal(act(r, f), expected)
    # the patch at the identity moves, rotated, to r
    assert torch.equal(act(r, f)[:, :, 1], torch.rot90(f[:, :, 0], 1, dims=(-2, -1)))


def test_p4m_map_moves_value_at_h_to_g_h():
    f = torch.randn(1, 2, 8, 5, 5)
    for g, h in itertools.product(D4, D4):
        assert torch.equal(act(g, f)[:, :, (g * h).index], act_on_plane(g, f[:, :, h.index]))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5, 5), (2, 3, 8, 6, 6), (2, 3, 5, 5), (2, 3, 1, 3, 3)])
def test_action_is_a_homomorphism(shape):
    f = torch.randn(shape)
    G = C4 if len(shape) == 5 and shape[2] == 4 else D4
    for g, h in itertools.product(G, G):
        assert torch.equal(act(g, act(h, f)), act(g * h, f))


def test_rotations_of_rectangles_by_r_squared_and_mirrors():
    f = torch.randn(2, 3, 4, 6)
    assert torch.equal(act(r**2, f), torch.flip(f, dims=(-2, -1)))
    assert act(m, f).shape == f.shape


square_maps = st.integers(3, 6).map(lambda n: torch.randn(1, 2, 8, n, n))
plane_elements = st.builds(
    PlaneGroupElement,
    st.tuples(st.integers(-8, 8), st.integers(-8, 8)),
    st.builds(PointGroupElement, st.integers(0, 1), st.integers(0, 3)),
)


@given(square_maps, plane_elements, plane_elements)
def test_plane_group_action_on_the_torus_is_a_homomorphism(f, a, b):
    assert torch.equal(act(a, act(b, f)), act(a * b, f))


def test_translation_moves_values():
    f = torch.zeros(1, 1, 5, 5)
    f[..., 1, 1] = 1
    assert translate(f, (2, 1))[0, 0, 3, 2] == 1  # [L_t f](x) = f(x - t)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: act_on_plane(r, torch.zeros(3, 4)), ValueError, "square"),
        (lambda: act(r, torch.zeros(1, 1, 5, 4, 4)), ValueError, "size 5 does not tell the group"),
        (lambda: act(r, torch.zeros(1, 1, 2, 4, 4)), ValueError, "pass group=, one of \\['p2', 'pm_u'"),
        (lambda: act(r, torch.zeros(1, 1, 4, 4, 4), group="p2"), ValueError, "size 2, got size 4"),
        (lambda: act(r, torch.zeros(1, 1, 2, 4, 4), group="pm_v"), ValueError, "r is not an element of D1_v"),
        (lambda: act(r, torch.zeros(1, 1, 4, 4), group="p5"), ValueError, "unknown group 'p5'"),
        (lambda: act(m * r, torch.zeros(1, 1, 2, 4, 5), group="cm_main"), ValueError, "square"),
        (lambda: act(m, torch.zeros(1, 1, 4, 3, 3)), ValueError, "not an element of C4"),
        (lambda: act(r, torch.zeros(3, 3)), ValueError, "feature map"),
        (lambda: act(r, [[1.0]]), TypeError, "torch.Tensor"),
        (lambda: act(1, torch.zeros(1, 1, 3, 3)), TypeError, "point-group element"),
        (lambda: legacy_group(2), ValueError, "size 2"),
        (lambda: act_on_group(r, torch.zeros(3, 3)), ValueError, "a function on a group"),
    ],
)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_legacy_default_is_p4_and_p4m_only():
    assert legacy_group(4).name == "p4" and legacy_group(8).name == "p4m"
    f = torch.randn(1, 2, 4, 5, 5)
    assert torch.equal(act(r, f), act(r, f, group="p4"))
    f = torch.randn(1, 2, 8, 5, 5)
    assert torch.equal(act(m, f), act(m, f, group="p4m"))


def test_a_map_on_p1_is_planar_and_every_element_acts():
    f = torch.randn(1, 2, 1, 5, 5)
    for g in D4:
        assert torch.equal(act(g, f, group="p1"), act(g, f[:, :, 0]).unsqueeze(2))
        assert torch.equal(act(g, f), act(g, f, group="p1"))
