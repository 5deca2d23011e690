"""The G-correlations the fast way: transform the filter with one gather, then one conv2d.

Every output channel g of a G-correlation correlates the input with L_g ψ. L_g only
*permutes* the entries of a filter (it rotates, flips and rolls an array), so all |G|
transformed copies can be read from ψ with one precomputed index (GrouPy's
"make_gconv_indices"):

    bank[o, g, i, h, u, v] = ψ[o, i, index[g, h, u, v]]      (flattened over (h, u, v))

The index comes straight from the definition [L_g ψ](h, x) = ψ(g^-1 h, g^-1 x): the entry
that lands at (h, x) is read from (g^-1 h, g^-1 x), with g^-1 x computed by g's integer
matrix on pixel coordinates centred on the kernel. (Letting the group act on ``arange``
gives the same index, as lesson 5 shows and the tests check.) The bank, reshaped to
(C_out |G|, C_in |H_in|, k, k), is the weight of a single ``F.conv2d`` on the input with its
group axis folded into the channels. Autograd flows through the gather: its backward is a
scatter-add (``index_add``) of the |G| gradients back onto ψ, as in the paper's supplementary
material, section 2.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
import torch.nn.functional as F

from ._validation import check_correlation_input
from .groups import resolve_group

__all__ = ["filter_index", "channel_index", "bias_index", "transform_filter", "transform_bias",
           "correlate", "lifting_correlation", "group_correlation"]


def filter_index(group, in_order: int, kernel_size: int) -> torch.Tensor:
    """index[g, h, u, v] = position in a filter (|H_in|, k, k), flattened, of the entry that
    L_g moves to (h, u, v), for g in the point group H of ``group`` (any of the ten plane groups,
    by name or object). Shape (|H|, |H_in|, k, k); |H_in| = 1 lifts a planar filter, |H_in| = |H|
    moves a filter on the group.

    A new tensor on every call: editing it cannot change the index of any layer."""
    return torch.tensor(_filter_index(group, in_order, kernel_size))


def channel_index(group, in_order: int, in_channels: int, kernel_size: int) -> torch.Tensor:
    """The flat gather index over a weight row (C_in, |H_in|, k, k), for all C_in at once:
    entry [g, i, h, u, v] = i |H_in| k^2 + index[g, h, u, v]; shape (|G| C_in |H_in| k^2,).

    A new tensor on every call, so every layer owns its index."""
    return torch.tensor(_channel_index(group, in_order, in_channels, kernel_size))


def bias_index(out_channels: int, group_order: int) -> torch.Tensor:
    """bias_index[o |G| + g] = o: the bias of output channel o, shared by its |G| planes."""
    return torch.arange(out_channels).repeat_interleave(group_order)


@cache
def _filter_index(group, in_order, kernel_size) -> np.ndarray:
    """NumPy, not torch: a cached tensor made while torch.export or torch.compile trace would be a
    placeholder (a fake tensor), and every later call would read it."""
    G = resolve_group(group)
    H = G.point_group
    if in_order not in (1, H.order):
        raise ValueError(f"a filter on {G.name} has |H_in| = 1 (lifting) or {H.order}, got {in_order}")
    k = kernel_size
    centred = 2 * np.arange(k) - (k - 1)  # twice the offset from the kernel's centre: integers for odd and even k
    points = np.stack(np.meshgrid(centred, centred, indexing="ij"), axis=-1)  # (k, k, 2): x = (u, v)
    index = np.empty((H.order, in_order, k, k), dtype=np.int64)
    for g in H:
        source = points @ g.inverse().matrix.T  # g^-1 x
        row, column = (source[..., 0] + k - 1) // 2, (source[..., 1] + k - 1) // 2
        for position, h in enumerate(H if in_order > 1 else [None]):
            plane = 0 if h is None else H.index(g.inverse() * h)  # g^-1 h (a planar filter has one plane)
            index[H.index(g), position] = (plane * k + row) * k + column
    return index


@cache
def _channel_index(group, in_order, in_channels, kernel_size) -> np.ndarray:
    index = _filter_index(group, in_order, kernel_size)
    offsets = np.arange(in_channels).reshape(1, -1, 1, 1, 1) * (in_order * kernel_size**2)
    return (offsets + index[:, None]).reshape(-1)


def transform_filter(weight: torch.Tensor, index: torch.Tensor, group_order: int) -> torch.Tensor:
    """The filter bank, shape (C_out |G|, C_in |H_in|, k, k), gathered from a weight
    (C_out, C_in, |H_in|, k, k) with a ``channel_index``."""
    c_out, c_in, in_order, k, _ = weight.shape
    bank = weight.reshape(c_out, -1).index_select(1, index)
    return bank.view(c_out * group_order, c_in * in_order, k, k)


def transform_bias(bias: torch.Tensor | None, index: torch.Tensor) -> torch.Tensor | None:
    """The bias of every bank channel (C_out |G|,): each output channel's bias repeated over the
    group axis, gathered with a ``bias_index`` (one gather, whose backward sums the |G| copies)."""
    return None if bias is None else bias.index_select(0, index)


def correlate(x, bank, bank_bias, group_order: int, stride: int, padding: int, dilation: int):
    """One conv2d with a filter bank: fold the input's group axis into its channels
    (c |H_in| + h), unfold the output's (c |G| + g). ``bank_bias`` has one entry per bank
    channel (C_out |G|): a bias per output channel repeated over the group, or None."""
    out = F.conv2d(x.flatten(1, 2) if x.dim() == 5 else x, bank, bank_bias, stride, padding, dilation)
    n, channels, height, width = out.shape  # every size spelled out (no -1): an empty batch keeps its shape
    return out.view(n, channels // group_order, group_order, height, width)


def lifting_correlation(x, weight, group="p4", *, stride=1, padding=0, dilation=1, bias=None):
    """Same maths and signature as :func:`gcnn_edu.didactic.lifting_correlation`, one conv2d."""
    check_correlation_input(x, weight, group, lifting=True, layer="lifting_correlation")
    return _correlate_with_index(x, weight, group, stride, padding, dilation, bias)


def group_correlation(x, weight, group="p4", *, stride=1, padding=0, dilation=1, bias=None):
    """Same maths and signature as :func:`gcnn_edu.didactic.group_correlation`, one conv2d."""
    check_correlation_input(x, weight, group, lifting=False, layer="group_correlation")
    return _correlate_with_index(x, weight, group, stride, padding, dilation, bias)


def _correlate_with_index(x, weight, group, stride, padding, dilation, bias):
    c_out, c_in, in_order, k, _ = weight.shape
    order = resolve_group(group).point_group.order
    index = torch.as_tensor(_channel_index(group, in_order, c_in, k), device=weight.device)
    bank = transform_filter(weight, index, order)
    bank_bias = transform_bias(bias, bias_index(c_out, order).to(weight.device))
    return correlate(x, bank, bank_bias, order, stride, padding, dilation)
