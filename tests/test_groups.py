"""The group laws of the ten subgroups of D4 and their plane groups, and the conventions that fix them."""

import itertools
import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from gcnn_edu.groups import (
    C1,
    C2,
    C4,
    CMM,
    D4,
    GROUP_NAMES,
    P1,
    P2,
    P4,
    P4M,
    PLANE_GROUPS,
    PMM,
    PlaneGroup,
    PlaneGroupElement,
    PointGroup,
    PointGroupElement,
    e,
    m,
    plane_group,
    point_group,
    r,
    resolve_group,
    subgroup_lattice,
    subgroups_of,
)

GROUPS = [G.point_group for G in PLANE_GROUPS]


@pytest.mark.parametrize("G", GROUPS, ids=str)
def test_axioms_exhaustively(G):
    for a, b in itertools.product(G, G):
        assert a * b in G  # closure
    for a, b, c in itertools.product(G, G, G):
        assert (a * b) * c == a * (b * c)  # associativity
    for a in G:
        assert a * e == e * a == a  # identity
        assert a * a.inverse() == a.inverse() * a == e  # inverse


@pytest.mark.parametrize("G", GROUPS, ids=str)
def test_cayley_table_is_a_latin_square_with_identity_row(G):
    table = G.cayley_table
    assert table.shape == (G.order, G.order)
    for row in table:
        assert sorted(row) == list(range(G.order))
    for col in table.T:
        assert sorted(col) == list(range(G.order))
    np.testing.assert_array_equal(table[0], np.arange(G.order))


@pytest.mark.parametrize("G", GROUPS, ids=str)
def test_matrix_representation_is_a_faithful_homomorphism(G):
    for a, b in itertools.product(G, G):
        np.testing.assert_array_equal((a * b).matrix, a.matrix @ b.matrix)
    assert len({g.matrix.tobytes() for g in G}) == G.order
    for g in G:
        assert round(np.linalg.det(g.matrix)) == (-1 if g.j else 1)


def test_conventions_pinned():
    np.testing.assert_array_equal(r.matrix, [[0, -1], [1, 0]])  # counter-clockwise as displayed
    np.testing.assert_array_equal(m.matrix, [[-1, 0], [0, 1]])  # m flips rows
    assert (m * r).index == 5 and (m * r) == PointGroupElement(1, 1)
    assert r * m == m * r**3  # r m = m r^3
    assert [g.label for g in D4] == ["e", "r", "r^2", "r^3", "m", "mr", "mr^2", "mr^3"]
    assert [g.index for g in D4] == list(range(8))
    assert C4.elements == D4.elements[:4]
    # the composition law of the conventions, for every pair
    for (j1, k1), (j2, k2) in itertools.product(itertools.product(range(2), range(4)), repeat=2):
        product = PointGroupElement(j1, k1) * PointGroupElement(j2, k2)
        assert (product.j, product.k) == ((j1 + j2) % 2, ((-1) ** j2 * k1 + k2) % 4)


def test_generators_generate():
    assert C4.generators == (r,) and D4.generators == (r, m)
    assert r**4 == e and m**2 == e and (m * r) ** 2 == e
    assert r**-1 == r**3


@pytest.mark.parametrize("G", GROUPS, ids=str)
def test_batched_composition_and_inverse_match_elementwise(G):
    a, b = torch.meshgrid(torch.arange(G.order), torch.arange(G.order), indexing="ij")
    expected = torch.tensor([[G.index(x * y) for y in G] for x in G])  # local indices
    assert torch.equal(G.compose(a, b), expected)
    assert torch.equal(G.invert(torch.arange(G.order)), torch.tensor([G.index(g.inverse()) for g in G]))


