"""Pooling and normalisation of functions on a plane group, all commuting with the group action.

* spatial pooling acts on every (channel, group element) plane separately; it commutes with
  the group exactly when its windows tile the map symmetrically, (H + 2 padding - k) % stride
  == 0, and warns (or, with ``strict=True``, refuses) otherwise, as the convolutions do;
* group pooling reduces the group axis: the result is a planar map that moves with the input
  but no longer permutes, i.e. invariant to the point group up to the spatial motion;
* coset pooling changes G to a subgroup H ⊆ G: F(h) = pool_i f(h c_i) over the representatives
  c_i of the right cosets H c_i (for p4m -> p4: each rotation r^k with r^k m);
* batch norm shares its statistics and affine parameters over the group axis (the paper's
  section 6.2), so a normalised map still transforms like the input.

Spatial pooling, group pooling and batch norm work on a map on any group and need no group;
coset pooling, like :func:`gcnn_edu.nn.restrict`, is told G and H.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_square, check_sampling
from .restriction import GroupLike, _check_planar, _restriction_index, check_map_on, check_subgroup

__all__ = ["spatial_pool", "group_pool", "coset_pool", "SpatialPool", "GroupPool", "CosetPool",
           "GroupBatchNorm"]

_REDUCTIONS = ("max", "mean")


def _check_mode(mode: str) -> str:
    if mode not in _REDUCTIONS:
        raise ValueError(f"pooling mode must be 'max' or 'mean', got {mode!r}")
    return mode


def _check_group_map(x, what: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} expects a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 5:
        raise ValueError(f"{what} expects a function on a group, (N, C, |H|, H, W), got shape {tuple(x.shape)}")


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
                   group=None, window="pooling window")


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


def coset_pool(x, group: GroupLike = "p4m", subgroup: GroupLike = "p4", mode: str = "max", *,
               planar: bool = False):
    """G -> H ⊆ G by pooling over cosets: F(h, x) = pool_i f(h c_i, x), (N, C, |G|, H, W) -> (N, C, |H|, H, W).

    The c_i represent the right cosets H c_i of H in G (:func:`gcnn_edu.nn.restriction_index`),
    so F is :func:`gcnn_edu.nn.restrict` pooled over its coset channels: the action of k in H does
    not mix those channels, so F(L_k f) = L_k F(f) for every k in H. For p4m -> p4 (the defaults)
    the cosets are C4 and C4 m, so F(r^k) = pool(f(r^k), f(r^k m)) with r^k m = m r^-k.

    Args:
        x: a function on ``group``, (N, C, |G|, H, W).
        group, subgroup: G and H ⊆ G, by name or object. ``coset_pool(x, 'mean')`` (a mode in
            G's place) is the legacy p4m -> p4 call.
        mode: 'max' or 'mean'.
        planar: for H = p1 only, return the planar (N, C, H, W) (which is then :func:`group_pool`).
    """
    group, subgroup, mode = _legacy_mode_first(group, subgroup, mode)
    _check_mode(mode)
    G, H = check_subgroup(group, subgroup)
    check_map_on(x, G, "coset_pool")
    _check_planar(planar, H)
    index = _restriction_index(G, H, x.device)  # (cosets, |H|)
    pooled = x[:, :, index.T]  # (N, C, |H|, cosets, H, W)
    out = pooled.amax(dim=3) if mode == "max" else pooled.mean(dim=3)
    return out.squeeze(2) if planar else out


def _legacy_mode_first(group, subgroup, mode):
    """Before the ten groups, coset_pool(x, mode) and CosetPool(mode) meant p4m -> p4."""
    if isinstance(group, str) and group in _REDUCTIONS:
        if subgroup != "p4" or mode != "max":
            raise ValueError(f"coset pooling takes (group, subgroup, mode), got a mode {group!r} in the group's place")
        return "p4m", "p4", group
    return group, subgroup, mode


class SpatialPool(nn.Module):
    """Max or average pooling over space of every (channel, group element) plane:
    F(h, x) = pool over the window at x of f(h, .). It commutes with L_g for every g of the
    point group when the windows tile the map symmetrically.

    Args:
        kernel_size: the window, one int k (the same along rows and columns).
        stride: the step, one int (default: ``kernel_size``).
        padding: implicit padding on every side, at most k // 2.
        mode: 'max' or 'mean'.
        strict: raise instead of warning (``EquivarianceWarning``) where the window leaves rows or
            columns unpooled on one side only, (H + 2 padding - k) % stride != 0.

    Shape:
        input (N, C, |H|, H, W) or planar (N, C, H, W); output the same with
        H' = (H + 2 padding - k) // stride + 1 (and W' alike).

    The input is checked once per (H, W, arguments) seen, so a run of same-sized maps pays for
    one check; changing ``stride`` or another argument after a call triggers a new one.

    Example::

        >>> SpatialPool(2)(torch.randn(8, 10, 4, 24, 24)).shape
        torch.Size([8, 10, 4, 12, 12])
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
    """Pooling over the whole group axis, F(x) = pool over h of f(h, x): a planar map that moves
    with the input (F(L_g f) = L_g F for the spatial part of g) but no longer permutes, so a global
    pool of it afterwards is invariant to the point group.

    Args:
        mode: 'max' or 'mean'.

    Shape:
        input (N, C, |H|, H, W) on any group; output (N, C, H, W).

    Example::

        >>> GroupPool("max")(torch.randn(8, 10, 8, 5, 5)).shape
        torch.Size([8, 10, 5, 5])
    """

    def __init__(self, mode="max"):
        super().__init__()
        self.mode = _check_mode(mode)

    def forward(self, x):
        return group_pool(x, self.mode)

    def extra_repr(self):
        return f"mode={self.mode!r}"


