"""Functions on groups (feature maps) and the left action of the group on them.

A feature map is a function on a group, sampled on a finite grid:

* planar (Z^2):  ``(..., H, W)``            f(u, v)
* p4:            ``(..., 4, H, W)``         f(h, u, v) for h in C4
* p4m:           ``(..., 8, H, W)``         f(h, u, v) for h in D4

The group axis (axis -3) is ordered by element index (see :mod:`gcnn_edu.groups`).
Filters use the same layout, ``(C_out, C_in, |H_in|, k, k)``, so one action serves both.

The left action is [L_g f](x) = f(g^-1 x). For a point-group element g = m^j r^k acting
about the centre of the grid this is exact: ``rot90`` k times, then a row flip if j = 1.
On a function on p4 or p4m it also moves the value at h to g h:

    [L_g f](h, x) = f(g^-1 h, g^-1 x)

i.e. the group axis is permuted and every patch is transformed spatially (for r on p4:
``rot90(roll(f, 1, dim=-3))``). Translations act on the torus by ``torch.roll``.
"""

from __future__ import annotations

import torch

from .groups import PlaneGroupElement, PointGroup, PointGroupElement, point_group

__all__ = ["act", "act_on_plane", "act_on_group", "translate", "group_of_map"]


def act_on_plane(g: PointGroupElement, f: torch.Tensor) -> torch.Tensor:
    """[L_g f](x) = f(g^-1 x) on the last two axes (a planar function), about their centre."""
    _check_element(g)
    _check_tensor(f, min_dims=2, what="a planar map (..., H, W)")
    if g.k % 2 and f.shape[-1] != f.shape[-2]:
        raise ValueError(
            f"rotating by {g.label} needs a square map, got H={f.shape[-2]}, W={f.shape[-1]}: "
            "crop or pad it to H == W"
        )
    out = torch.rot90(f, g.k, dims=(-2, -1))
    return torch.flip(out, dims=(-2,)) if g.j else out


def act_on_group(g: PointGroupElement, f: torch.Tensor) -> torch.Tensor:
    """[L_g f](h, x) = f(g^-1 h, g^-1 x) for a function on p4 or p4m, group axis -3."""
    group = group_of_map(f)
    group.check_member(g)
    source = [(g.inverse() * h).index for h in group]  # the value at h comes from g^-1 h
    permuted = f[..., source, :, :]
    return act_on_plane(g, permuted)


def act(g: PointGroupElement | PlaneGroupElement, f: torch.Tensor) -> torch.Tensor:
    """L_g f for a feature map in the layouts of the conventions.

    A 4-dim tensor ``(N, C, H, W)`` is planar; a 5-dim tensor ``(N, C, |H|, H, W)`` is a
    function on p4 (|H| = 4), on p4m (|H| = 8), or planar (|H| = 1, a planar filter bank).
    A plane-group element (t, h) acts as L_t L_h, translations on the torus.
    """
    if isinstance(g, PlaneGroupElement):
        return translate(act(g.h, f), g.t)
    _check_tensor(f, min_dims=4, what="a feature map (N, C, H, W) or (N, C, |H|, H, W)")
    if f.dim() == 4 or (f.dim() == 5 and f.shape[2] == 1):
        return act_on_plane(g, f)
    if f.dim() == 5:
        return act_on_group(g, f)
    raise ValueError(
        f"expected a feature map (N, C, H, W) or (N, C, |H|, H, W), got {f.dim()} dims {tuple(f.shape)}: "
        "use act_on_plane or act_on_group for other layouts"
    )


def translate(f: torch.Tensor, t: tuple[int, int]) -> torch.Tensor:
    """[L_t f](x) = f(x - t), cyclically: the action of translations on the torus."""
    _check_tensor(f, min_dims=2, what="a map (..., H, W)")
    du, dv = (int(c) for c in t)
    return torch.roll(f, shifts=(du, dv), dims=(-2, -1))


def group_of_map(f: torch.Tensor) -> PointGroup:
    """C4 or D4, read off the size of the group axis (-3) of a p4 or p4m map."""
    _check_tensor(f, min_dims=3, what="a function on p4 or p4m (..., |H|, H, W)")
    size = f.shape[-3]
    if size == 4:
        return point_group("C4")
    if size == 8:
        return point_group("D4")
    raise ValueError(
        f"the group axis (-3) of a p4 map has size 4 and of a p4m map size 8, got size {size} "
        f"in shape {tuple(f.shape)}"
    )


def _check_element(g) -> None:
    if not isinstance(g, PointGroupElement):
        raise TypeError(f"expected a point-group element such as gcnn_edu.groups.r, got {type(g).__name__}")


def _check_tensor(f, min_dims: int, what: str) -> None:
    if not isinstance(f, torch.Tensor):
        raise TypeError(f"expected {what} as a torch.Tensor, got {type(f).__name__}")
    if f.dim() < min_dims:
        raise ValueError(f"expected {what}, got a tensor of shape {tuple(f.shape)}")
