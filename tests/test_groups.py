"""The group laws of C4, D4, p4 and p4m, and the conventions that fix them."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from gcnn_edu.groups import (
    C4,
    D4,
    P4,
    P4M,
    PlaneGroupElement,
    PointGroupElement,
    e,
    m,
    plane_group,
    point_group,
    r,
)

GROUPS = [C4, D4]


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
    expected = torch.tensor([[(x * y).index for y in G] for x in G])
    assert torch.equal(G.compose(a, b), expected)
    assert torch.equal(G.invert(torch.arange(G.order)), torch.tensor([g.inverse().index for g in G]))


def test_lookup_by_name_and_index():
    assert point_group("p4") is C4 and point_group("p4m") is D4 and point_group("D4") is D4
    assert plane_group("p4") is P4 and plane_group("p4m") is P4M
    assert D4.element(5) == m * r and D4.index(m * r) == 5 and D4[3] == r**3


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: point_group("p6"), ValueError, "unknown group 'p6'"),
        (lambda: plane_group("C4"), ValueError, "'p4' or 'p4m'"),
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
    with pytest.raises(error, match=words.replace("(", r"\(").replace("{", r"\{").replace("}", r"\}")):
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
