"""Deploying a G-CNN: :func:`export` turns a model into one built only from ``torch.nn`` modules.

A G-convolution is one ``conv2d`` with an expanded filter bank (see :mod:`gcnn_edu.fast`), so a
trained G-CNN *is* a plain CNN on the flattened layout (N, C |G|, H, W), channel c |G| + g holding
group element g of channel c. :func:`export` writes that CNN down, layer by layer:

=========================  =====================================================================
``LiftingConv2d``,         ``nn.Conv2d`` holding the filter bank (``layer.export()``); its output
``GroupConv2d``            stays flattened, (N, C_out |G|, H', W')
``GroupBatchNorm``         ``nn.Unflatten(1, (C, |G|))``, ``nn.BatchNorm3d(C)``, ``nn.Flatten(1, 2)``:
                           the same module, statistics shared over the group axis, so it is equal
                           in train *and* eval mode
``SpatialPool``            ``nn.MaxPool2d`` / ``nn.AvgPool2d`` on the flattened layout
``GroupPool``              ``nn.Unflatten(1, (C, |G|))``, ``nn.MaxPool3d`` / ``nn.AvgPool3d`` with
                           kernel (|G|, 1, 1), ``nn.Flatten(1, 2)``
``Restrict``               a reordering of each channel's |G| entries into the cosets H c_i of
                           the subgroup H (``restriction_index``), folded into the output channels
                           of the G-convolution that made the map (its filter bank reordered:
                           exact, and free at run time); nothing is added
``CosetPool``              the same reordering, which puts each coset's members side by side, then
                           ``nn.Unflatten(1, (C |H|, n))``, a pool with kernel (n, 1, 1) over the n
                           cosets, ``nn.Flatten(1, 2)``
``nn.GroupNorm``           on a flattened group map: ``nn.GroupNorm(groups, C |G|)``, the same
                           groups of elements, the affine parameters repeated over the group axis
elementwise ``torch.nn``   copied (``nn.ReLU``, ``nn.Dropout``, ``nn.Identity``, ...)
other ``torch.nn``         copied, after an ``nn.Unflatten`` back to (N, C, |G|, H, W) if they
                           see a group map
=========================  =====================================================================

A map that is still a group map at the end is unflattened, so the exported module takes the same
input as the model and returns a tensor of the same shape. It contains no gcnn_edu class, so it
runs, saves (``torch.save``, ``torch.export``, ``torch.onnx.export``) and loads where gcnn_edu
is not installed. It is for inference: every filter bank is a parameter of its own, so training
the exported module would untie the |G| copies of each filter and lose the equivariance. It does
not check its input as the model does (a wrong shape fails inside ``conv2d``).

A model is read as a sequence of modules: an ``nn.Sequential`` (nested ones are inlined), a
module with an ``as_sequential()`` method returning an ``nn.Sequential`` that computes the same
function, or a class registered with :func:`layer_sequence` (the models of :mod:`gcnn_edu.models`
are). A model with its own ``forward`` and neither of those cannot be read, and a module that is
neither a gcnn_edu layer nor a ``torch.nn`` module cannot be copied: both are named in the error,
with their path in the model.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import torch
from torch import nn

from . import models
from .nn import CosetPool, GroupBatchNorm, GroupConv2d, GroupPool, LiftingConv2d, Restrict, SpatialPool
from .nn.restriction import restriction_index

__all__ = ["export", "layer_sequence", "ExportError"]

# torch.nn modules that act on every entry alone: the flattened layout does not matter to them.
ELEMENTWISE = (nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
               nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus,
               nn.Softsign, nn.Tanhshrink, nn.Dropout, nn.AlphaDropout)
# torch.nn modules that map a planar map (N, C, H, W) to a planar map.
PLANAR = ELEMENTWISE + (nn.Conv2d, nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LocalResponseNorm,
                        nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d,
                        nn.Dropout2d, nn.ZeroPad2d, nn.ReflectionPad2d, nn.ReplicationPad2d, nn.ConstantPad2d)
_GCNN_LAYERS = (LiftingConv2d, GroupConv2d, GroupBatchNorm, SpatialPool, GroupPool, CosetPool, Restrict)


class ExportError(TypeError):
    """A model, or a module in it, that :func:`export` cannot turn into plain torch.nn modules."""


# ------------------------------------------------------------------------------------------------
# Reading a model as a sequence of modules
# ------------------------------------------------------------------------------------------------

@functools.singledispatch
def layer_sequence(model: nn.Module) -> list[nn.Module]:
    """The modules whose composition, in order, is ``model``'s forward (input checks aside).

    An ``nn.Sequential`` is its children; a model with ``as_sequential()`` is what that returns;
    one gcnn_edu layer or ``torch.nn`` module is itself. Register a model class with a forward of
    its own with ``@layer_sequence.register``, returning its submodules and plain ``torch.nn``
    modules for the functional steps of its forward (as the models of :mod:`gcnn_edu.models` do).
    """
    if isinstance(model, nn.Sequential):
        return list(model)
    as_sequential = getattr(model, "as_sequential", None)
    if callable(as_sequential):
        sequence = as_sequential()
        if not isinstance(sequence, nn.Sequential):
            raise ExportError(f"{type(model).__name__}.as_sequential() must return an nn.Sequential, "
                              f"got {type(sequence).__name__}")
        return list(sequence)
    if isinstance(model, _GCNN_LAYERS) or _is_torch_nn(model):
        return [model]
    raise ExportError(
        f"gcnn_edu.export cannot read the forward of {_qualname(model)}: give it a method as_sequential() "
        "returning an nn.Sequential that computes the same function, or register one with "
        f"@gcnn_edu.deploy.layer_sequence.register({type(model).__name__})")


def _global_max() -> list[nn.Module]:
    """(N, C, H, W) -> (N, C), the maximum over space: ``models._global_max``."""
    return [nn.AdaptiveMaxPool2d(1), nn.Flatten(1)]


def _layer_norm(channels: int) -> nn.Module:
    """``F.layer_norm(x, x.shape[1:])`` without affine parameters: one group holding every channel."""
    return nn.GroupNorm(1, channels, eps=1e-5, affine=False)


@layer_sequence.register
def _(model: models.SevenLayerCNN) -> list[nn.Module]:
    return [*model.features, model.top, model.pool, *_global_max()]


@layer_sequence.register
def _(model: models.P4CNNRotationPooling) -> list[nn.Module]:
    return [*model.features, *model.top, *_global_max()]


@layer_sequence.register
def _(model: models.CNN) -> list[nn.Module]:
    steps = [step for conv in model.convs for step in (conv, _layer_norm(conv.out_channels), nn.ReLU())]
    return [*steps, nn.AdaptiveAvgPool2d(1), nn.Flatten(1), model.classifier]


@layer_sequence.register
def _(model: models.GroupEquivariantCNN) -> list[nn.Module]:
    steps = [step for conv in model.convs for step in (conv, _layer_norm(conv.out_channels), nn.ReLU())]
    return [*steps, nn.AdaptiveAvgPool3d(1), nn.Flatten(1), model.classifier]  # mean over (|G|, H, W)


# ------------------------------------------------------------------------------------------------
# Writing it down with torch.nn modules
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Flat:
    """The running tensor is a group map (N, C, |G|, H, W) held flattened as (N, C |G|, H, W);
    ``producer`` is the nn.Conv2d that made it (only per-channel modules since)."""

    channels: int
    order: int
    producer: nn.Conv2d | None


class _Writer:
    """Turns modules, in forward order, into torch.nn modules on the flattened layout. ``flat`` is
    a :class:`_Flat` while the running tensor is a flattened group map, None while it is the
    model's own tensor; then ``planar`` says whether that is known to be a planar map."""

    def __init__(self, names: dict[int, str]):
        self.names = names
        self.out: list[nn.Module] = []
        self.moded: set[int] = set()  # modules that carry a mode of the model's (a copy, a batch norm)
        self.flat: _Flat | None = None
        self.planar = False

    def name(self, module: nn.Module) -> str:
        path = self.names.get(id(module))
        return f"{type(module).__name__} at {path!r}" if path else type(module).__name__

    def unflatten(self) -> None:
        """Back to the model's own layout (N, C, |G|, H, W)."""
        if self.flat is not None:
            self.out.append(nn.Unflatten(1, (self.flat.channels, self.flat.order)))
            self.flat, self.planar = None, False

    def write(self, module: nn.Module) -> None:
        if isinstance(module, (LiftingConv2d, GroupConv2d)):
            self.convolution(module)
        elif isinstance(module, GroupBatchNorm):
            self.batch_norm(module)
        elif isinstance(module, SpatialPool):
            self.spatial_pool(module)
        elif isinstance(module, GroupPool):
            self.group_pool(module)
        elif isinstance(module, CosetPool):
            self.coset_pool(module)
        elif isinstance(module, Restrict):
            self.restrict(module)
        elif isinstance(module, nn.Sequential) and _is_torch_nn_class(module):
            for child in module:
                self.write(child)
        elif not _is_torch_nn(module):
            if not _readable(module):
                self.refuse(module)
            for child in layer_sequence(module):
                self.write(child)
        elif self.flat is not None and isinstance(module, ELEMENTWISE):
            self.out.append(self.copy(module))
        elif self.flat is not None and isinstance(module, nn.GroupNorm):
            self.out.append(self.moded_like(_flat_group_norm(module, self.flat.order), module))
        else:
            self.unflatten()
            self.out.append(self.copy(module))
            self.planar = self.planar and isinstance(module, PLANAR)

    def moded_like(self, new: nn.Module, module: nn.Module) -> nn.Module:
        """``new`` in ``module``'s train / eval mode, if ``module`` is part of the model."""
        if id(module) in self.names:
            new.train(module.training)
            self.moded.add(id(new))
        return new

    def copy(self, module: nn.Module) -> nn.Module:
        return self.moded_like(copy.deepcopy(module), module)

    def refuse(self, module: nn.Module) -> None:
        inner = next((m for m in module.modules() if isinstance(m, _GCNN_LAYERS) or not _is_torch_nn_class(m)),
                     module)
        what = self.name(inner) + ("" if inner is module else f" inside {self.name(module)}")
        raise ExportError(
            f"gcnn_edu.export cannot turn {what} into torch.nn modules: it knows LiftingConv2d, GroupConv2d, "
            "GroupBatchNorm, SpatialPool, GroupPool, CosetPool, Restrict, nn.Sequential and the torch.nn modules; "
            "write this part of the model as an nn.Sequential of those, or give its class an "
            "as_sequential() method (see gcnn_edu.deploy)")

    def convolution(self, layer) -> None:
        if self.flat is None and not layer.lifting:
            self.out.append(nn.Flatten(1, 2))  # the model's own (N, C, |G|, H, W) -> (N, C |G|, H, W)
        elif self.flat is not None and (layer.lifting or self.flat.order != layer.in_order):
            raise ExportError(f"{self.name(layer)} expects a {'planar map' if layer.lifting else 'group map'} "
                              f"with a group axis of size {layer.in_order}, but the module before it returns "
                              f"a group map with a group axis of size {self.flat.order}")
        conv = layer.export()
        self.out.append(conv)
        self.flat = _Flat(layer.out_channels, layer.group_order, conv)

    def batch_norm(self, norm: GroupBatchNorm) -> None:
        plain = nn.BatchNorm3d(norm.num_features, norm.eps, norm.momentum, norm.affine, norm.track_running_stats,
                               **_factory(norm))
        plain.load_state_dict(norm.state_dict())
        self.moded_like(plain, norm)
        if self.flat is None:
            self.out.append(plain)
            return
        self.out += [nn.Unflatten(1, (self.flat.channels, self.flat.order)), plain, nn.Flatten(1, 2)]

    def spatial_pool(self, pool: SpatialPool) -> None:
        if self.flat is not None or self.planar:  # on the flattened layout every (channel, group
            plain = nn.MaxPool2d if pool.mode == "max" else nn.AvgPool2d  # element) plane is a channel
            self.out.append(plain(pool.kernel_size, pool.stride, pool.padding))
            return
        # the model's own layout, planar (N, C, H, W) or a group map (N, C, |G|, H, W): a 3-d pool
        # with a kernel of depth 1 is the 2-d pool of every plane for both (a 4-d input is one
        # unbatched volume to it)
        plain = nn.MaxPool3d if pool.mode == "max" else nn.AvgPool3d
        stride = pool.kernel_size if pool.stride is None else pool.stride
        self.out.append(plain((1, *_pair(pool.kernel_size)), (1, *_pair(stride)), (0, *_pair(pool.padding))))

    def group_pool(self, pool: GroupPool) -> None:
        if self.flat is None:  # a group map of unknown order in the model's own layout
            plain = nn.AdaptiveMaxPool3d if pool.mode == "max" else nn.AdaptiveAvgPool3d
            self.out += [plain((1, None, None)), nn.Flatten(1, 2)]
            self.planar = True
            return
        plain = nn.MaxPool3d if pool.mode == "max" else nn.AvgPool3d
        self.out += [nn.Unflatten(1, (self.flat.channels, self.flat.order)), plain((self.flat.order, 1, 1)),
                     nn.Flatten(1, 2)]
        self.flat, self.planar = None, True  # a planar map, as in the model

    def fold_permutation(self, module, within: torch.Tensor) -> None:
        """Reorder the group axis of the running map, position j <- position ``within[j]`` in every
        channel's block, by reordering the output channels of the nn.Conv2d that made it: exact,
        and free at run time. Valid because only per-channel modules came since."""
        if self.flat is None or self.flat.producer is None or self.flat.order != within.numel():
            raise ExportError(
                f"{self.name(module)}: gcnn_edu.export folds its channel permutation into the G-convolution "
                f"that made its input, so it must follow a G-convolution (its input a group axis of size "
                f"{within.numel()}) with only per-channel modules (batch norm, ReLU, dropout, spatial pooling, "
                "Restrict) between them")
        conv, order = self.flat.producer, self.flat.order
        permutation = (torch.arange(self.flat.channels).view(-1, 1) * order + within).flatten()
        with torch.no_grad():
            conv.weight.copy_(conv.weight[permutation.to(conv.weight.device)])
            if conv.bias is not None:
                conv.bias.copy_(conv.bias[permutation.to(conv.bias.device)])

    def restrict(self, module: Restrict) -> None:
        """(R f)_i(h_a) = f(h_a c_i), channel c n + i: on the flattened layout a reordering of each
        channel's block to (i, a), i.e. to ``restriction_index`` read row by row."""
        index = restriction_index(module.group, module.subgroup)  # (n cosets, |H|)
        self.fold_permutation(module, index.flatten())
        cosets, order = index.shape
        self.flat = _Flat(self.flat.channels * cosets, order, self.flat.producer)
        if module.planar:  # H = p1: the flattened map is the planar (N, C |G|, H, W) itself
            self.flat, self.planar = None, True

    def coset_pool(self, pool: CosetPool) -> None:
        """F(h_a) = pool_i f(h_a c_i): reorder each block to (a, i), so that every coset's members
        are side by side, then a (n, 1, 1) pool over them."""
        index = restriction_index(pool.group, pool.subgroup)  # (n cosets, |H|)
        self.fold_permutation(pool, index.T.flatten())
        cosets, order = index.shape
        plain = nn.MaxPool3d if pool.mode == "max" else nn.AvgPool3d
        self.out += [nn.Unflatten(1, (self.flat.channels * order, cosets)), plain((cosets, 1, 1)), nn.Flatten(1, 2)]
        self.flat = _Flat(self.flat.channels, order, None)
        if pool.planar:  # H = p1: (N, C, H, W)
            self.flat, self.planar = None, True