class CosetPool(nn.Module):
    """:func:`coset_pool` as a module: a function on G becomes one on H ⊆ G, pooled over cosets.

    Args:
        group: G, the group of the input (default 'p4m').
        subgroup: H ⊆ G, the group of the output (default 'p4').
        mode: 'max' or 'mean'. ``CosetPool('mean')`` (a mode in G's place) is the legacy p4m -> p4.
        planar: for H = p1, return a planar map (N, C, H, W).

    Shape:
        input (N, C, |G|, H, W), output (N, C, |H|, H, W) (planar: (N, C, H, W)).

    Example::

        >>> CosetPool("p4m", "pmm")(torch.randn(2, 3, 8, 5, 5)).shape
        torch.Size([2, 3, 4, 5, 5])
    """

    def __init__(self, group: GroupLike = "p4m", subgroup: GroupLike = "p4", mode: str = "max", *,
                 planar: bool = False):
        super().__init__()
        group, subgroup, mode = _legacy_mode_first(group, subgroup, mode)
        self.group, self.subgroup = check_subgroup(group, subgroup)
        self.mode = _check_mode(mode)
        _check_planar(planar, self.subgroup)
        self.planar = planar

    def forward(self, x):
        return coset_pool(x, self.group, self.subgroup, self.mode, planar=self.planar)

    def extra_repr(self):
        return f"{self.group.name} -> {self.subgroup.name}, mode={self.mode!r}" + (
            ", planar=True" if self.planar else "")


class GroupBatchNorm(nn.BatchNorm3d):
    """Batch norm of a map on a group with one mean, variance, scale and shift per channel C,
    shared over the group axis and space (the paper's section 6.2), so that it commutes with L_g:
    a statistic per group element would treat the |H| planes of one feature differently.

    Args:
        num_features: the channels C; the other arguments are ``nn.BatchNorm3d``'s (eps,
            momentum, affine, track_running_stats, device, dtype).

    Shape:
        input and output (N, C, |H|, H, W); BatchNorm3d normalises over N, |H|, H, W.

    Example::

        >>> GroupBatchNorm(10)(torch.randn(8, 10, 4, 6, 6)).shape
        torch.Size([8, 10, 4, 6, 6])
    """

    def _check_input_dim(self, x):
        if x.dim() != 5:
            raise ValueError(f"GroupBatchNorm expects (N, C, |G|, H, W), got shape {tuple(x.shape)}: "
                             "use nn.BatchNorm2d for planar maps")
