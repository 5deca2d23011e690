"""G-convolution layers: ``LiftingConv2d`` (Z^2 -> G) and ``GroupConv2d`` (G -> G), for G any of
the ten plane groups of :mod:`gcnn_edu.groups` ('p1', 'p2', 'pm_u', 'pm_v', 'cm_main',
'cm_anti', 'p4', 'pmm', 'cmm', 'p4m').

Both hold one weight of shape (C_out, C_in, |H_in|, k, k) and compute the G-correlation of
:mod:`gcnn_edu.fast` (default) or :mod:`gcnn_edu.didactic` (``impl="didactic"``). The state
dict is the same for both, so a trained layer can be re-run on the didactic path.

The output is always what a fresh computation from the layer's current parameters gives. When no
gradient is being recorded (eval mode under ``torch.no_grad()`` or ``torch.inference_mode()``), the
transformed filter bank is kept and reused while the weight and bias are bit for bit the ones it
was made from (see :mod:`gcnn_edu.nn._cache`); any change, however it was made, rebuilds it. Under
``torch.compile``, ``torch.export`` and ``torch.jit.trace`` the cache is bypassed, so the traced
graph reads the weight and gathers the bank itself. ``freeze()`` is the explicit opt-out: the bank
of the parameters at that call, used unchecked until ``unfreeze()`` or ``train()``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .. import didactic, fast
from .._validation import check_correlation_input, check_layer_arguments, check_sampling
from ..groups import resolve_group
from ._cache import BankCache

__all__ = ["LiftingConv2d", "GroupConv2d", "freeze", "unfreeze"]

_SAMPLING = frozenset({"kernel_size", "stride", "padding", "dilation", "strict"})  # what the input check reads


def _signature(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> tuple | None:
    """Everything about a call but the parameters' values: the input's shape, dtype and device, the
    inference mode, each parameter's address, dtype, shape and strides. A layer checks its input once
    per signature (and again after kernel_size, stride, padding, dilation or strict is set), and
    reuses a cached bank only under the signature it was stored with. None for parameters without
    an address (the tensors that torch.func's transforms wrap them in)."""
    try:
        return (x.shape, x.dtype, x.device, torch.is_inference_mode_enabled(), weight.device,
                weight.data_ptr(), weight.dtype, weight.shape, weight.stride(),
                bias is not None and (bias.data_ptr(), bias.dtype, bias.shape, bias.stride()))
    except RuntimeError:  # "Cannot access data pointer of Tensor that doesn't have storage"
        return None


class _GroupCorrelation(nn.Module):
    lifting: bool  # set by the subclasses

    def __init__(self, in_channels, out_channels, kernel_size, group="p4", stride=1, padding=0,
                 dilation=1, bias=True, impl="fast", strict=False, device=None, dtype=None):
        super().__init__()
        kernel_size, stride, padding, dilation = check_layer_arguments(
            in_channels, out_channels, kernel_size, group, stride, padding, dilation)
        self.in_channels, self.out_channels, self.kernel_size = int(in_channels), int(out_channels), kernel_size
        self.group = resolve_group(group)  # the PlaneGroup object; its repr is its name, e.g. p4m
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.impl, self.strict = impl, strict
        self.group_order = self.group.point_group.order
        self.in_order = 1 if self.lifting else self.group_order
        factory = {"device": device, "dtype": dtype}
        c_out, c_in = self.out_channels, self.in_channels
        self.weight = nn.Parameter(torch.empty(c_out, c_in, self.in_order, kernel_size, kernel_size, **factory))
        self.register_parameter("bias", nn.Parameter(torch.empty(c_out, **factory)) if bias else None)
        # each layer owns its index buffers (fast.channel_index returns a new tensor every call)
        index = fast.channel_index(self.group, self.in_order, c_in, kernel_size)
        self.register_buffer("filter_index", index.to(device), persistent=False)
        self.register_buffer("bias_index", fast.bias_index(c_out, self.group_order).to(device), persistent=False)
        self._bank_cache = BankCache()
        self._frozen = None  # the bank of freeze(), used unchecked
        self._checked_signature = None
        self.reset_parameters()

    @property
    def impl(self) -> str:
        return self._impl

    @impl.setter
    def impl(self, value: str) -> None:
        if value not in ("fast", "didactic"):
            raise ValueError(f"impl must be 'fast' or 'didactic', got {value!r}")
        self._impl = value

    def reset_parameters(self) -> None:
        """nn.Conv2d's initialisation, with a fan-in C_in |H_in| k^2 that counts the group axis."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.in_order * self.kernel_size**2
            nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def transformed_weight(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The filter bank (C_out |G|, C_in |H_in|, k, k) and the bias repeated over the group
        axis (C_out |G|,), gathered from the current weight and bias."""
        return self._gather(self.weight, self.bias)

    def _gather(self, weight, bias):
        buffers = self._buffers  # the module's dicts, read directly: nn.Module.__getattr__ costs about
        bank = fast.transform_filter(weight, buffers["filter_index"], self.group_order)  # 1 us a call
        return bank, fast.transform_bias(bias, buffers["bias_index"])

    def _gather_and_cache(self, signature: tuple, weight, bias) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Gather the bank; on the CPU, cache it for the calls with the same ``signature`` while the
        parameters keep their bytes (:class:`~gcnn_edu.nn._cache.BankCache`)."""
        bank = self._gather(weight, bias)
        if weight.is_cpu:
            self._bank_cache.store(signature, weight, bias, bank)
        return bank

    def freeze(self):
        """Gather the filter bank now and use it, unchecked, for inference.

        An explicit step for the last microseconds at batch 1: in eval mode, while no gradient is
        recorded, a frozen layer runs one ``conv2d`` with this bank and skips the byte comparison
        that keeps the implicit bank exact. The bank is that of the parameters at this call: a later
        edit through ``.data``, a NumPy view or ``torch.func.functional_call`` is not seen until
        :meth:`unfreeze`. ``train()``, ``load_state_dict``, ``.to()`` and assigning a new weight or
        bias unfreeze the layer. Returns the layer; :func:`gcnn_edu.nn.freeze` freezes every
        G-convolution of a model. For deployment, :func:`gcnn_edu.export` gives the same speed
        with no gcnn_edu class left.
        """
        with torch.no_grad():
            self._frozen = self._gather(self.weight, self.bias)
        return self

    def unfreeze(self):
        """Back to the bank gathered, or reused exactly, from the current parameters. Returns the layer."""
        self._frozen = None
        return self

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def train(self, mode: bool = True):
        self._bank_cache.clear()  # not needed for correctness; frees the memory of a bank no longer used
        if mode:
            self.unfreeze()
        return super().train(mode)

    def _apply(self, fn, *args, **kwargs):
        self.unfreeze()  # .to(), .cuda(), .double(): new parameters, maybe on another device
        return super()._apply(fn, *args, **kwargs)

    def _load_from_state_dict(self, *args, **kwargs):
        self.unfreeze()
        return super()._load_from_state_dict(*args, **kwargs)

    def __setattr__(self, name, value):
        if name in ("weight", "bias") and getattr(self, "_frozen", None) is not None:
            self.unfreeze()
        super().__setattr__(name, value)
        if name in _SAMPLING:  # a new stride (say) is checked at the next call
            super().__setattr__("_checked_signature", None)

    def _check_input(self, x, weight, signature: tuple | None = None) -> None:
        """Name bad input at the layer's edge; remember the call's ``signature`` as checked."""
        name = type(self).__name__
        check_correlation_input(x, weight, self.group, self.lifting, layer=name)
        check_sampling(tuple(x.shape[-2:]), self.kernel_size, self.stride, self.padding, self.dilation,
                       layer=name, strict=self.strict, group=self.group)
        if signature is not None and x.dtype == weight.dtype:  # mixed dtypes (autocast): checked every call
            self._checked_signature = signature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor, got {type(x).__name__}")
        parameters = self._parameters  # read directly, as in _gather
        weight, bias = parameters["weight"], parameters["bias"]
        signature = None if torch.compiler.is_compiling() else _signature(x, weight, bias)
        if signature is None:
            # Traced once and run many times (torch.compile), or parameters with no memory of their
            # own (torch.func's grad and vmap wrap them): check the input and gather the bank every
            # call. A traced check costs nothing at run time, and a remembered signature would make
            # the compiled graph guard on the batch size.
            self._check_input(x, weight)
        elif signature == self._checked_signature:
            signature = self._checked_signature  # the stored tuple itself: the bank cache matches it by identity
        else:
            self._check_input(x, weight, signature)
        if self._impl == "didactic":
            correlation = didactic.lifting_correlation if self.lifting else didactic.group_correlation
            return correlation(x, weight, self.group, bias=bias, stride=self.stride, padding=self.padding,
                               dilation=self.dilation)
        if signature is None or self.training or torch.is_grad_enabled() or torch.jit.is_tracing():
            bank, bank_bias = self._gather(weight, bias)  # in the graph: autograd flows through the gather
        elif self._frozen is not None:
            bank, bank_bias = self._frozen
        else:  # nothing records gradients: the bank is reused while the parameters are byte for byte the same
            bank, bank_bias = self._bank_cache.lookup(signature) or self._gather_and_cache(signature, weight, bias)
        return fast.correlate(x, bank, bank_bias, self.group_order, self.stride, self.padding, self.dilation)

    @torch.no_grad()
    def export(self) -> nn.Conv2d:
        """A plain nn.Conv2d holding the filter bank of the current parameters: on the flattened
        layout (N, C_in |H_in|, H, W) it returns this layer's output flattened to (N, C_out |G|, H', W')."""
        conv = nn.Conv2d(self.in_channels * self.in_order, self.out_channels * self.group_order,
                         self.kernel_size, self.stride, self.padding, self.dilation,
                         bias=self.bias is not None, device=self.weight.device, dtype=self.weight.dtype)
        bank, bank_bias = self.transformed_weight()
        conv.weight.copy_(bank)
        if bank_bias is not None:
            conv.bias.copy_(bank_bias)
        return conv

    def extra_repr(self) -> str:
        source = "Z2" if self.lifting else self.group.name
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"{source} -> {self.group.name}")
        for name, default in (("stride", 1), ("padding", 0), ("dilation", 1)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        if self.bias is None:
            text += ", bias=False"
        if self.impl != "fast":
            text += f", impl={self.impl!r}"
        return text


class LiftingConv2d(_GroupCorrelation):
    """Z^2 -> G correlation (the paper's section 6.1): [f ⋆ ψ](t, h) = Σ_y Σ_c f_c(y) [L_h ψ_c](y - t).

    Output channel (o, h) is the planar correlation with the filter L_h ψ_o, so transforming
    the input by g in H transforms every output patch by g and moves the group axis by
    h -> g h: layer(L_g f) = L_g layer(f), exactly.

    Args:
        in_channels: C_in, the channels of the input.
        out_channels: C_out, the channels of the output.
        kernel_size: K, an int, odd or even for every group (rotations and mirrors about the
            kernel's centre map its K x K grid onto itself either way).
        group: the plane group G = Z^2 ⋊ H of the output, any of the ten names ('p1', 'p2',
            'pm_u', 'pm_v', 'cm_main', 'cm_anti', 'p4', 'pmm', 'cmm', 'p4m'), a point-group name
            ('C4', 'D4', ...) or a group object. Stored resolved: ``layer.group`` is the
            :class:`~gcnn_edu.groups.PlaneGroup`, ``layer.group_order`` is |H|.
        stride, padding, dilation: as in ``nn.Conv2d``, one int each. Equivariance is exact when
            the sampling is symmetric (stride 1, or (n + 2 padding - reach) % stride == 0 on every
            axis the group reverses); otherwise the layer warns (``strict=True``: raises).
        bias: one learnable bias per output channel, shared over the group axis.
        impl: 'fast' (one gather and one conv2d) or 'didactic' (the loops of the definition).
        device, dtype: of the parameters.

    Shape:
        input (N, C_in, height, width); output (N, C_out, |H|, height', width'), the group axis
        in H's index order, with height' = (height + 2 padding - dilation (K - 1) - 1) // stride
        + 1, and width' alike. ``weight``: (C_out, C_in, 1, K, K); ``bias``: (C_out,).

    Example::

        >>> lift = LiftingConv2d(1, 8, 3, group="pm_v", padding=1)
        >>> lift(torch.randn(2, 1, 28, 28)).shape
        torch.Size([2, 8, 2, 28, 28])
    """

    lifting = True


class GroupConv2d(_GroupCorrelation):
    """G -> G correlation (the paper's section 6.1): [f ⋆ ψ](t, s) = Σ_{h, y} Σ_c f_c(h, y) [L_s ψ_c](h, y - t).

    Output channel (o, s) correlates the input with L_s ψ_o, which moves ψ's group axis by
    h -> s h and transforms each patch by s: layer(L_g f) = L_g layer(f) for g in H, exactly.

    Args:
        in_channels: C_in, the channels of the input.
        out_channels: C_out, the channels of the output.
        kernel_size: K, an int, odd or even for every group (rotations and mirrors about the
            kernel's centre map its K x K grid onto itself either way).
        group: the plane group G = Z^2 ⋊ H of the output, any of the ten names ('p1', 'p2',
            'pm_u', 'pm_v', 'cm_main', 'cm_anti', 'p4', 'pmm', 'cmm', 'p4m'), a point-group name
            ('C4', 'D4', ...) or a group object. Stored resolved: ``layer.group`` is the
            :class:`~gcnn_edu.groups.PlaneGroup`, ``layer.group_order`` is |H|.
        stride, padding, dilation: as in ``nn.Conv2d``, one int each. Equivariance is exact when
            the sampling is symmetric (stride 1, or (n + 2 padding - reach) % stride == 0 on every
            axis the group reverses); otherwise the layer warns (``strict=True``: raises).
        bias: one learnable bias per output channel, shared over the group axis.
        impl: 'fast' (one gather and one conv2d) or 'didactic' (the loops of the definition).
        device, dtype: of the parameters.

    Shape:
        input (N, C_in, |H|, height, width); output (N, C_out, |H|, height', width') (height'
        and width' as for :class:`LiftingConv2d`). ``weight``: (C_out, C_in, |H|, K, K), a
        filter on G; ``bias``: (C_out,).

    Example::

        >>> conv = GroupConv2d(8, 16, 3, group="pmm", padding=1)
        >>> conv(torch.randn(2, 8, 4, 28, 28)).shape
        torch.Size([2, 16, 4, 28, 28])
    """

    lifting = False


def freeze(model: nn.Module) -> nn.Module:
    """Call :meth:`~LiftingConv2d.freeze` on every G-convolution of ``model`` (put it in eval mode
    first); returns ``model``. ``model.train()`` undoes it."""
    for module in model.modules():
        if isinstance(module, _GroupCorrelation):
            module.freeze()
    return model


def unfreeze(model: nn.Module) -> nn.Module:
    """Undo :func:`freeze` on every G-convolution of ``model``; returns ``model``."""
    for module in model.modules():
        if isinstance(module, _GroupCorrelation):
            module.unfreeze()
    return model
