"""Pooling and normalisation of functions on p4 and p4m, all commuting with the group action.

* spatial pooling acts on every (channel, group element) plane separately;
* group pooling reduces the group axis: the result is a planar map that rotates with the
  input but no longer permutes, i.e. invariant to the point group up to the spatial motion;
* coset pooling reduces p4m to p4 by pooling each rotation r^k with its mirror image r^k m;
* batch norm shares its statistics and affine parameters over the group axis (the paper's
  section 6.2), so a normalised map still transforms like the input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..groups import D4, m

__all__ = ["spatial_pool", "group_pool", "coset_pool", "SpatialPool", "GroupPool", "CosetPool",
           "GroupBatchNorm"]

_REDUCTIONS = ("max", "mean")


def _check_mode(mode: str) -> str:
    if mode not in _REDUCTIONS:
        raise ValueError(f"pooling mode must be 'max' or 'mean', got {mode!r}")
    return mode


def _check_group_map(x, what: str, sizes=(4, 8)) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} expects a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 5 or x.shape[2] not in sizes:
        expected = " or ".join(f"(N, C, {s}, H, W)" for s in sizes)
        raise ValueError(f"{what} expects a function on a group, {expected}, got shape {tuple(x.shape)}")


def spatial_pool(x, kernel_size, stride=None, padding=0, mode="max"):
    """Max or average pooling over space of a planar (N, C, H, W) or group (N, C, |G|, H, W) map."""
    _check_mode(mode)
    if not isinstance(x, torch.Tensor) or x.dim() not in (4, 5):
        raise ValueError(f"spatial_pool expects (N, C, H, W) or (N, C, |G|, H, W), got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    out = pool(x.flatten(1, 2) if x.dim() == 5 else x, kernel_size, stride, padding)
    return out.view(*x.shape[:-2], *out.shape[-2:])


def group_pool(x, mode="max"):
    """Pool over the whole group axis: (N, C, |G|, H, W) -> (N, C, H, W)."""
    _check_group_map(x, "group_pool")
    _check_mode(mode)
    return x.amax(dim=2) if mode == "max" else x.mean(dim=2)


def _coset_pairs() -> torch.Tensor:
    """For each rotation r^k, the D4 indices of the left coset r^k {e, m} = {r^k, r^k m}."""
    rotations = [g for g in D4 if g.is_rotation]
    return torch.tensor([[g.index, (g * m).index] for g in rotations])


_COSETS = _coset_pairs()  # [[0, 4], [1, 7], [2, 6], [3, 5]]: r^k m = m r^-k


def coset_pool(x, mode="max"):
    """p4m -> p4: F(r^k) = pool over j of f(r^k m^j), (N, C, 8, H, W) -> (N, C, 4, H, W).

    Pooling over the left cosets r^k {e, m} makes F transform as a function on p4:
    [L_s f](r^k m^j) = f(s^-1 r^k m^j), so rotating the input rotates F by the p4 action.
    """
    _check_group_map(x, "coset_pool", sizes=(8,))
    _check_mode(mode)
    pairs = x[:, :, _COSETS.to(x.device)]  # (N, C, 4, 2, H, W)
    return pairs.amax(dim=3) if mode == "max" else pairs.mean(dim=3)


class SpatialPool(nn.Module):
    """:func:`spatial_pool` as a module."""

    def __init__(self, kernel_size, stride=None, padding=0, mode="max"):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.mode = kernel_size, stride, padding, _check_mode(mode)

    def forward(self, x):
        return spatial_pool(x, self.kernel_size, self.stride, self.padding, self.mode)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, mode={self.mode!r}"


class GroupPool(nn.Module):
    """:func:`group_pool` as a module: an invariant planar map from a function on p4 or p4m."""

    def __init__(self, mode="max"):
        super().__init__()
        self.mode = _check_mode(mode)

    def forward(self, x):
        return group_pool(x, self.mode)

    def extra_repr(self):
        return f"mode={self.mode!r}"


class CosetPool(nn.Module):
    """:func:`coset_pool` as a module: p4m -> p4, pooling over the mirror."""

    def __init__(self, mode="max"):
        super().__init__()
        self.mode = _check_mode(mode)

    def forward(self, x):
        return coset_pool(x, self.mode)

    def extra_repr(self):
        return f"mode={self.mode!r}"


class GroupBatchNorm(nn.BatchNorm3d):
    """Batch norm of (N, C, |G|, H, W) with one mean, variance, scale and shift per channel C,
    shared over the group axis and space (BatchNorm3d normalises over N, |G|, H, W)."""

    def _check_input_dim(self, x):
        if x.dim() != 5:
            raise ValueError(f"GroupBatchNorm expects (N, C, |G|, H, W), got shape {tuple(x.shape)}: "
                             "use nn.BatchNorm2d for planar maps")