def test_lookup_by_name_and_index():
    assert point_group("p4") is C4 and point_group("p4m") is D4 and point_group("D4") is D4
    assert plane_group("p4") is P4 and plane_group("p4m") is P4M and plane_group("C4") is P4
    assert D4.element(5) == m * r and D4.index(m * r) == 5 and D4[3] == r**3


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: point_group("p6"), ValueError, "unknown group 'p6'"),
        (lambda: resolve_group("P4"), ValueError, "'p1', 'p2', 'pm_u', 'pm_v', 'cm_main', 'cm_anti', 'p4', 'pmm'"),
        (lambda: resolve_group("pm"), ValueError, "'C1', 'C2', 'D1_u', 'D1_v', 'D1_main', 'D1_anti', 'C4'"),
        (lambda: resolve_group(4), TypeError, "a group is a name such as 'p4'"),
        (lambda: C2.index(r), ValueError, "r is not an element of C2 = {e, r^2}"),
        (lambda: D4.cosets(C4, side="middle"), ValueError, "'left' (cosets g H) or 'right'"),
        (lambda: C4.cosets("pm_u"), ValueError, "D1_u is not a subgroup of C4"),
        (lambda: C4.element(4), ValueError, "0..3, got index 4"),
        (lambda: D4.element(-1), ValueError, "0..7"),
        (lambda: D4.element(1.0), TypeError, "int"),
        (lambda: PointGroupElement(2, 0), ValueError, "j in {0, 1}"),
        (lambda: PointGroupElement(0, 4), ValueError, "k in {0, 1, 2, 3}"),
        (lambda: C4.check_member(m), ValueError, "not an element of C4"),
        (lambda: C4.index("r"), TypeError, "expected an element of C4"),
        (lambda: P4.element((0, 0), m), ValueError, "not an element of C4"),
        (lambda: PlaneGroupElement((1, 2, 3), e), ValueError, "pair"),
    ],
)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        call()


# --- plane groups, with hypothesis -------------------------------------------------------------

point_elements = st.builds(PointGroupElement, st.integers(0, 1), st.integers(0, 3))
p4_points = st.builds(PointGroupElement, st.just(0), st.integers(0, 3))
translations = st.tuples(st.integers(-50, 50), st.integers(-50, 50))
p4m_elements = st.builds(PlaneGroupElement, translations, point_elements)
p4_elements = st.builds(PlaneGroupElement, translations, p4_points)
points = st.tuples(st.integers(-50, 50), st.integers(-50, 50)).map(np.array)


@given(p4m_elements, p4m_elements, p4m_elements)
def test_plane_group_associativity(a, b, c):
    assert (a * b) * c == a * (b * c)


@given(p4m_elements)
def test_plane_group_identity_and_inverse(g):
    identity = P4M.identity
    assert g * identity == identity * g == g
    assert g * g.inverse() == g.inverse() * g == identity


@given(p4_elements, p4_elements)
def test_p4_is_closed(a, b):
    assert a * b in P4 and a.inverse() in P4


@given(p4m_elements, p4m_elements, points)
def test_action_on_points_is_a_homomorphism(a, b, x):
    np.testing.assert_array_equal((a * b).act(x), a.act(b.act(x)))
    np.testing.assert_array_equal(a.inverse().act(a.act(x)), x)


@given(p4m_elements, p4m_elements, points)
def test_homogeneous_matrices(a, b, x):
    np.testing.assert_array_equal((a * b).matrix, a.matrix @ b.matrix)
    np.testing.assert_array_equal((a.matrix @ np.append(x, 1))[:2], a.act(x))


def test_plane_group_element_acts_as_translation_after_point_element():
    g = PlaneGroupElement((2, 3), r)
    np.testing.assert_array_equal(g.act(np.array([1, 0])), [2 + 0, 3 + 1])  # r (1, 0) = (0, 1)


# --- the ten subgroups of D4 ---------------------------------------------------------------------

# The brief of each group, written out by hand: its name, point group, and D4 elements (j, k).
TEN = {
    "p1": ("C1", [(0, 0)]),
    "p2": ("C2", [(0, 0), (0, 2)]),
    "pm_u": ("D1_u", [(0, 0), (1, 0)]),
    "pm_v": ("D1_v", [(0, 0), (1, 2)]),
    "cm_main": ("D1_main", [(0, 0), (1, 1)]),
    "cm_anti": ("D1_anti", [(0, 0), (1, 3)]),
    "p4": ("C4", [(0, 0), (0, 1), (0, 2), (0, 3)]),
    "pmm": ("D2_uv", [(0, 0), (0, 2), (1, 0), (1, 2)]),
    "cmm": ("D2_diag", [(0, 0), (0, 2), (1, 1), (1, 3)]),
    "p4m": ("D4", [(j, k) for j in range(2) for k in range(4)]),
}


