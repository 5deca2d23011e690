"""The G-correlations written straight from their definitions (Cohen & Welling 2016, eqs. 10, 11).

Each output channel g of a G-correlation is an ordinary planar correlation with the filter
*transformed by g*. Here every sum is a visible loop: over the output's group elements g,
with the filter moved by the group action L_g of :mod:`gcnn_edu.functions`; over the input's
group axis h; and over the filter's offsets y for the planar correlation itself (the paper's section 5),

    [f ⋆ ψ](t) = Σ_y Σ_k f_k(t + y) ψ_k(y).

Slow and clear; :mod:`gcnn_edu.fast` computes the same thing with one gather and one conv2d,
and the tests hold the two together to 1e-10 in float64.

Shapes follow the conventions: a planar input (N, C_in, H, W), a group input
(N, C_in, |G|, H, W), a weight (C_out, C_in, |H_in|, k, k), an output (N, C_out, |G|, H', W').
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._validation import check_correlation_input
from .functions import act_on_group, act_on_plane
from .groups import resolve_group

__all__ = ["planar_correlation", "lifting_correlation", "group_correlation"]


def planar_correlation(f, psi, *, stride=1, padding=0, dilation=1):
    """[f ⋆ ψ](t) = Σ_y Σ_k f_k(s t + d y) ψ_k(y) (section 5): the correlation that F.conv2d computes,
    written as a sum over the k x k filter offsets y = (a, b), with stride s and dilation d.

    f: (N, C_in, H, W), psi: (C_out, C_in, k, k) -> (N, C_out, H', W').
    """
    f = F.pad(f, (padding,) * 4)
    k = psi.shape[-1]
    out_h = (f.shape[-2] - dilation * (k - 1) - 1) // stride + 1
    out_w = (f.shape[-1] - dilation * (k - 1) - 1) // stride + 1
    out = f.new_zeros(f.shape[0], psi.shape[0], out_h, out_w)
    for a in range(k):
        for b in range(k):
            # f_k(s t + d y) for every output position t, at this one offset y = (a, b)
            shifted = f[..., dilation * a::stride, dilation * b::stride][..., :out_h, :out_w]
            out += torch.einsum("nkuv,ok->nouv", shifted, psi[:, :, a, b])  # Σ_k f_k ψ_k
    return out


def lifting_correlation(x, weight, group="p4", *, stride=1, padding=0, dilation=1, bias=None):
    """Lift a planar map to G = Z^2 ⋊ H, any of the ten plane groups (section 6.1):

        [f ⋆ ψ](g) = Σ_{y ∈ Z^2} Σ_k f_k(y) ψ_k(g^-1 y),      g = (t, h),

    and since g^-1 y = h^-1 (y - t), channel h is the planar correlation of f with L_h ψ.
    The output's group axis runs over H in its local index order.
    """
    check_correlation_input(x, weight, group, lifting=True, layer="lifting_correlation")
    outputs = []
    for h in resolve_group(group).point_group:
        psi_h = act_on_plane(h, weight[:, :, 0])  # [L_h ψ](y) = ψ(h^-1 y)
        outputs.append(planar_correlation(x, psi_h, stride=stride, padding=padding, dilation=dilation))
    return _add_bias(torch.stack(outputs, dim=2), bias)


def group_correlation(x, weight, group="p4", *, stride=1, padding=0, dilation=1, bias=None):
    """Correlate a function on G = Z^2 ⋊ H with a filter on G, any of the ten plane groups (section 6.1):

        [f ⋆ ψ](g) = Σ_{h ∈ G} Σ_k f_k(h) ψ_k(g^-1 h),

    where the sum over G runs over the input's group axis h and its positions y.
    For g = (t, s): ψ(g^-1 (y, h)) = [L_s ψ](h, y - t), so channel s correlates f with L_s ψ.
    """
    check_correlation_input(x, weight, group, lifting=False, layer="group_correlation")
    H = resolve_group(group).point_group
    outputs = []
    for s in H:
        psi_s = act_on_group(s, weight, H)  # [L_s ψ](h, y) = ψ(s^-1 h, s^-1 y)
        out_s = sum(
            planar_correlation(x[:, :, a], psi_s[:, :, a], stride=stride, padding=padding, dilation=dilation)
            for a in range(H.order)  # a: the local index of the input's element h
        )
        outputs.append(out_s)
    return _add_bias(torch.stack(outputs, dim=2), bias)


def _add_bias(out: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """One bias per output channel, shared over the group axis (so it commutes with L_g)."""
    return out if bias is None else out + bias.view(1, -1, 1, 1, 1)
