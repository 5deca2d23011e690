"""Checks at the library's edge: bad input is named, with its fix, before torch sees it."""

from __future__ import annotations

import operator
import os
import sys
import warnings

import numpy as np
import torch

from .groups import PLANE_GROUPS, resolve_group


class EquivarianceWarning(UserWarning):
    """The sampling grid of a layer is not symmetric, so the point group is not exactly commuted."""


def as_int(value, name: str) -> int:
    """A Python int from an int, a NumPy integer or a one-element integer tensor (``operator.index``).

    Floats (3.0, np.float32(3)), bools and everything else are refused: a size is a count.
    """
    if not isinstance(value, (bool, np.bool_)) and not (isinstance(value, torch.Tensor) and value.dtype == torch.bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    hint = f": use {int(value)}" if isinstance(value, (float, np.floating)) and float(value).is_integer() else ""
    shown = repr(value) if isinstance(value, str) else str(value)
    raise TypeError(f"{name} must be an int, got {type(value).__name__} {shown}{hint}")


def as_square(value, name: str) -> int:
    """An int, or a pair of equal ints: G-CNN layers need the same value along both axes."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be one int or a pair of equal ints, got {value!r}")
        first, second = as_int(value[0], name), as_int(value[1], name)
        if first != second:
            raise ValueError(
                f"{name} must be one int (the same along rows and columns, since rotations swap them), "
                f"got {value!r}"
            )
        return first
    return as_int(value, name)


def check_layer_arguments(in_channels, out_channels, kernel_size, group, stride, padding, dilation):
    """Normalise and check the constructor arguments shared by both G-conv layers."""
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if as_int(value, name) < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    kernel_size = as_square(kernel_size, "kernel_size")
    stride, padding, dilation = (as_square(v, n) for v, n in
                                 ((stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    if kernel_size < 1 or stride < 1 or dilation < 1 or padding < 0:
        raise ValueError(
            f"need kernel_size, stride, dilation >= 1 and padding >= 0, got kernel_size={kernel_size}, "
            f"stride={stride}, dilation={dilation}, padding={padding}"
        )
    resolve_group(group)  # names an unknown group, with the valid names
    return kernel_size, stride, padding, dilation


def check_correlation_input(x, weight, group: str, lifting: bool, layer: str) -> None:
    """Shapes, channels, dtype and device of an input against a weight (C_out, C_in, |H_in|, k, k)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{layer} expects a torch.Tensor, got {type(x).__name__}")
    G = resolve_group(group)
    order = G.point_group.order
    if lifting:
        if x.dim() != 4:
            hint = " (a function on a group: use GroupConv2d)" if x.dim() == 5 else ""
            raise ValueError(f"{layer} expects a planar input (N, C_in, H, W), got shape {tuple(x.shape)}{hint}")
    else:
        if x.dim() != 5:
            hint = " (a planar map: lift it first with LiftingConv2d)" if x.dim() == 4 else ""
            raise ValueError(
                f"{layer} expects a function on {G.name}, shape (N, C_in, {order}, H, W), "
                f"got shape {tuple(x.shape)}{hint}"
            )
        if x.shape[2] != order:
            candidates = [H.name for H in PLANE_GROUPS if H.point_group.order == x.shape[2]]
            raise ValueError(
                f"{layer} on {G.name} expects a group axis (dim 2) of size {order}, got size {x.shape[2]} "
                f"(a map on one of {candidates or 'no group'}) in shape {tuple(x.shape)}: build the layer "
                f"with the input's group, or change the input's group to a subgroup of it with "
                "CosetPool(group, subgroup) or Restrict(group, subgroup)"
            )
    in_channels = weight.shape[1]
    if x.shape[1] != in_channels:
        raise ValueError(f"{layer} expects {in_channels} input channels (dim 1), got {x.shape[1]}")
    check_floating_input(x, weight.dtype, layer)
    if x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type):  # autocast casts both
        raise TypeError(
            f"{layer}: the input is {x.dtype} but the weight is {weight.dtype}: "
            f"convert one, e.g. x.to({weight.dtype}) or layer.to({x.dtype})"
        )
    if x.device != weight.device:
        raise ValueError(
            f"{layer}: the input is on {x.device} but the weight is on {weight.device}: "
            f"move one, e.g. x.to('{weight.device}') or layer.to('{x.device}')"
        )