@pytest.mark.parametrize("name", TEN)
def test_each_group_has_the_documented_name_point_group_and_elements_in_d4_index_order(name):
    point_name, pairs = TEN[name]
    G = resolve_group(name)
    assert isinstance(G, PlaneGroup) and G.name == name and repr(G) == name
    assert G.point_group.name == point_name and resolve_group(point_name) is G
    assert [(g.j, g.k) for g in G.point_group] == pairs  # increasing D4 index 4 j + k
    assert [G.point_group.index(g) for g in G.point_group] == list(range(len(pairs)))
    assert list(G.point_group.d4_indices) == [4 * j + k for j, k in pairs]
    assert resolve_group(G) is G and resolve_group(G.point_group) is G
    assert point_group(name) is G.point_group and plane_group(name) is G


def test_the_ten_names_are_unambiguous():
    assert [G.name for G in PLANE_GROUPS] == list(TEN)
    assert len(set(GROUP_NAMES)) == 20  # ten plane-group names and ten point-group names
    assert len({G.point_group.elements for G in PLANE_GROUPS}) == 10  # ten different groups
    # and these are all subgroups of D4: every subset of D4 closed under products is one of them
    closed = set()
    for mask in range(1, 256):
        subset = {g for g in D4 if mask >> g.index & 1}
        if e in subset and all(a * b in subset for a in subset for b in subset):
            closed.add(tuple(sorted(g.index for g in subset)))
    assert closed == {tuple(G.point_group.d4_indices) for G in PLANE_GROUPS}


def test_matrices_of_the_mirrors_are_those_of_the_brief():
    np.testing.assert_array_equal((m * r**2).matrix, [[1, 0], [0, -1]])  # pm_v: v -> -v
    np.testing.assert_array_equal((m * r).matrix, [[0, 1], [1, 0]])  # cm_main: swaps u and v
    np.testing.assert_array_equal((m * r**3).matrix, [[0, -1], [-1, 0]])  # cm_anti: (u, v) -> (-v, -u)
    np.testing.assert_array_equal(m.matrix, [[-1, 0], [0, 1]])  # pm_u: u -> -u
    for g in D4:  # the words of `description` say what the matrix does to (u, v)
        u, v = g.matrix @ np.array([1, 2])
        words = {(-1, 2): "u -> -u", (1, -2): "v -> -v", (2, 1): "u <-> v", (-2, -1): "(-v, -u)",
                 (-2, 1): "counter-clockwise", (2, -1): "clockwise", (-1, -2): "180", (1, 2): "identity"}
        assert words[(u, v)] in g.description
    assert "counter" not in (r**3).description


@pytest.mark.parametrize("G", GROUPS, ids=str)
def test_cayley_table_in_local_indices_is_the_product_of_elements(G):
    for a, b in itertools.product(range(G.order), repeat=2):
        assert G.element(int(G.cayley_table[a, b])) == G.element(a) * G.element(b)
        assert G.index(G[a] * G[b]) == G.cayley_table[a, b]
    for a in range(G.order):
        assert G[int(G.inverse_indices[a])] == G[a].inverse()


def _closure_of(generators):
    out = {e}
    while True:
        new = out | {a * s for a in out for s in generators}
        if new == out:
            return out
        out = new


@pytest.mark.parametrize("G", GROUPS, ids=str)
def test_generators_are_minimal(G):
    assert _closure_of(G.generators) == set(G)
    for dropped in range(len(G.generators)):  # no generator can be left out
        rest = G.generators[:dropped] + G.generators[dropped + 1:]
        assert _closure_of(rest) != set(G)