def export(model: nn.Module) -> nn.Sequential:
    """``model`` as an ``nn.Sequential`` of ``torch.nn`` modules only: G-convolutions as ``nn.Conv2d``
    on the flattened layout (N, C |G|, H, W), pooling and batch norm as their torch.nn equivalents,
    planar modules copied (see the table in :mod:`gcnn_edu.deploy`).

    Args:
        model: a gcnn_edu layer, an ``nn.Sequential``, a model of :mod:`gcnn_edu.models`, or any
            module readable by :func:`layer_sequence`. It is not changed.

    Returns:
        A new module with the same input and output shapes, equal to ``model`` in eval mode up to
        float rounding (1e-5 in float32; the filter banks are copied, not recomputed), and in the
        same train / eval mode as ``model``.

    Raises:
        ExportError: a part of the model that cannot be read or turned into torch.nn modules,
            named by its class and its path in the model.

    Example::

        >>> import torch, gcnn_edu
        >>> from gcnn_edu.models import P4CNN
        >>> model = P4CNN().eval()
        >>> plain = gcnn_edu.export(model)
        >>> x = torch.rand(2, 1, 28, 28)
        >>> bool((plain(x) - model(x)).abs().max() < 1e-5)
        True
    """
    if not isinstance(model, nn.Module):
        raise ExportError(f"gcnn_edu.export expects an nn.Module, got {type(model).__name__}")
    names = {id(module): name or "<model>" for name, module in model.named_modules()}
    writer = _Writer(names)
    for module in layer_sequence(model):
        writer.write(module)
    writer.unflatten()
    for module in writer.out:  # the modules the writer made have the model's mode
        if id(module) not in writer.moded:
            module.train(model.training)
    exported = nn.Sequential(*writer.out)
    exported.training = model.training
    return exported


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------

