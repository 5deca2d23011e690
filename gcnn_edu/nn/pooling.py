"""Pooling and normalisation of functions on p4 and p4m, all commuting with the group action.

* spatial pooling acts on every (channel, group element) plane separately; it commutes with
  rotations exactly when its windows tile the map symmetrically, (H + 2 padding - k) % stride
  == 0, and warns (or, with ``strict=True``, refuses) otherwise, as the convolutions do;
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

from .._validation import as_square, check_sampling
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


def _check_window(kernel_size, stride, padding, mode, what: str) -> tuple[int, int, int, str]:
    """A pooling window's arguments as ints (stride None: the kernel_size), checked."""
    kernel_size = as_square(kernel_size, "kernel_size")
    stride = kernel_size if stride is None else as_square(stride, "stride")
    padding = as_square(padding, "padding")
    if kernel_size < 1 or stride < 1 or padding < 0:
        raise ValueError(f"{what} needs kernel_size >= 1, stride >= 1 and padding >= 0, got "
                         f"kernel_size={kernel_size}, stride={stride}, padding={padding}")
    if padding > kernel_size // 2:
        raise ValueError(f"{what}: padding {padding} is more than half the kernel_size {kernel_size}, so a window "
                         f"could hold only padding: use padding <= {kernel_size // 2}")
    return kernel_size, stride, padding, _check_mode(mode)


def _check_spatial_map(x, what: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} expects a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in (4, 5):
        raise ValueError(f"{what} expects (N, C, H, W) or (N, C, |G|, H, W), got shape {tuple(x.shape)}")


def _check_pooling_input(x, window, strict: bool, what: str) -> None:
    _check_spatial_map(x, what)
    kernel_size, stride, padding, _ = window
    check_sampling(tuple(x.shape[-2:]), kernel_size, stride, padding, 1, layer=what, strict=strict,
                   window="pooling window")


def _pool(x, kernel_size: int, stride: int, padding: int, mode: str):
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    out = pool(x.flatten(1, 2) if x.dim() == 5 else x, kernel_size, stride, padding)
    return out.view(*x.shape[:-2], *out.shape[-2:])


def spatial_pool(x, kernel_size, stride=None, padding=0, mode="max", strict=False):
    """Max or average pooling over space of a planar (N, C, H, W) or group (N, C, |G|, H, W) map.

    Each (channel, group element) plane is pooled on its own, so pooling commutes with the
    action L_g exactly when the windows tile the square map symmetrically: when
    (H + 2 padding - kernel_size) % stride == 0 (``stride`` defaults to ``kernel_size``).
    Otherwise the last rows and columns are dropped on one side only; that warns with an
    :class:`~gcnn_edu._validation.EquivarianceWarning`, or raises a ValueError if ``strict``.
    """
    window = _check_window(kernel_size, stride, padding, mode, "spatial_pool")
    _check_pooling_input(x, window, strict, "spatial_pool")
    return _pool(x, *window)


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
    """:func:`spatial_pool` as a module; its arguments are checked when it is built.

    The input is checked once per (H, W, arguments) seen, so a run of same-sized maps pays for
    one check; changing ``stride`` or another argument after a call triggers a new one.
    """

    def __init__(self, kernel_size, stride=None, padding=0, mode="max", strict=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.mode = _check_window(
            kernel_size, stride, padding, mode, "SpatialPool")
        self.strict = strict
        self._checked_signature = None

    def forward(self, x):
        window = (self.kernel_size, self.stride, self.padding, self.mode)
        signature = (x.dim(), x.shape[-2:], window, self.strict) if isinstance(x, torch.Tensor) else None
        if signature is None or signature != self._checked_signature:
            window = _check_window(*window, "SpatialPool")
            _check_pooling_input(x, window, self.strict, "SpatialPool")
            self._checked_signature = signature
        return _pool(x, *window)

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
