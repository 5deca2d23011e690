"""The networks of the rotated-digit experiments: planar CNNs and the G-CNNs that replace them.

Every model maps a batch of images (N, 1, H, W) to logits (N, 10).

The paper's rotated-MNIST models (Cohen & Welling 2016, section 8.1):

* ``Z2CNN``: seven layers of 3x3 convolutions (4x4 at the top), 20 channels, batch norm,
  ReLU, dropout, and 2x2 max pooling after layer 2. On 28x28 digits the maps shrink
  28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 6 -> 4 -> 1, so the top layer's 10 channels are the logits.
* ``P4CNN``: the same, every convolution replaced by a p4-convolution (a lifting layer, then
  group convolutions) with 20 / sqrt(4) = 10 channels, so that the parameter count stays
  about the same; at the top the group axis is max-pooled (``GroupPool``). The logits are
  then exactly invariant to rotations of the input by multiples of 90 degrees.
* ``P4CNNRotationPooling``: every layer is a lifting convolution whose p4 output is at once
  max-pooled over the rotations: invariant features at every depth, 20 channels.
* ``P4MCNN``: the p4m version (rotations and mirrors), 20 / sqrt(8) ~ 7 channels.

The exact 90-degree invariance needs a spatial sampling grid that rotations map onto itself.
A valid (unpadded) 3x3 convolution keeps it symmetric for any size; the 2x2 max pooling
after layer 2 needs an even map there, i.e. an even input size: 28x28 digits are fine, and
so is any H = W with H - 4 even. An odd size such as 29 would leave a row and a column
unpooled on one side and break the exact invariance.

The simple pair of the UvA deep-learning course tutorial on regular group convolutions:

* ``CNN``: a 5x5 convolution, four more 5x5 convolutions, each followed by layer norm and
  ReLU, global average pooling and a linear classifier; 32 channels.
* ``GroupEquivariantCNN``: the same with a p4 lifting layer and p4 group convolutions,
  16 channels, and global average pooling over space *and* the group axis.

``MODELS`` maps names to classes; :func:`build_model` makes one by name, with a clear error
for an unknown name. :func:`count_parameters` and :func:`parameter_table` compare sizes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_floating_input
from .nn import GroupBatchNorm, GroupConv2d, GroupPool, LiftingConv2d, SpatialPool

__all__ = ["Z2CNN", "P4CNN", "P4CNNRotationPooling", "P4MCNN", "CNN", "GroupEquivariantCNN", "MODELS",
           "build_model", "count_parameters", "parameter_table"]

NUM_CLASSES = 10


def _check_images(x, model: nn.Module) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{type(model).__name__} expects a torch.Tensor of images (N, 1, H, W), "
                        f"got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"{type(model).__name__} expects grey images (N, 1, H, W), got shape {tuple(x.shape)}: "
                         "add the channel axis with x.unsqueeze(1)")
    check_floating_input(x, next(model.parameters()).dtype, type(model).__name__)


# --------------------------------------------------------------------------------------------
# The paper's models: seven 3x3 layers, max pooling after layer 2
# --------------------------------------------------------------------------------------------

class Z2CNN(nn.Module):
    """The planar baseline: seven layers of planar 3x3 convolutions (4x4 at the top), 20 channels."""

    def __init__(self, channels: int = 20, dropout: float = 0.3):
        super().__init__()
        layers = []
        for i in range(6):
            layers += [nn.Conv2d(1 if i == 0 else channels, channels, 3), nn.BatchNorm2d(channels), nn.ReLU()]
            layers += [nn.MaxPool2d(2)] if i == 1 else [nn.Dropout(dropout)]
        self.features = nn.Sequential(*layers)
        self.top = nn.Conv2d(channels, NUM_CLASSES, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self)
        return _global_max(self.top(self.features(x)))


class _GroupSevenLayerCNN(nn.Module):
    """Z2CNN with every convolution a G-convolution: a lifting layer, five group layers, a group
    layer at the top, then the group axis and what is left of space are max-pooled."""

    group: str

    def __init__(self, channels: int, dropout: float, top_kernel: int):
        super().__init__()
        layers = []
        for i in range(6):
            conv = (LiftingConv2d(1, channels, 3, group=self.group) if i == 0
                    else GroupConv2d(channels, channels, 3, group=self.group))
            layers += [conv, GroupBatchNorm(channels), nn.ReLU()]
            layers += [SpatialPool(2)] if i == 1 else [nn.Dropout(dropout)]
        self.features = nn.Sequential(*layers)
        self.top = GroupConv2d(channels, NUM_CLASSES, top_kernel, group=self.group)
        self.pool = GroupPool("max")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self)
        return _global_max(self.pool(self.top(self.features(x))))


class P4CNN(_GroupSevenLayerCNN):
    """Z2CNN with p4-convolutions and 10 channels (20 / sqrt(4)); max over rotations at the top."""

    group = "p4"

    def __init__(self, channels: int = 10, dropout: float = 0.3):
        super().__init__(channels, dropout, top_kernel=4)


class P4MCNN(_GroupSevenLayerCNN):
    """Z2CNN with p4m-convolutions (rotations and mirrors) and 7 channels (~ 20 / sqrt(8)).

    p4m layers need odd kernels (the mirror must map the kernel grid onto itself), so the top
    layer is 3x3: on the 4x4 maps of 28x28 digits it leaves 2x2, which is max-pooled with the group.
    """

    group = "p4m"

    def __init__(self, channels: int = 7, dropout: float = 0.3):
        super().__init__(channels, dropout, top_kernel=3)


class P4CNNRotationPooling(nn.Module):
    """Seven lifting layers, each followed at once by a max over its four rotations.

    Every hidden map is planar and invariant to the rotation of the input up to the rotation
    of the map itself; a layer sees only "is this pattern here in any orientation", not the
    relative orientation of the patterns below it (which P4CNN keeps on its group axis).
    """

    def __init__(self, channels: int = 20, dropout: float = 0.3):
        super().__init__()
        layers = []
        for i in range(6):
            layers += [LiftingConv2d(1 if i == 0 else channels, channels, 3, group="p4"), GroupPool("max"),
                       nn.BatchNorm2d(channels), nn.ReLU()]
            layers += [SpatialPool(2)] if i == 1 else [nn.Dropout(dropout)]
        self.features = nn.Sequential(*layers)
        self.top = nn.Sequential(LiftingConv2d(channels, NUM_CLASSES, 4, group="p4"), GroupPool("max"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self)
        return _global_max(self.top(self.features(x)))


def _global_max(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C): the maximum over what is left of space (1x1 on 28x28 digits)."""
    return x.amax(dim=(-2, -1))


