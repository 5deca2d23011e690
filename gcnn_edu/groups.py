"""The groups of a G-CNN, built from scratch.

Cohen & Welling (2016), section 4, use two point groups and the plane groups made from them:

* C4 = {r^k}: the four rotations by multiples of 90 degrees about a pixel centre.
* D4 = {m^j r^k}: C4 together with the mirror m, eight elements.
* p4 = Z^2 ⋊ C4 and p4m = Z^2 ⋊ D4: a translation t followed by a point-group
  element h, written g = (t, h) and acting on a point as g x = t + h x.

The conventions are those of ``shared/CONVENTIONS.md`` (and of GrouPy):

* r is the rotation by 90 degrees counter-clockwise *as displayed* (row axis u down,
  column axis v right); as a matrix on (u, v) it is ``[[0, -1], [1, 0]]``.
* m flips rows, u -> -u; as a matrix ``diag(-1, 1)``.
* The D4 element (j, k) is m^j r^k ("rotate by r^k, then mirror if j = 1") and has
  index 4 j + k, so indices 0..3 are the rotations and 4..7 the mirrored rotations.
* Since r m = m r^3, the product of two pairs is
  (j1, k1)(j2, k2) = (j1 + j2 mod 2, (-1)^j2 k1 + k2 mod 4).

Everything here is exact integer arithmetic; the tests check the group axioms on every
pair and triple of point-group elements and the homomorphism to matrices.
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
    "C4",
    "D4",
    "P4",
    "P4M",
    "e",
    "r",
    "m",
    "point_group",
    "plane_group",
]

_R = np.array([[0, -1], [1, 0]], dtype=np.int64)  # r: 90 degrees counter-clockwise as displayed
_M = np.array([[-1, 0], [0, 1]], dtype=np.int64)  # m: flips rows, u -> -u


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
        """Position on the group axis of a feature map: 4 j + k."""
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

    def __repr__(self) -> str:
        return self.label


e = PointGroupElement(0, 0)
r = PointGroupElement(0, 1)
m = PointGroupElement(1, 0)


class PointGroup:
    """A finite group of rotations (and mirrors) of the square, listed in index order."""

    def __init__(self, name: str, generators: tuple[PointGroupElement, ...]):
        self.name = name
        self.generators = generators
        self.elements = tuple(sorted(_closure(generators), key=lambda g: g.index))
        for position, g in enumerate(self.elements):
            assert g.index == position, "element indices must be 0..order-1"

    @property
    def order(self) -> int:
        return len(self.elements)

    def __len__(self) -> int:
        return self.order

    def __iter__(self):
        return iter(self.elements)

    def __contains__(self, g) -> bool:
        return isinstance(g, PointGroupElement) and g.index < self.order

    def __getitem__(self, index: int) -> PointGroupElement:
        return self.element(index)

    def __repr__(self) -> str:
        return self.name

    @property
    def identity(self) -> PointGroupElement:
        return e

    @property
    def has_mirrors(self) -> bool:
        return m in self

    def element(self, index: int) -> PointGroupElement:
        """The element with this index (0..order-1)."""
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"an element index of {self.name} is an int, got {type(index).__name__}")
        if not 0 <= index < self.order:
            raise ValueError(f"{self.name} has elements 0..{self.order - 1}, got index {index}")
        return self.elements[index]

    def index(self, g: PointGroupElement) -> int:
        """The index of g, after checking that g belongs to this group."""
        self.check_member(g)
        return g.index

    def check_member(self, g) -> PointGroupElement:
        if not isinstance(g, PointGroupElement):
            raise TypeError(
                f"expected an element of {self.name} (e.g. gcnn_edu.groups.r), got {type(g).__name__}"
            )
        if g not in self:
            raise ValueError(f"{g.label} is not an element of {self.name}: use D4 (or p4m) for mirrors")
        return g

    def label(self, index: int) -> str:
        return self.element(index).label

    @cached_property
    def cayley_table(self) -> np.ndarray:
        """table[a, b] = index of (element a) * (element b)."""
        return np.array([[(a * b).index for b in self] for a in self], dtype=np.int64)

    @cached_property
    def inverse_indices(self) -> np.ndarray:
        """inverse_indices[a] = index of (element a)^-1."""
        return np.array([g.inverse().index for g in self], dtype=np.int64)

    def compose(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Batched product of elements given by index tensors (a and b broadcast)."""
        table = torch.as_tensor(self.cayley_table, device=a.device)
        return table[a, b]

    def invert(self, a: torch.Tensor) -> torch.Tensor:
        """Batched inverse of elements given by an index tensor."""
        return torch.as_tensor(self.inverse_indices, device=a.device)[a]

    @cached_property
    def matrices(self) -> np.ndarray:
        """All 2x2 integer matrices, shape (order, 2, 2), in index order."""
        return np.stack([g.matrix for g in self])


def _closure(generators) -> set[PointGroupElement]:
    """Every product of the generators: the smallest group that contains them."""
    elements = {e}
    frontier = [e]
    while frontier:
        new = {g * s for g in frontier for s in generators} - elements
        elements |= new
        frontier = list(new)
    return elements


C4 = PointGroup("C4", (r,))
D4 = PointGroup("D4", (r, m))


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
    """Z^2 ⋊ H: all translations together with the point group H (C4 for p4, D4 for p4m)."""

    def __init__(self, name: str, point_group: PointGroup):
        self.name = name
        self.point_group = point_group

    def __repr__(self) -> str:
        return self.name

    @property
    def identity(self) -> PlaneGroupElement:
        return PlaneGroupElement((0, 0), e)

    def element(self, t=(0, 0), h: PointGroupElement = e) -> PlaneGroupElement:
        self.point_group.check_member(h)
        return PlaneGroupElement(t, h)

    def __contains__(self, g) -> bool:
        return isinstance(g, PlaneGroupElement) and g.h in self.point_group


P4 = PlaneGroup("p4", C4)
P4M = PlaneGroup("p4m", D4)

_POINT_GROUPS = {"C4": C4, "D4": D4, "p4": C4, "p4m": D4}
_PLANE_GROUPS = {"p4": P4, "p4m": P4M}


def point_group(name: str | PointGroup | PlaneGroup) -> PointGroup:
    """The point group named (or stabilising the origin of) ``name``: C4 for 'p4', D4 for 'p4m'."""
    if isinstance(name, PointGroup):
        return name
    if isinstance(name, PlaneGroup):
        return name.point_group
    if name not in _POINT_GROUPS:
        raise ValueError(f"unknown group {name!r}: expected one of {sorted(_POINT_GROUPS)}")
    return _POINT_GROUPS[name]


def plane_group(name: str | PlaneGroup) -> PlaneGroup:
    """The plane group 'p4' or 'p4m'."""
    if isinstance(name, PlaneGroup):
        return name
    if name not in _PLANE_GROUPS:
        raise ValueError(f"unknown plane group {name!r}: expected 'p4' or 'p4m'")
    return _PLANE_GROUPS[name]