@pytest.mark.parametrize("G", GROUPS, ids=str)
def test_membership_and_subgroup_relation(G):
    for g in D4:
        assert (g in G) == (g in set(G.elements))
    for K in GROUPS:
        assert G.is_subgroup_of(K) == set(G.elements).issubset(K.elements)
    assert G.is_subgroup_of(D4) and C1.is_subgroup_of(G)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("G", GROUPS, ids=str)
def test_cosets_partition_the_group(G, side):
    for H in (K for K in GROUPS if K.is_subgroup_of(G)):
        blocks = G.cosets(H, side)
        assert len(blocks) == G.order // H.order and all(len(b) == H.order for b in blocks)
        assert sorted(i for b in blocks for i in b) == list(range(G.order))  # disjoint and covering
        representatives = G.coset_representatives(H, side)
        for block, c in zip(blocks, representatives, strict=True):
            members = {c * h for h in H} if side == "left" else {h * c for h in H}
            assert {G[i] for i in block} == members and G.index(c) == min(block)


def test_left_and_right_cosets_differ_for_a_non_normal_subgroup():
    assert D4.cosets("pm_u", "left") == ((0, 4), (1, 7), (2, 6), (3, 5))  # r^k {e, m} = {r^k, m r^-k}
    assert D4.cosets("pm_u", "right") == ((0, 4), (1, 5), (2, 6), (3, 7))  # {e, m} r^k
    assert D4.cosets("p4", "left") == D4.cosets("p4", "right")  # C4 is normal in D4


def test_subgroup_lattice_is_the_hasse_diagram_of_d4():
    lattice = subgroup_lattice()
    assert sorted(lattice.nodes) == sorted(TEN)
    expected = {("p1", "p2"), ("p1", "pm_u"), ("p1", "pm_v"), ("p1", "cm_main"), ("p1", "cm_anti"),
                ("p2", "p4"), ("p2", "pmm"), ("p2", "cmm"), ("pm_u", "pmm"), ("pm_v", "pmm"),
                ("cm_main", "cmm"), ("cm_anti", "cmm"), ("p4", "p4m"), ("pmm", "p4m"), ("cmm", "p4m")}
    assert set(lattice.edges) == expected
    for name, data in lattice.nodes(data=True):
        assert data["group"] is resolve_group(name) and data["order"] == data["group"].point_group.order
    for a, b, data in lattice.edges(data=True):  # each edge is an inclusion of index 2
        assert resolve_group(a).is_subgroup_of(b) and data["index"] == 2
    # every inclusion is a path in the diagram, and only inclusions are
    import networkx as nx

    for H, K in itertools.product(PLANE_GROUPS, repeat=2):
        assert nx.has_path(lattice, H.name, K.name) == H.is_subgroup_of(K)


def test_subgroups_of():
    assert subgroups_of("p4") == (P1, P2, P4)
    assert subgroups_of("cmm") == (P1, P2, resolve_group("cm_main"), resolve_group("cm_anti"), CMM)
    assert len(subgroups_of("p4m")) == 10 and subgroups_of("p1") == (P1,)
    assert PMM.is_subgroup_of("p4m") and not PMM.is_subgroup_of("cmm") and P2.is_subgroup_of(PMM)


def test_groups_compare_by_elements():
    assert PointGroup("mine", (m * r**2, m)) == PMM.point_group
    assert resolve_group(PointGroup("mine", (m * r**2, m))) is PMM
    assert resolve_group(PlaneGroup("mine", C2)) is P2
    assert len({C1, PointGroup("trivial", ())}) == 1


@pytest.mark.parametrize("G", GROUPS, ids=str)
def test_batched_compose_and_invert_in_local_indices(G):
    a = torch.randint(G.order, (5, 7))
    b = torch.randint(G.order, (7,))
    expected = torch.tensor([[G.index(G[int(x)] * G[int(y)]) for x, y in zip(row, b, strict=True)] for row in a])
    assert torch.equal(G.compose(a, b), expected)
    assert torch.equal(G.compose(G.invert(a), a), torch.zeros_like(a))