def _readable(model: nn.Module) -> bool:
    """Whether :func:`layer_sequence` can read ``model`` as a sequence of other modules."""
    registered = layer_sequence.dispatch(type(model)) is not layer_sequence.dispatch(nn.Module)
    return registered or callable(getattr(model, "as_sequential", None))


def _is_torch_nn_class(module: nn.Module) -> bool:
    return type(module).__module__.startswith("torch.nn.")


def _is_torch_nn(module: nn.Module) -> bool:
    """A module, and everything inside it, of torch.nn's own classes."""
    return all(_is_torch_nn_class(m) for m in module.modules())


def _qualname(module: nn.Module) -> str:
    return f"{type(module).__module__}.{type(module).__qualname__}"


def _factory(module: nn.Module) -> dict:
    tensor = next(iter([*module.parameters(), *module.buffers()]), None)
    return {} if tensor is None else {"device": tensor.device, "dtype": tensor.dtype if tensor.is_floating_point()
                                      else None}


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _flat_group_norm(norm: nn.GroupNorm, order: int) -> nn.GroupNorm:
    """GroupNorm of (N, C, |G|, H, W) as GroupNorm of (N, C |G|, H, W): group k holds channels
    k C/groups .. (k+1) C/groups - 1, i.e. flat channels k C |G|/groups .. , the same entries."""
    plain = nn.GroupNorm(norm.num_groups, norm.num_channels * order, norm.eps, norm.affine, **_factory(norm))
    if norm.affine:
        with torch.no_grad():
            plain.weight.copy_(norm.weight.repeat_interleave(order))
            plain.bias.copy_(norm.bias.repeat_interleave(order))
    return plain