def check_floating_input(x: torch.Tensor, dtype: torch.dtype, what: str) -> None:
    """Layers and models compute in floating point: name an integer (or bool) input and its fix."""
    if x.is_floating_point() or x.is_complex():
        return
    fix = f"x.to({dtype}) or x.float()"
    if x.dtype == torch.uint8:
        fix += f"; 8-bit images of grey values 0..255 also need scaling to [0, 1]: x.to({dtype}) / 255"
    raise TypeError(f"{what} expects a floating-point input, got {x.dtype}: convert it with {fix}")


# The axes (0: rows u, 1: columns v) that some element of each point group reverses, read off the
# matrices once here: inside torch.compile's trace, branching on NumPy values would break the graph.
_REVERSED_AXES = {G.point_group.name: frozenset(axis for g in G.point_group for axis in (0, 1)
                                                if g.matrix[axis].sum() < 0) for G in PLANE_GROUPS}


def check_sampling(size: tuple[int, int], kernel_size, stride, padding, dilation, layer: str, strict: bool,
                   group="p4", window: str = "kernel"):
    """Stride s keeps the point group's action exact iff (n + 2 padding - k_eff) % s == 0 on every
    axis n that one of its elements reverses (u for m, v for mr^2, both for r^2 and quarter turns).
    ``group=None`` (a pooling window, which works on a map on any group) checks both axes.

    The same test holds for a convolution's kernel and a pooling window (``window="pooling
    window"``, dilation 1): a window of reach k_eff = dilation (k - 1) + 1 at stride s covers
    H + 2 padding - leftover pixels, the leftover all on the far side, which rotations move.
    """
    reach = dilation * (kernel_size - 1) + 1
    for n in size:
        if n + 2 * padding < reach:
            raise ValueError(
                f"{layer}: the input ({size[0]}x{size[1]}) plus padding {padding} is smaller than the "
                f"{window}'s reach {reach}: use a larger input or more padding"
            )
    G = resolve_group("p4m" if group is None else group)  # None: a window that does not know its group
    H = G.point_group
    if group is not None and H.has_quarter_turns and size[0] != size[1]:
        return  # a rectangular map cannot be rotated by 90 degrees, so no equivariance is claimed
    symmetry = "rotations or mirrors" if group is None else G.name
    reversed_axes = _REVERSED_AXES[H.name]
    leftovers = {axis: (size[axis] + 2 * padding - reach) % stride for axis in sorted(reversed_axes)}
    if any(leftovers.values()):
        axis, leftover = next((a, n) for a, n in leftovers.items() if n)
        what, letter = ("row(s)", "H") if axis == 0 else ("column(s)", "W")
        message = (
            f"{layer}: stride {stride} on a {size[0]}x{size[1]} input with padding {padding} and {window} "
            f"reach {reach} leaves {leftover} {what} unsampled on one side only, so the output is not "
            f"exactly equivariant to {symmetry}. Choose {letter} with ({letter} + 2*padding - {reach}) "
            f"% {stride} == 0"
        )
        if strict:
            raise ValueError(message)
        warnings.warn(message, EquivarianceWarning, stacklevel=user_stacklevel())


_LIBRARY_FOLDERS = (os.path.dirname(torch.__file__) + os.sep, os.path.dirname(__file__) + os.sep)  # torch/, gcnn_edu/


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` called by our caller that points at the user's line:
    the first frame outside torch and gcnn_edu (a module's ``__call__``, ``check_equivariance``...)."""
    frame, level = sys._getframe(1), 1  # level 1 is our caller, the function that warns
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_LIBRARY_FOLDERS):
        frame, level = frame.f_back, level + 1
    return level
