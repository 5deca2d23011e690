"""Measure equivariance: how far module(L_g x) is from L_g module(x), for every g."""

from __future__ import annotations

import torch

from .functions import act, group_of_map
from .groups import PointGroup, point_group

__all__ = ["check_equivariance"]


@torch.no_grad()
def check_equivariance(module, x: torch.Tensor, group: str | PointGroup | None = None,
                       invariant: bool | None = None) -> dict[str, float]:
    """The largest absolute error max |module(L_g x) - L_g module(x)| for each g of the point group.

    ``x`` is a planar (N, C, H, W) or group (N, C, |H|, H, W) input with N >= 1 and H == W (an
    empty or rectangular input raises a ValueError before the module is called). The point group
    is read from a group input, from ``group`` ('p4'/'C4' or 'p4m'/'D4') or from the ``group`` of the module's layers.
    An output of 2 or 3 dims (logits, vectors) is compared with module(x) itself (invariance);
    pass ``invariant`` to decide otherwise. Call ``module.eval()`` first if it has dropout.
    Returns ``{label: error}``, e.g. ``{'e': 0.0, 'r': 1.2e-07, ...}``.
    """
    _check_input(x)
    H = _point_group_for(module, x, group)
    y = module(x)
    if invariant is None:
        invariant = y.dim() < 4
    errors = {}
    for g in H:
        expected = y if invariant else act(g, y)
        errors[g.label] = (module(act(g, x)) - expected).abs().max().item()
    return errors


def _check_input(x) -> None:
    """A batch of at least one square map: rotations need H == W, and no input measures nothing."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"check_equivariance expects a torch.Tensor input, got {type(x).__name__}")
    if x.dim() not in (4, 5):
        raise ValueError("check_equivariance expects a planar (N, C, H, W) or group (N, C, |H|, H, W) input, "
                         f"got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("check_equivariance got an empty batch (N = 0), which measures nothing: "
                         f"pass at least one input, e.g. shape {(1, *x.shape[1:])}")
    height, width = x.shape[-2:]
    if height != width:
        raise ValueError(f"check_equivariance got a {height}x{width} input (H x W), but rotations need a square "
                         "input, H == W: crop or pad it to a square")


def _point_group_for(module, x, group) -> PointGroup:
    if group is not None:
        return point_group(group)
    if isinstance(x, torch.Tensor) and x.dim() == 5 and x.shape[2] in (4, 8):
        return group_of_map(x)
    groups = {layer.group for layer in module.modules() if isinstance(getattr(layer, "group", None), str)}
    if len(groups) == 1:
        return point_group(groups.pop())
    raise ValueError("check_equivariance cannot tell the group from a planar input: pass group='p4' or 'p4m'")
