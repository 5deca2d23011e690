"""The groups of a G-CNN on the square lattice, built from scratch: every subgroup of D4.

Cohen & Welling (2016), section 4, build G-CNNs on p4 and p4m; the same construction works for
every *plane group* Z^2 ⋊ H whose point group H is a subgroup of D4, the symmetries of the
square. There are ten such H, hence ten plane groups on the square lattice Z^2:

==========  ============  =================  ==================================================
name        point group   elements (D4 idx)  what the point-group elements do to an image
==========  ============  =================  ==================================================
'p1'        C1            e (0)              nothing: translations only (a planar CNN)
'p2'        C2            e, r^2 (0, 2)      r^2 rotates by 180 degrees
'pm_u'      D1_u          e, m (0, 4)        m flips rows, u -> -u: upside down (mirror axis
                                             horizontal)
'pm_v'      D1_v          e, mr^2 (0, 6)     mr^2 flips columns, v -> -v: left-right (mirror
                                             axis vertical)
'cm_main'   D1_main       e, mr (0, 5)       mr swaps u and v: the transpose, the mirror in the
                                             main diagonal
'cm_anti'   D1_anti       e, mr^3 (0, 7)     mr^3 maps (u, v) -> (-v, -u): the mirror in the
                                             anti-diagonal
'p4'        C4            e, r, r^2, r^3     rotations by multiples of 90 degrees
'pmm'       D2_uv         e, r^2, m, mr^2    both axis flips and their product r^2
'cmm'       D2_diag       e, r^2, mr, mr^3   both diagonal mirrors and their product r^2
'p4m'       D4            all eight          rotations and all four mirrors
==========  ============  =================  ==================================================

The "c" groups are the centred-rectangular ones of crystallography: a diagonal mirror does
not map the square lattice's axes to themselves, but the lattice Z^2 seen along the diagonals
is a centred rectangular lattice. Every name above (plane group or point group) is accepted
wherever the package asks for ``group=``; :func:`resolve_group` is the one place that reads it.

The conventions (the project's ``docs/conventions.md``, the same as GrouPy's):

* r is the rotation by 90 degrees counter-clockwise *as displayed* (row axis u down,
  column axis v right); as a matrix on (u, v) it is ``[[0, -1], [1, 0]]``.
* m flips rows, u -> -u; as a matrix ``diag(-1, 1)``.
* The D4 element (j, k) is m^j r^k ("rotate by r^k, then mirror if j = 1") and has
  *D4 index* 4 j + k, so indices 0..3 are the rotations and 4..7 the mirrored rotations.
* Since r m = m r^3, the product of two pairs is
  (j1, k1)(j2, k2) = (j1 + j2 mod 2, (-1)^j2 k1 + k2 mod 4).
* A subgroup H of D4 lists its elements in increasing D4 index. An element's position in
  that list is its *local index* ``H.index(g)``, its position on the group axis of a feature
  map on H. For C4 and D4 the local index is the D4 index; for the others it is not
  (mr^2 has D4 index 6 and local index 1 in D1_v), so always ask the group, ``H.index(g)``.
* A plane-group element g = (t, h) is a translation t after the point-group element h;
  it acts on a point as g x = t + h x.

Everything here is exact integer arithmetic; the tests check the group axioms on every
pair and triple of elements of every group, the homomorphism to matrices, the subgroup
lattice and the coset partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

__all__ = [
    "PointGroupElement",
    "PointGroup",
    "PlaneGroupElement",
    "PlaneGroup",
    "C1", "C2", "C4", "D4", "D1_U", "D1_V", "D1_MAIN", "D1_ANTI", "D2_UV", "D2_DIAG",
    "P1", "P2", "P4", "P4M", "PM_U", "PM_V", "CM_MAIN", "CM_ANTI", "PMM", "CMM",
    "PLANE_GROUPS",
    "GROUP_NAMES",
    "e",
    "r",
    "m",
    "resolve_group",
    "point_group",
    "plane_group",
    "subgroups_of",
    "subgroup_lattice",
]

_R = np.array([[0, -1], [1, 0]], dtype=np.int64)  # r: 90 degrees counter-clockwise as displayed
_M = np.array([[-1, 0], [0, 1]], dtype=np.int64)  # m: flips rows, u -> -u

_DESCRIPTIONS = {
    (0, 0): "the identity",
    (0, 1): "rotation by 90 degrees counter-clockwise",
    (0, 2): "rotation by 180 degrees",
    (0, 3): "rotation by 90 degrees clockwise",
    (1, 0): "upside-down flip, u -> -u (mirror axis horizontal)",
    (1, 1): "transpose, u <-> v (mirror in the main diagonal)",
    (1, 2): "left-right flip, v -> -v (mirror axis vertical)",
    (1, 3): "anti-transpose, (u, v) -> (-v, -u) (mirror in the anti-diagonal)",
}
@dataclass(frozen=True)
class PointGroupElement:
    """The element m^j r^k of D4 (j = 0 for the rotations of C4).

    Multiply with ``*``, invert with :meth:`inverse`; ``index`` is 4 j + k.
    """

    j: int  # 0 or 1: mirrored or not
    k: int  # 0..3: number of quarter turns

    def __post_init__(self):
        if self.j not in (0, 1) or self.k not in (0, 1, 2, 3):
            raise ValueError(
                f"a point-group element is m^j r^k with j in {{0, 1}} and k in {{0, 1, 2, 3}}; "
                f"got j={self.j!r}, k={self.k!r}"
            )

    def __mul__(self, other: PointGroupElement) -> PointGroupElement:
        """(j1, k1)(j2, k2) = (j1 + j2, (-1)^j2 k1 + k2), from r m = m r^3."""
        if not isinstance(other, PointGroupElement):
            return NotImplemented
        sign = -1 if other.j else 1
        return PointGroupElement((self.j + other.j) % 2, (sign * self.k + other.k) % 4)

    def __pow__(self, n: int) -> PointGroupElement:
        result, base = e, self if n >= 0 else self.inverse()
        for _ in range(abs(n)):
            result = result * base
        return result

    def inverse(self) -> PointGroupElement:
        """(r^k)^-1 = r^-k; a mirrored rotation m r^k is its own inverse."""
        return PointGroupElement(self.j, self.k if self.j else (-self.k) % 4)

    @property
    def index(self) -> int:
        """The D4 index 4 j + k: the position on the group axis of a map on C4 or D4. On any
        other subgroup H the position is H.index(g)."""
        return 4 * self.j + self.k

    @property
    def is_rotation(self) -> bool:
        return self.j == 0

    @property
    def matrix(self) -> np.ndarray:
        """The 2x2 integer matrix m^j r^k acting on (u, v)."""
        return np.linalg.matrix_power(_M, self.j) @ np.linalg.matrix_power(_R, self.k)

    @property
    def label(self) -> str:
        """'e', 'r', 'r^2', 'r^3', 'm', 'mr', 'mr^2', 'mr^3'."""
        rotation = {0: "", 1: "r", 2: "r^2", 3: "r^3"}[self.k]
        return ("m" if self.j else "") + rotation or "e"

    @property
    def description(self) -> str:
        """What L_g does to an image, in words, e.g. 'left-right flip, v -> -v (mirror axis vertical)'."""
        return _DESCRIPTIONS[self.j, self.k]

    def __repr__(self) -> str:
        return self.label


e = PointGroupElement(0, 0)
r = PointGroupElement(0, 1)
m = PointGroupElement(1, 0)


class PointGroup:
    """A subgroup of D4: rotations (and mirrors) of the square about the origin.

    The elements are the closure of ``generators``, listed in increasing D4 index; an
    element's position in :attr:`elements` is its *local index*, its position on the group
    axis of a feature map on this group (see :meth:`index`). Two point groups are equal when
    they have the same elements.

    Example::

        >>> D1_V.elements, D1_V.index(m * r**2), D1_V.cayley_table.tolist()
        ((e, mr^2), 1, [[0, 1], [1, 0]])
    """

    def __init__(self, name: str, generators: tuple[PointGroupElement, ...]):
        for g in generators:
            if not isinstance(g, PointGroupElement):
                raise TypeError(f"the generators of a point group are PointGroupElements, got {type(g).__name__}")
        self.name = name
        self.generators = tuple(generators)
        self.elements = tuple(sorted(_closure(self.generators), key=lambda g: g.index))
        self._local_index = {g: position for position, g in enumerate(self.elements)}

    @property
    def order(self) -> int:
        return len(self.elements)

    def __len__(self) -> int:
        return self.order

    def __iter__(self):
        return iter(self.elements)

    def __contains__(self, g) -> bool:
        return isinstance(g, PointGroupElement) and g in self._local_index

    def __getitem__(self, index: int) -> PointGroupElement:
        return self.element(index)

    def __eq__(self, other) -> bool:
        if not isinstance(other, PointGroup):
            return NotImplemented
        return self.elements == other.elements

    def __hash__(self) -> int:
        return hash(self.elements)

    def __repr__(self) -> str:
        return self.name

    @property
    def identity(self) -> PointGroupElement:
        return e

    @property
    def has_mirrors(self) -> bool:
        """Whether some element reverses orientation (det = -1)."""
        return any(g.j for g in self)

    @property
    def has_quarter_turns(self) -> bool:
        """Whether some element swaps the axes u and v (r, r^3, mr, mr^3): acting needs H == W."""
        return any(g.k % 2 for g in self)

    @property
    def d4_indices(self) -> np.ndarray:
        """The D4 index of every element, in local order: d4_indices[a] = elements[a].index."""
        return np.array([g.index for g in self], dtype=np.int64)

    def element(self, index: int) -> PointGroupElement:
        """The element with this local index (0..order-1)."""
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"an element index of {self.name} is an int, got {type(index).__name__}")
        if not 0 <= index < self.order:
            raise ValueError(f"{self.name} has elements 0..{self.order - 1}, got index {index}")
        return self.elements[index]

    def index(self, g: PointGroupElement) -> int:
        """The local index of g: its position in :attr:`elements` and on a feature map's group axis."""
        return self._local_index[self.check_member(g)]

    def check_member(self, g) -> PointGroupElement:
        """g itself, after checking that it is an element of this group."""
        if not isinstance(g, PointGroupElement):
            raise TypeError(
                f"expected an element of {self.name} (e.g. gcnn_edu.groups.r), got {type(g).__name__}"
            )
        if g not in self:
            containing = [G.name for G in PLANE_GROUPS if g in G.point_group]
            raise ValueError(
                f"{g.label} is not an element of {self.name} = {{{', '.join(h.label for h in self)}}}: "
                f"use a group that contains it, one of {containing}"
            )
        return g

    def label(self, index: int) -> str:
        return self.element(index).label

    @cached_property
    def cayley_table(self) -> np.ndarray:
        """table[a, b] = local index of (element a) * (element b)."""
        return np.array([[self._local_index[a * b] for b in self] for a in self], dtype=np.int64)

    @cached_property
    def inverse_indices(self) -> np.ndarray:
        """inverse_indices[a] = local index of (element a)^-1."""
        return np.array([self._local_index[g.inverse()] for g in self], dtype=np.int64)

    def compose(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Batched product of elements given by local-index tensors (a and b broadcast)."""
        table = torch.as_tensor(self.cayley_table, device=a.device)
        return table[a, b]

    def invert(self, a: torch.Tensor) -> torch.Tensor:
        """Batched inverse of elements given by a local-index tensor."""
        return torch.as_tensor(self.inverse_indices, device=a.device)[a]

    @cached_property
    def matrices(self) -> np.ndarray:
        """All 2x2 integer matrices, shape (order, 2, 2), in local index order."""
        return np.stack([g.matrix for g in self])

    def is_subgroup_of(self, other) -> bool:
        """Whether every element of this group lies in ``other`` (a group or a group's name)."""
        return set(self.elements) <= set(point_group(other).elements)

    def cosets(self, subgroup, side: str = "left") -> tuple[tuple[int, ...], ...]:
        """The cosets of ``subgroup`` in this group, as sorted tuples of local indices of this group.

        ``side='left'`` gives the left cosets g H = {g h : h in H}, ``side='right'`` the right
        cosets H g. Either kind partitions the group into |G| / |H| blocks of |H| elements. They
        are listed by their representative, the member of smallest index, which comes first.
        """
        H = point_group(subgroup)
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' (cosets g H) or 'right' (cosets H g), got {side!r}")
        if not H.is_subgroup_of(self):
            raise ValueError(f"{H.name} is not a subgroup of {self.name}: its cosets are not defined")
        blocks, covered = [], set()
        for g in self:  # in increasing index, so g is the smallest member of a new coset
            if g in covered:
                continue
            block = {g * h for h in H} if side == "left" else {h * g for h in H}
            covered |= block
            blocks.append(tuple(sorted(self._local_index[x] for x in block)))
        return tuple(blocks)

    def coset_representatives(self, subgroup, side: str = "left") -> tuple[PointGroupElement, ...]:
        """One element of each coset of :meth:`cosets` (its smallest), in the same order."""
        return tuple(self.elements[block[0]] for block in self.cosets(subgroup, side))


def _closure(generators) -> set[PointGroupElement]:
    """Every product of the generators: the smallest group that contains them."""
    elements = {e}
    frontier = [e]
    while frontier:
        new = {g * s for g in frontier for s in generators} - elements
        elements |= new
        frontier = list(new)
    return elements


C1 = PointGroup("C1", ())
C2 = PointGroup("C2", (r**2,))
C4 = PointGroup("C4", (r,))
D4 = PointGroup("D4", (r, m))
D1_U = PointGroup("D1_u", (m,))
D1_V = PointGroup("D1_v", (m * r**2,))
D1_MAIN = PointGroup("D1_main", (m * r,))
D1_ANTI = PointGroup("D1_anti", (m * r**3,))
D2_UV = PointGroup("D2_uv", (r**2, m))
D2_DIAG = PointGroup("D2_diag", (r**2, m * r))


@dataclass(frozen=True)
class PlaneGroupElement:
    """g = (t, h): first the point-group element h about the origin, then the translation t.

    As an affine map of Z^2, g x = t + h x; the product is
    (t1, h1)(t2, h2) = (t1 + h1 t2, h1 h2) and the inverse (-h^-1 t, h^-1).
    """

    t: tuple[int, int]
    h: PointGroupElement

    def __post_init__(self):
        t = tuple(int(c) for c in self.t)
        if len(t) != 2:
            raise ValueError(f"a translation is a pair (du, dv), got {self.t!r}")
        object.__setattr__(self, "t", t)

    def __mul__(self, other: PlaneGroupElement) -> PlaneGroupElement:
        if not isinstance(other, PlaneGroupElement):
            return NotImplemented
        shift = self.h.matrix @ np.array(other.t)
        return PlaneGroupElement(tuple(np.array(self.t) + shift), self.h * other.h)

    def inverse(self) -> PlaneGroupElement:
        h_inv = self.h.inverse()
        return PlaneGroupElement(tuple(-(h_inv.matrix @ np.array(self.t))), h_inv)

    def act(self, points: np.ndarray) -> np.ndarray:
        """g x = t + h x for integer points x of shape (..., 2) in (u, v) order."""
        points = np.asarray(points)
        return points @ self.h.matrix.T + np.array(self.t)

    @property
    def matrix(self) -> np.ndarray:
        """The homogeneous 3x3 matrix [[h, t], [0, 1]]."""
        out = np.eye(3, dtype=np.int64)
        out[:2, :2] = self.h.matrix
        out[:2, 2] = self.t
        return out

    def __repr__(self) -> str:
        return f"({self.t[0]}, {self.t[1]}; {self.h.label})"


class PlaneGroup:
    """Z^2 ⋊ H: all translations of the square lattice together with the point group H.

    A feature map on it is (N, C, |H|, H, W), the group axis in H's local index order.
    ``name`` is the plane group's ('p4'), ``point_group`` the stabiliser H of the origin (C4),
    ``description`` says what its point-group elements do to an image. Two plane groups are
    equal when their point groups are.
    """

    def __init__(self, name: str, point_group: PointGroup, description: str = ""):
        self.name = name
        self.point_group = point_group
        self.description = description

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other) -> bool:
        if not isinstance(other, PlaneGroup):
            return NotImplemented
        return self.point_group == other.point_group

    def __hash__(self) -> int:
        return hash(self.point_group)

    @property
    def identity(self) -> PlaneGroupElement:
        return PlaneGroupElement((0, 0), e)

    def element(self, t=(0, 0), h: PointGroupElement = e) -> PlaneGroupElement:
        self.point_group.check_member(h)
        return PlaneGroupElement(t, h)

    def __contains__(self, g) -> bool:
        return isinstance(g, PlaneGroupElement) and g.h in self.point_group

    def is_subgroup_of(self, other) -> bool:
        """Whether this plane group lies in ``other``: the same lattice, so iff the point groups do."""
        return self.point_group.is_subgroup_of(other)


P1 = PlaneGroup("p1", C1, "translations only")
P2 = PlaneGroup("p2", C2, "the 180-degree rotation")
PM_U = PlaneGroup("pm_u", D1_U, "the upside-down flip m (u -> -u)")
PM_V = PlaneGroup("pm_v", D1_V, "the left-right flip mr^2 (v -> -v)")
CM_MAIN = PlaneGroup("cm_main", D1_MAIN, "the transpose mr (mirror in the main diagonal)")
CM_ANTI = PlaneGroup("cm_anti", D1_ANTI, "the anti-transpose mr^3 (mirror in the anti-diagonal)")
P4 = PlaneGroup("p4", C4, "rotations by multiples of 90 degrees")
PMM = PlaneGroup("pmm", D2_UV, "both axis flips and the 180-degree rotation")
CMM = PlaneGroup("cmm", D2_DIAG, "both diagonal mirrors and the 180-degree rotation")
P4M = PlaneGroup("p4m", D4, "rotations by multiples of 90 degrees and all four mirrors")

PLANE_GROUPS: tuple[PlaneGroup, ...] = (P1, P2, PM_U, PM_V, CM_MAIN, CM_ANTI, P4, PMM, CMM, P4M)
"""The ten plane groups on the square lattice, by order of their point group."""

_BY_NAME = {G.name: G for G in PLANE_GROUPS} | {G.point_group.name: G for G in PLANE_GROUPS}
GROUP_NAMES: tuple[str, ...] = tuple(_BY_NAME)
"""Every name :func:`resolve_group` accepts: the ten plane groups, then their point groups."""


def resolve_group(group: str | PlaneGroup | PointGroup) -> PlaneGroup:
    """The plane group named or given by ``group``, the one resolver of the package.

    Accepts a plane-group name ('p4', 'pm_v', ...), a point-group name ('C4', 'D1_v', ...),
    a :class:`PlaneGroup` or a :class:`PointGroup` (any subgroup of D4, matched by its
    elements), and returns one of the ten :data:`PLANE_GROUPS`, e.g. ``resolve_group('C4') is P4``.
    """
    if isinstance(group, PlaneGroup):
        group = group.point_group
    if isinstance(group, PointGroup):
        for G in PLANE_GROUPS:
            if G.point_group == group:
                return G
        raise AssertionError(f"{group!r} is not a subgroup of D4")  # unreachable: all ten are listed
    if isinstance(group, str) and group in _BY_NAME:
        return _BY_NAME[group]
    if not isinstance(group, str):
        raise TypeError(f"a group is a name such as 'p4' or a PlaneGroup / PointGroup, got {type(group).__name__}")
    raise ValueError(
        f"unknown group {group!r}: expected one of the plane groups "
        f"{', '.join(repr(G.name) for G in PLANE_GROUPS)} or their point groups "
        f"{', '.join(repr(G.point_group.name) for G in PLANE_GROUPS)}"
    )


def point_group(group: str | PointGroup | PlaneGroup) -> PointGroup:
    """The point group of ``group`` (see :func:`resolve_group`): C4 for 'p4' or 'C4', D4 for 'p4m'."""
    return resolve_group(group).point_group


def plane_group(group: str | PlaneGroup | PointGroup) -> PlaneGroup:
    """The plane group of ``group``: the same as :func:`resolve_group`."""
    return resolve_group(group)


def subgroups_of(group: str | PlaneGroup | PointGroup) -> tuple[PlaneGroup, ...]:
    """Every plane group H of the ten with H ⊆ ``group`` (itself included), by order."""
    G = resolve_group(group)
    return tuple(H for H in PLANE_GROUPS if H.is_subgroup_of(G))


def subgroup_lattice():
    """The subgroup lattice of D4 (equivalently of p4m over the fixed lattice Z^2) as a
    ``networkx.DiGraph``: its Hasse diagram.

    Nodes are the ten plane-group names, with attributes ``group`` (the :class:`PlaneGroup`),
    ``point_group`` (its point group's name) and ``order`` (|H|). There is an edge H -> K iff
    H ⊂ K is a *maximal* proper inclusion (no group lies strictly between), with attribute
    ``index`` = |K| / |H| (always 2 here).
    """
    import networkx as nx

    lattice = nx.DiGraph()
    for G in PLANE_GROUPS:
        lattice.add_node(G.name, group=G, point_group=G.point_group.name, order=G.point_group.order)
    for H in PLANE_GROUPS:
        for K in PLANE_GROUPS:
            if H == K or not H.is_subgroup_of(K):
                continue
            between = [L for L in PLANE_GROUPS if L not in (H, K) and H.is_subgroup_of(L) and L.is_subgroup_of(K)]
            if not between:
                lattice.add_edge(H.name, K.name, index=K.point_group.order // H.point_group.order)
    return lattice