# --------------------------------------------------------------------------------------------
# The UvA tutorial's pair: 5x5 layers, layer norm, global average pooling, a linear classifier
# --------------------------------------------------------------------------------------------

class CNN(nn.Module):
    """Five planar 5x5 convolutions with layer norm and ReLU, global average pooling, linear."""

    def __init__(self, hidden_channels: int = 32, num_hidden: int = 4, kernel_size: int = 5):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(1 if i == 0 else hidden_channels, hidden_channels, kernel_size)
            for i in range(num_hidden + 1))
        self.classifier = nn.Linear(hidden_channels, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self)
        for conv in self.convs:
            x = conv(x)
            x = F.relu(F.layer_norm(x, x.shape[1:]))  # one mean and variance per image
        return self.classifier(x.mean(dim=(-2, -1)))


class GroupEquivariantCNN(nn.Module):
    """CNN with a p4 lifting layer and p4 group convolutions; the average over space and the
    group axis is invariant, so the logits are invariant to rotations by multiples of 90 degrees.

    The layer norm has no learned affine map: a per-position scale would break equivariance.
    """

    def __init__(self, hidden_channels: int = 16, num_hidden: int = 4, kernel_size: int = 5,
                 group: str = "p4"):
        super().__init__()
        self.convs = nn.ModuleList(
            LiftingConv2d(1, hidden_channels, kernel_size, group=group) if i == 0
            else GroupConv2d(hidden_channels, hidden_channels, kernel_size, group=group)
            for i in range(num_hidden + 1))
        self.classifier = nn.Linear(hidden_channels, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self)
        for conv in self.convs:
            x = conv(x)
            x = F.relu(F.layer_norm(x, x.shape[1:]))  # over (C, |G|, H, W): commutes with L_g
        return self.classifier(x.mean(dim=(-3, -2, -1)))


# --------------------------------------------------------------------------------------------
# Registry and parameter counts
# --------------------------------------------------------------------------------------------

MODELS: dict[str, type[nn.Module]] = {
    "z2cnn": Z2CNN,
    "p4cnn": P4CNN,
    "p4cnn-rotation-pooling": P4CNNRotationPooling,
    "p4mcnn": P4MCNN,
    "cnn": CNN,
    "gcnn": GroupEquivariantCNN,
}


def model_class(name: str) -> type[nn.Module]:
    """The class registered under ``name`` in :data:`MODELS` (case-insensitive)."""
    if not isinstance(name, str) or name.lower() not in MODELS:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODELS)}")
    return MODELS[name.lower()]


def build_model(name: str, **options) -> nn.Module:
    """A new model by its name in :data:`MODELS`, e.g. ``build_model("p4cnn")``."""
    return model_class(name)(**options)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters (weights, biases, batch-norm scales and shifts)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def parameter_table(models: dict[str, nn.Module] | None = None) -> str:
    """A text table of parameter counts, relative to the first model.

    With no argument it compares every model of :data:`MODELS` in its default size.
    """
    if models is None:
        models = {name: cls() for name, cls in MODELS.items()}
    counts = {name: count_parameters(model) for name, model in models.items()}
    reference = next(iter(counts.values()))
    width = max(len(name) for name in counts)
    lines = [f"{'model':<{width}}  {'parameters':>10}  {'ratio':>6}"]
    lines += [f"{name:<{width}}  {n:>10,}  {n / reference:>6.2f}" for name, n in counts.items()]
    return "\n".join(lines)
