"""Functions on groups (feature maps) and the left action of the group on them.

A feature map is a function on a plane group G = Z^2 ⋊ H, sampled on a finite grid:

* planar (Z^2):  ``(..., H, W)``            f(u, v)
* on G:          ``(..., |H|, H, W)``       f(h, u, v) for h in the point group H

The group axis (axis -3) is ordered by H's *local* index (:meth:`PointGroup.index`; for p4 and
p4m this is the D4 index). Filters use the same layout, ``(C_out, C_in, |H_in|, k, k)``, so one
action serves both. Since the size of the group axis does not tell the group (p2, pm_u, pm_v,
cm_main and cm_anti all have order 2; p4, pmm and cmm order 4), the group travels explicitly:
``act(g, f, group='pm_v')``.

The left action is [L_g f](x) = f(g^-1 x). For a point-group element g = m^j r^k acting
about the centre of the grid this is exact for odd and even sizes alike: ``rot90`` k times,
then a row flip if j = 1. On a function on G it also moves the value at h to g h:

    [L_g f](h, x) = f(g^-1 h, g^-1 x),      g in H,

i.e. the group axis is permuted (position a receives the value at H.index(g^-1 h_a)) and
every patch is transformed spatially (for r on p4: ``rot90(roll(f, 1, dim=-3))``).
Translations act on the torus by ``torch.roll``.

Legacy default: a 5-dim map passed without ``group`` whose group axis has size 4 or 8 is read
as a map on p4 or p4m, as before the other eight groups existed (:func:`legacy_group`; the only
place in the package that reads a group off a shape). Every other size needs ``group=``.
"""

from __future__ import annotations

import torch

from .groups import PLANE_GROUPS, PlaneGroup, PlaneGroupElement, PointGroup, PointGroupElement, resolve_group

__all__ = ["act", "act_on_plane", "act_on_group", "translate", "legacy_group"]

GroupLike = str | PlaneGroup | PointGroup


def act_on_plane(g: PointGroupElement, f: torch.Tensor) -> torch.Tensor:
    """[L_g f](x) = f(g^-1 x) on the last two axes (a planar function), about their centre."""
    _check_element(g)
    _check_tensor(f, min_dims=2, what="a planar map (..., H, W)")
    if g.k % 2 and f.shape[-1] != f.shape[-2]:
        raise ValueError(
            f"{g.label} swaps rows and columns, so it needs a square map, got H={f.shape[-2]}, "
            f"W={f.shape[-1]}: crop or pad it to H == W"
        )
    out = torch.rot90(f, g.k, dims=(-2, -1))
    return torch.flip(out, dims=(-2,)) if g.j else out


def act_on_group(g: PointGroupElement, f: torch.Tensor, group: GroupLike | None = None) -> torch.Tensor:
    """[L_g f](h, x) = f(g^-1 h, g^-1 x) for a function f on ``group``, group axis -3.

    ``group`` (a name such as 'pmm' or a group object) is required unless the axis has size 4
    or 8 (the legacy default p4 / p4m, :func:`legacy_group`); g must be an element of it.
    """
    _check_tensor(f, min_dims=3, what="a function on a group (..., |H|, H, W)")
    H = _point_group_of(f, group, dim=-3)
    H.check_member(g)
    g_inverse = g.inverse()
    source = [H.index(g_inverse * h) for h in H]  # the value at h comes from g^-1 h
    return act_on_plane(g, f[..., source, :, :])


