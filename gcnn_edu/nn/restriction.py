"""Restriction: a function on G read as a function on a subgroup H, with every value kept.

Let H ⊆ G be point groups (subgroups of D4) and G = H c_1 ⊔ ... ⊔ H c_n the decomposition of G
into the n = |G| / |H| *right* cosets of H, with representatives c_i (the smallest member of each,
:meth:`PointGroup.coset_representatives` with ``side='right'``). Every g in G is h c_i for exactly
one pair (h, i), so a function f on G with C channels is the same data as n functions on H,

    (R f)_i(h, x) = f(h c_i, x),      i = 1..n,   h in H,

and ``restrict`` stores them as C n channels, channel c n + i. The right cosets are the ones that
make R commute with the action of H without mixing channels: for k in H,

    [L_k f](h c_i, x) = f(k^-1 h c_i, k^-1 x) = (R f)_i(k^-1 h, k^-1 x) = [L_k (R f)_i](h, x),

so R L_k = L_k R, each channel i transforming as a function on H. (The plane-group version is
the same computation: (t, h)(0, c_i) = (t, h c_i), and translations commute with R.) With left
cosets, f(c_i h), the action would give f(k^-1 c_i h), which is of the form f(c_i h') for every
h only if k commutes with c_i: the naive pairing of channel k with channel 4 + k for p4m -> p4,
f(r^k) with f(m r^k), is that left version and is not equivariant, since m r ≠ r m.

Coset pooling (:func:`gcnn_edu.nn.coset_pool`) reduces over i instead of keeping it:
F(h, x) = pool_i f(h c_i, x). A pool over channels that the action does not mix commutes with it.
"""

from __future__ import annotations

from functools import cache

import torch
from torch import nn

from ..groups import PlaneGroup, PointGroup, resolve_group, subgroups_of

__all__ = ["restriction_index", "restrict", "Restrict"]

GroupLike = str | PlaneGroup | PointGroup


def _restriction_index(group: PlaneGroup, subgroup: PlaneGroup, device=None) -> torch.Tensor:
    return torch.tensor(_restriction_rows(group, subgroup), dtype=torch.long, device=device)


@cache
def _restriction_rows(group: PlaneGroup, subgroup: PlaneGroup) -> tuple[tuple[int, ...], ...]:
    """Python ints, not a tensor: a cached tensor made while torch.export traces would be a fake one."""
    G, H = group.point_group, subgroup.point_group
    representatives = G.coset_representatives(H, side="right")
    return tuple(tuple(G.index(h * c) for h in H) for c in representatives)


def restriction_index(group: GroupLike, subgroup: GroupLike) -> torch.Tensor:
    """index[i, a] = local index in G of h_a c_i, shape (|G| / |H|, |H|): row i is the right
    coset H c_i, listed in H's local order h_a. Each local index of G appears exactly once.

    Example::

        >>> restriction_index("p4m", "p4")    # cosets C4 = C4 e and C4 m = {m, rm, r^2 m, r^3 m}
        tensor([[0, 1, 2, 3],
                [4, 7, 6, 5]])
    """
    G, H = check_subgroup(group, subgroup)
    return _restriction_index(G, H)


def check_subgroup(group: GroupLike, subgroup: GroupLike) -> tuple[PlaneGroup, PlaneGroup]:
    """Both groups resolved, after checking that ``subgroup`` lies in ``group``."""
    G, H = resolve_group(group), resolve_group(subgroup)
    if not H.is_subgroup_of(G):
        raise ValueError(
            f"{H.name} is not a subgroup of {G.name}: a map on {G.name} can be changed to one of "
            f"{[K.name for K in subgroups_of(G)]}"
        )
    return G, H


def check_map_on(x, G: PlaneGroup, what: str) -> None:
    """x is a function on G: (N, C, |G|, H, W)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} expects a torch.Tensor, got {type(x).__name__}")
    order = G.point_group.order
    if x.dim() != 5 or x.shape[2] != order:
        raise ValueError(
            f"{what} expects a function on {G.name}, shape (N, C, {order}, H, W), got shape {tuple(x.shape)}"
        )


def restrict(x: torch.Tensor, group: GroupLike, subgroup: GroupLike, *, planar: bool = False) -> torch.Tensor:
    """The function on G read as a function on H ⊆ G: (R f)_i(h, x) = f(h c_i, x), every value kept.

    Args:
        x: a function on ``group``, shape (N, C, |G|, H, W).
        group, subgroup: G and H ⊆ G, by name or object.
        planar: for H = p1 only, drop the size-1 group axis and return a planar map.

    Returns:
        (N, C |G|/|H|, |H|, H, W), channel c |G|/|H| + i holding coset i of channel c; with
        ``planar=True`` (H = p1) the planar (N, C |G|, H, W), which is ``x.flatten(1, 2)``.

    Equivariant to H: restrict(L_k x) = L_k restrict(x) for every k in H (see the module).
    """
    G, H = check_subgroup(group, subgroup)
    check_map_on(x, G, "restrict")
    _check_planar(planar, H)
    index = _restriction_index(G, H, x.device)
    n_cosets, order = index.shape
    out = x[:, :, index.flatten()].reshape(x.shape[0], x.shape[1] * n_cosets, order, *x.shape[-2:])
    return out.squeeze(2) if planar else out


def _check_planar(planar: bool, H: PlaneGroup) -> None:
    if planar and H.point_group.order != 1:
        raise ValueError(f"planar=True drops a group axis of size 1, i.e. needs the subgroup p1, got {H.name}")


class Restrict(nn.Module):
    """:func:`restrict` as a module: a function on G becomes one on the subgroup H, nothing lost.

    Args:
        group: G, the group of the input (a name such as 'p4m' or a group object).
        subgroup: H ⊆ G, the group of the output.
        planar: for H = p1, return a planar map (N, C', H, W) instead of (N, C', 1, H, W).

    Shape:
        input (N, C, |G|, H, W), output (N, C |G|/|H|, |H|, H, W) (planar: (N, C |G|, H, W)).
        A following layer on H takes ``in_channels = C * |G| // |H|`` (``restrict.channels(C)``).

    Example::

        >>> net = nn.Sequential(LiftingConv2d(1, 4, 3, group="p4m"), Restrict("p4m", "p4"),
        ...                     GroupConv2d(8, 4, 3, group="p4"))
        >>> net(torch.randn(1, 1, 9, 9)).shape
        torch.Size([1, 4, 4, 5, 5])
    """

    def __init__(self, group: GroupLike, subgroup: GroupLike, *, planar: bool = False):
        super().__init__()
        self.group, self.subgroup = check_subgroup(group, subgroup)
        _check_planar(planar, self.subgroup)
        self.planar = planar

    def channels(self, in_channels: int) -> int:
        """The number of output channels for ``in_channels`` input channels: C |G| / |H|."""
        return in_channels * self.group.point_group.order // self.subgroup.point_group.order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return restrict(x, self.group, self.subgroup, planar=self.planar)

    def extra_repr(self) -> str:
        return f"{self.group.name} -> {self.subgroup.name}" + (", planar=True" if self.planar else "")
