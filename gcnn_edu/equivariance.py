"""Measure equivariance: how far module(L_g x) is from L_g module(x), for every g."""

from __future__ import annotations

import torch

from .functions import act, legacy_group
from .groups import PlaneGroup, PointGroup, resolve_group

__all__ = ["check_equivariance", "max_error", "format_errors", "layer_groups"]

GroupLike = str | PlaneGroup | PointGroup


@torch.no_grad()
def check_equivariance(module, x: torch.Tensor, group: GroupLike | None = None, invariant: bool | None = None,
                       *, input_group: GroupLike | None = None,
                       output_group: GroupLike | None = None) -> dict[str, float]:
    """The largest absolute error max |module(L_g x) - L_g module(x)| for each g of a point group.

    Args:
        module: any callable module; its layers' groups are read with :func:`layer_groups`.
        x: a planar (N, C, H, W) or group (N, C, |H|, H, W) input with N >= 1, H == W if the
            group has quarter turns (an empty or wrongly shaped input raises a ValueError before
            the module is called).
        group: the group whose elements g are checked (a name such as 'p4' or 'C4', or a group
            object). By default the group of the module's layers when they all have one group;
            when they have several (e.g. p4m layers, a CosetPool to p4, p4 layers) it must be
            given: the module is equivariant at most to the smallest of them. Without layers the
            legacy default of a 5-dim input applies (axis 4: p4, axis 8: p4m).
        invariant: compare module(L_g x) with module(x) instead of L_g module(x). By default an
            output of 2 or 3 dims (logits, vectors) is compared with module(x) itself.
        input_group, output_group: the groups that x and module(x) live on, for acting on them;
            by default the input group of the first group layer and the output group of the last
            one (in registration order, as in nn.Sequential), else ``group``. Only 5-dim maps
            need them.

    Returns:
        ``{label: error}``, e.g. ``{'e': 0.0, 'r': 1.2e-07, ...}``, one entry per element of ``group``.

    Call ``module.eval()`` first if it has dropout.
    """
    _check_input(x)
    layers = layer_groups(module)
    G = _checked_group(group, layers, x)
    _check_square(x, G)
    source = _resolve_or(input_group, layers[0][0] if layers else None, G)
    target = _resolve_or(output_group, layers[-1][1] if layers else None, G)
    y = module(x)
    if invariant is None:
        invariant = y.dim() < 4
    errors = {}
    for g in G.point_group:
        expected = y if invariant else act(g, y, target)
        errors[g.label] = max_error(module(act(g, x, source)), expected)
    return errors


def max_error(a, b) -> float | int:
    """max |a - b| over all entries (tensors, arrays or numbers): 0 means equal, and its size says
    how far from equal. The number the lessons print beside every check; a Python number of the
    difference's kind (an int for integer tensors, such as indices).

    Example::

        >>> max_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]))
        0.5
    """
    return (torch.as_tensor(a) - torch.as_tensor(b)).abs().max().item()



def format_errors(errors: dict, format: str = ".0e") -> str:
    """``{label: error}`` (what :func:`check_equivariance` returns) as one line, each error
    printed with ``format``: what the lessons print beside every check.

    Example::

        >>> format_errors({"e": 0.0, "r": 2.2e-16, "r2": 0.5})
        'e 0e+00  r 2e-16  r2 5e-01'
        >>> format_errors({"e": 0.0, "r": 0.53}, ".1f")
        'e 0.0  r 0.5'
    """
    return "  ".join(f"{label} {error:{format}}" for label, error in errors.items())

def _check_input(x) -> None:
    """A batch of at least one map: no input measures nothing."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"check_equivariance expects a torch.Tensor input, got {type(x).__name__}")
    if x.dim() not in (4, 5):
        raise ValueError("check_equivariance expects a planar (N, C, H, W) or group (N, C, |H|, H, W) input, "
                         f"got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("check_equivariance got an empty batch (N = 0), which measures nothing: "
                         f"pass at least one input, e.g. shape {(1, *x.shape[1:])}")


def _check_square(x, group: PlaneGroup) -> None:
    """Elements that swap the axes (quarter turns, diagonal mirrors) need H == W: name the input's size."""
    height, width = x.shape[-2:]
    if height != width and group.point_group.has_quarter_turns:  # r, r^3, mr, mr^3 swap u and v
        raise ValueError(f"check_equivariance got a {height}x{width} input (H x W), but {group.name} has elements "
                         "that swap rows and columns, which need a square input, H == W: crop or pad it to a square")


def layer_groups(module) -> list[tuple[PlaneGroup | None, PlaneGroup | None]]:
    """(input group, output group) of every group layer of ``module``, in registration order.

    A group layer is a module whose attribute ``group`` is a :class:`PlaneGroup` (LiftingConv2d,
    GroupConv2d, Restrict, CosetPool). A lifting layer (``lifting = True``) has a planar input
    (None); a layer with a ``subgroup`` (Restrict, CosetPool) maps ``group`` to ``subgroup``.
    """
    found = []
    for layer in module.modules() if hasattr(module, "modules") else ():
        group = getattr(layer, "group", None)
        if not isinstance(group, PlaneGroup):
            continue
        subgroup = getattr(layer, "subgroup", None)
        source = None if getattr(layer, "lifting", False) else group
        found.append((source, subgroup if isinstance(subgroup, PlaneGroup) else group))
    return found


def _resolve_or(given, from_layers, fallback) -> PlaneGroup:
    if given is not None:
        return resolve_group(given)
    return from_layers if from_layers is not None else fallback


def _checked_group(group, layers, x) -> PlaneGroup:
    if group is not None:
        return resolve_group(group)
    seen = list(dict.fromkeys(G for pair in layers for G in pair if G is not None))
    if len(seen) == 1:
        return seen[0]
    if len(seen) > 1:
        raise ValueError(
            f"the layers of this module live on several groups ({', '.join(G.name for G in seen)}): pass "
            "group=, the group whose equivariance to check (the smallest one, where they form a chain)"
        )
    if isinstance(x, torch.Tensor) and x.dim() == 5:
        return legacy_group(x.shape[2])
    raise ValueError("check_equivariance cannot tell the group of a module without group layers on a planar "
                     "input: pass group=, e.g. group='p4'")