def act(g: PointGroupElement | PlaneGroupElement, f: torch.Tensor, group: GroupLike | None = None) -> torch.Tensor:
    """L_g f for a feature map in the layouts of the conventions.

    Args:
        g: a point-group element (acting about the centre of the grid) or a plane-group element
            (t, h), which acts as L_t L_h with the translation on the torus.
        f: a planar map ``(N, C, H, W)``, or a map ``(N, C, |H|, H, W)`` on ``group``.
        group: the group of f's group axis (a name such as 'pm_v' or a group object). Not needed
            for a planar map, nor for an axis of size 1 (a map on p1 is planar: any g acts on it);
            for an axis of size 4 or 8 it defaults to p4 or p4m (:func:`legacy_group`); needed
            for every other axis. g must be an element of it.

    Example::

        >>> f = torch.randn(1, 3, 2, 5, 5)          # a function on pm_v = {e, mr^2}
        >>> act(m * r**2, f, group="pm_v").shape    # flips columns and swaps the two slices
        torch.Size([1, 3, 2, 5, 5])
    """
    if isinstance(g, PlaneGroupElement):
        return translate(act(g.h, f, group), g.t)
    _check_tensor(f, min_dims=4, what="a feature map (N, C, H, W) or (N, C, |H|, H, W)")
    if group is not None:
        resolve_group(group)  # a misspelt name is named even where a planar map does not need it
    if f.dim() == 4 or (f.dim() == 5 and f.shape[2] == 1 and group is None):
        return act_on_plane(g, f)
    if f.dim() == 5:
        if f.shape[2] == 1 and resolve_group(group).point_group.order == 1:
            return act_on_plane(g, f)  # p1 = Z^2: every point-group element acts on the plane
        return act_on_group(g, f, group)
    raise ValueError(
        f"expected a feature map (N, C, H, W) or (N, C, |H|, H, W), got {f.dim()} dims {tuple(f.shape)}: "
        "use act_on_plane or act_on_group for other layouts"
    )


def translate(f: torch.Tensor, t: tuple[int, int]) -> torch.Tensor:
    """[L_t f](x) = f(x - t), cyclically: the action of translations on the torus."""
    _check_tensor(f, min_dims=2, what="a map (..., H, W)")
    du, dv = (int(c) for c in t)
    return torch.roll(f, shifts=(du, dv), dims=(-2, -1))


def legacy_group(axis_size: int) -> PlaneGroup:
    """The documented legacy default of a map passed without a group: p4 for a group axis of
    size 4, p4m for size 8. Every other size (and every other group of order 4 or 8) must be
    named: p2, pm_u, pm_v, cm_main and cm_anti all have order 2, pmm and cmm order 4."""
    if axis_size == 4:
        return resolve_group("p4")
    if axis_size == 8:
        return resolve_group("p4m")
    raise ValueError(
        f"a group axis of size {axis_size} does not tell the group: pass group=, one of "
        f"{[G.name for G in _groups_of_order(axis_size)] or 'the ten plane groups (orders 1, 2, 4, 8)'}"
    )


def _point_group_of(f: torch.Tensor, group: GroupLike | None, dim: int) -> PointGroup:
    """The point group of f's group axis: ``group`` if given (checked against the axis size),
    else the legacy default."""
    size = f.shape[dim]
    if group is None:
        return legacy_group(size).point_group
    H = resolve_group(group).point_group
    if size != H.order:
        raise ValueError(
            f"a function on {resolve_group(H).name} has a group axis of size {H.order}, got size {size} in shape "
            f"{tuple(f.shape)}: pass the group the map lives on (groups of order {size}: "
            f"{[G.name for G in _groups_of_order(size)]})"
        )
    return H


def _groups_of_order(order: int) -> list[PlaneGroup]:
    return [G for G in PLANE_GROUPS if G.point_group.order == order]


def _check_element(g) -> None:
    if not isinstance(g, PointGroupElement):
        raise TypeError(f"expected a point-group element such as gcnn_edu.groups.r, got {type(g).__name__}")


def _check_tensor(f, min_dims: int, what: str) -> None:
    if not isinstance(f, torch.Tensor):
        raise TypeError(f"expected {what} as a torch.Tensor, got {type(f).__name__}")
    if f.dim() < min_dims:
        raise ValueError(f"expected {what}, got a tensor of shape {tuple(f.shape)}")
