"""The networks of the rotated-digit experiments: planar CNNs, G-CNNs, and networks whose layers
change group on the way up.

Every model maps a batch of images (N, 1, H, W) to logits (N, 10).

Seven-layer networks from a config
----------------------------------

The paper's rotated-MNIST models (Cohen & Welling 2016, section 8.1) share one skeleton: seven
layers of 3x3 convolutions (4x4 at the top), batch norm, ReLU, dropout after each hidden layer
but the one followed by a 2x2 max pooling (layer 2). On 28x28 digits the maps shrink
28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 6 -> 4 -> 1, so the top layer's 10 channels are the logits.
:class:`SevenLayerConfig` (a frozen dataclass) writes that skeleton down: the group of every
layer, the channels, the kernel sizes, where the pooling sits, the dropout. One class,
:class:`SevenLayerCNN`, builds every such network from its config:

* a layer on 'p1' (the trivial point group: translations only) is a planar ``nn.Conv2d`` with
  ``nn.BatchNorm2d`` on an (N, C, H, W) map;
* the first layer on any other group G is a ``LiftingConv2d`` (Z^2 -> G), the next ones
  ``GroupConv2d`` (G -> G), with ``GroupBatchNorm`` on (N, C, |G|, H, W) maps;
* the groups may only shrink on the way up, G_1 ⊇ G_2 ⊇ ... ⊇ G_7 (every one of the ten plane
  groups of :mod:`gcnn_edu.groups`). Where layer i + 1 lives on a smaller group H than layer i's
  G, a :class:`~gcnn_edu.nn.Restrict` turns the map on G into a map on H *keeping every value*:
  the |G|/|H| cosets of H become channels, so layer i + 1 sees C_i |G|/|H| input channels;
* at the top, a map on a group G_7 other than p1 is max-pooled over its group axis
  (``GroupPool``), then every model takes the maximum over what is left of space.

Why restriction and not coset pooling between groups. Both are exactly H-equivariant. Coset
pooling (``change="coset_pool"``) keeps, for every h in H, only the largest of the |G|/|H| values
f(h c_i): it forgets *which* coset fired, i.e. the part of the orientation that G sees and H does
not. For p4 -> p1 that is the whole orientation of every feature: the planar layers above then see
"an edge in some orientation here", the same for a 6 and for a 6 turned upside down, which is a 9.
Restriction keeps f(h c_i) for every i as separate channels: the layers above still know which
orientation fired and can tell a 6 from a 9, while the layers below share their filters over G.
That is the point of stopping equivariance early, so restriction is the default; coset pooling is
an option of the config, for comparison.

Why planar layers are ``nn.Conv2d``. A G-convolution on p1 is a planar correlation with a size-1
group axis; carrying that axis would change nothing but the shapes. With ``nn.Conv2d``, the
all-p1 config builds exactly the planar baseline, module for module and parameter for parameter
(the same state dict as before configs existed), and the planar layers run at conv2d speed. The
restriction to p1 is ``Restrict(G, "p1", planar=True)``: (N, C, |G|, H, W) -> (N, C |G|, H, W).

What each network is equivariant to. Block i (convolution, batch norm, ReLU, pooling or dropout)
of a network whose first i layers live on G_1 ⊇ ... ⊇ G_i maps L_g x to L_g of its output for every
g in G_i, exactly (:meth:`SevenLayerCNN.truncated` gives the first i blocks). The logits are
invariant to the point group of G_7; a network that ends planar (G_7 = p1) is invariant to no
rotation or mirror at all, by design: its lower layers share filters over G_1, its top can tell
a 6 from a 9.

The models, by their names in :data:`MODELS` (parameter counts matched to Z2CNN's 21,750 within
5 %, except the paper's p4 / p4m models, whose channels 20 / sqrt(|G|) follow the paper):

==========================  ==============================================  ==========  ==========
name (class)                layers 1..7                                     channels    parameters
==========================  ==============================================  ==========  ==========
'z2cnn' (Z2CNN)             p1 x 7                                          20          21,750
'p4cnn' (P4CNN)             p4 x 7, max over rotations at the top           10          24,680
'p4mcnn' (P4MCNN)           p4m x 7 (3x3 top), max over D4 at the top       7           22,879
'p4-early' (P4EarlyCNN)     p4 x 2, then p1 x 5                             10, 18      22,084
'p4m-early' (P4MEarlyCNN)   p4m x 2, then p1 x 5                            7, 16       21,371
'p4m-pmm-pm' (P4MChainCNN)  p4m x 2, pmm x 2, pm_u x 1, then p1 x 2         7, 9, 12,   21,895
                                                                            18
==========================  ==============================================  ==========  ==========

The chain p4m -> pmm -> pm_u -> p1 drops one symmetry at a time: first the quarter turns (pmm
keeps both axis flips and the half turn r^2), then the half turn and the left-right flip (pm_u
keeps the upside-down flip m), then the last mirror. It ends planar, like 'p4-early': a digit
is not invariant to any of these, not even to m (an upside-down 6 is a mirrored 9, and 2, 5, 7
flipped are no digits at all), so the top must see orientation; the symmetry is used where it
helps, in the strokes and edges of the lower layers. P4MCNN keeps its 3x3 top layer: even
kernels are fine on p4m, but a 4x4 top would raise it to 26,799 parameters (+23 % on Z2CNN).

The exact invariance (or equivariance) to quarter turns needs a spatial sampling grid that
rotations map onto itself. A valid (unpadded) 3x3 convolution keeps it symmetric for any size;
the 2x2 max pooling after layer 2 needs an even map there, i.e. an even input size: 28x28 digits
are fine, and so is any H = W with H - 4 even. An odd size such as 29 would leave a row and a
column unpooled on one side and break the exact invariance.

Other models
------------

* ``P4CNNRotationPooling``: every layer is a lifting convolution whose p4 output is at once
  max-pooled over the rotations: invariant features at every depth, 20 channels.

The simple pair of the UvA deep-learning course tutorial on regular group convolutions:

* ``CNN``: a 5x5 convolution, four more 5x5 convolutions, each followed by layer norm and
  ReLU, global average pooling and a linear classifier; 32 channels.
* ``GroupEquivariantCNN``: the same with a p4 lifting layer and p4 group convolutions,
  16 channels, and global average pooling over space *and* the group axis.

``MODELS`` maps names to classes; :func:`build_model` makes one by name, with a clear error
for an unknown name. :func:`count_parameters` and :func:`parameter_table` compare sizes.

Example::

    >>> config = SevenLayerConfig.from_stages(("p4", 2, 10), ("p1", 5, 18))   # = P4EarlyCNN's
    >>> config.describe()
    'p4 x 2 -> p1 x 5'
    >>> SevenLayerCNN(config)(torch.rand(8, 1, 28, 28)).shape
    torch.Size([8, 10])
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_floating_input
from .groups import resolve_group
from .nn import CosetPool, GroupBatchNorm, GroupConv2d, GroupPool, LiftingConv2d, Restrict, SpatialPool

__all__ = ["SevenLayerConfig", "SevenLayerCNN", "Z2CNN", "P4CNN", "P4CNNRotationPooling", "P4MCNN", "P4EarlyCNN",
           "P4MEarlyCNN", "P4MChainCNN", "CNN", "GroupEquivariantCNN", "MODELS", "build_model", "count_parameters",
           "parameter_table"]

NUM_CLASSES = 10
NUM_LAYERS = 7
CHANGES = ("restrict", "coset_pool")


def _check_images(x, model: nn.Module) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{type(model).__name__} expects a torch.Tensor of images (N, 1, H, W), "
                        f"got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"{type(model).__name__} expects grey images (N, 1, H, W), got shape {tuple(x.shape)}: "
                         "add the channel axis with x.unsqueeze(1)")
    check_floating_input(x, next(model.parameters()).dtype, type(model).__name__)


# --------------------------------------------------------------------------------------------
# Seven-layer networks from a config: the paper's models and those that change group
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SevenLayerConfig:
    """The skeleton of a seven-layer network: what changes from one model to the next.

    Args:
        groups: the plane group of each of the 7 layers (names such as 'p4' or group objects,
            stored as names), each a subgroup of the one before: G_1 ⊇ G_2 ⊇ ... ⊇ G_7.
            'p1' is planar.
        channels: the output channels of layers 1..6 (layer 7 outputs the 10 logits).
        kernel_sizes: the kernel size of each of the 7 layers, odd or even.
        pool_after: the 2x2 max pooling follows this layer (1..6); every other hidden layer is
            followed by dropout.
        dropout: the dropout probability, in [0, 1).
        change: how a map on G becomes a map on a smaller group H between two layers:
            'restrict' (keep every value, the |G|/|H| cosets become channels) or 'coset_pool'
            (the maximum over each coset; the channels stay). See the module's docstring.

    Example::

        >>> SevenLayerConfig.from_stages(("p4m", 2, 7), ("pmm", 2, 9), ("pm_u", 1, 12), ("p1", 2, 18)).describe()
        'p4m x 2 -> pmm x 2 -> pm_u x 1 -> p1 x 2'
    """

    groups: tuple = ("p1",) * NUM_LAYERS
    channels: tuple = (20,) * (NUM_LAYERS - 1)
    kernel_sizes: tuple = (3,) * (NUM_LAYERS - 1) + (4,)
    pool_after: int = 2
    dropout: float = 0.3
    change: str = "restrict"

    def __post_init__(self):
        groups = _sequence(self.groups, NUM_LAYERS, "groups", "a group name per layer, e.g. ('p4',) * 7")
        names = tuple(resolve_group(group).name for group in groups)
        for layer, (below, above) in enumerate(zip(names, names[1:], strict=False), start=2):
            if not resolve_group(above).is_subgroup_of(below):
                raise ValueError(
                    f"layer {layer} is on {above}, which is not a subgroup of layer {layer - 1}'s {below}: "
                    f"the groups may only shrink on the way up (a map on G can be restricted to a subgroup "
                    f"of G, not extended), e.g. ('p4m', 'p4m', 'pmm', 'pmm', 'pm_u', 'p1', 'p1')")
        object.__setattr__(self, "groups", names)
        for field, count, what in (("channels", NUM_LAYERS - 1, "output channels of layers 1..6"),
                                   ("kernel_sizes", NUM_LAYERS, "a kernel size per layer")):
            values = _sequence(getattr(self, field), count, field, what)
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
                raise ValueError(f"{field} must hold positive ints ({what}), got {values!r}")
            object.__setattr__(self, field, values)
        if not isinstance(self.pool_after, int) or not 1 <= self.pool_after <= NUM_LAYERS - 1:
            raise ValueError(f"pool_after must be a hidden layer, 1..{NUM_LAYERS - 1}, got {self.pool_after!r}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {self.dropout!r}")
        if self.change not in CHANGES:
            raise ValueError(f"change must be one of {CHANGES} (how a map on G becomes one on a subgroup), "
                             f"got {self.change!r}")

    @classmethod
    def from_stages(cls, *stages: tuple, **options) -> SevenLayerConfig:
        """A config from ``(group, layers, channels)`` stages, bottom to top; the layers add up
        to 7 and the top layer's channels (the 10 logits) are implied. Other fields by keyword.

        ``from_stages(("p4", 2, 10), ("p1", 5, 18))``: two p4 layers of 10 channels, then five
        planar layers, the first four of 18 channels.
        """
        groups, channels = [], []
        for stage in stages:
            if not (isinstance(stage, tuple) and len(stage) == 3):
                raise ValueError(f"a stage is (group, layers, channels), e.g. ('p4', 2, 10), got {stage!r}")
            group, layers, width = stage
            if not isinstance(layers, int) or layers < 1:
                raise ValueError(f"a stage has at least one layer, got {layers!r} in {stage!r}")
            groups += [group] * layers
            channels += [width] * layers
        if len(groups) != NUM_LAYERS:
            raise ValueError(f"the stages must add up to {NUM_LAYERS} layers, got {len(groups)}: {stages!r}")
        return cls(groups=tuple(groups), channels=tuple(channels[:-1]), **options)

    def describe(self) -> str:
        """The groups bottom to top, e.g. 'p4 x 2 -> p1 x 5'."""
        stages = []
        for name in self.groups:
            if stages and stages[-1][0] == name:
                stages[-1][1] += 1
            else:
                stages.append([name, 1])
        return " -> ".join(f"{name} x {count}" for name, count in stages)


def _sequence(values, length: int, field: str, what: str) -> tuple:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != length:
        raise ValueError(f"{field} must be a sequence of {length} values ({what}), got {values!r}")
    return tuple(values)


class SevenLayerCNN(nn.Module):
    """The seven-layer network of a :class:`SevenLayerConfig`: layers on shrinking groups, logits on top.

    ``features`` is an ``nn.Sequential`` of six blocks, each [convolution, batch norm, ReLU,
    2x2 max pooling or dropout], with a ``Restrict`` (or ``CosetPool``) before a block whose group
    is smaller than the one below; ``top`` is the seventh convolution, ``pool`` the max over the
    top group's axis (``nn.Identity`` when the top is planar). The logits are the maximum of
    ``pool(top(features(x)))`` over what is left of space.

    Args:
        config: the skeleton (default: the planar Z2CNN's).

    Shape:
        input (N, 1, H, W) with H = W (28 for digits; exact equivariance needs H - 4 even, see the
        module), output (N, 10).

    Example::

        >>> model = SevenLayerCNN(SevenLayerConfig.from_stages(("p4", 2, 10), ("p1", 5, 18)))
        >>> model(torch.rand(2, 1, 28, 28)).shape, count_parameters(model)
        (torch.Size([2, 10]), 22084)
    """

    def __init__(self, config: SevenLayerConfig | None = None):
        super().__init__()
        config = SevenLayerConfig() if config is None else config
        if not isinstance(config, SevenLayerConfig):
            raise TypeError(f"{type(self).__name__} takes a SevenLayerConfig, got {type(config).__name__}")
        self.config = config
        layers, self._block_ends = [], []
        in_channels, below = 1, None  # the input image is planar: no group yet
        for i in range(NUM_LAYERS - 1):
            group, out_channels = config.groups[i], config.channels[i]
            change, in_channels = _change_group(below, group, in_channels, config.change)
            layers += change
            layers += [_convolution(below, group, in_channels, out_channels, config.kernel_sizes[i]),
                       _batch_norm(group, out_channels), nn.ReLU()]
            layers += [_max_pool(group) if i + 1 == config.pool_after else nn.Dropout(config.dropout)]
            self._block_ends.append(len(layers))
            in_channels, below = out_channels, group
        self.features = nn.Sequential(*layers)
        top_group = config.groups[-1]
        change, in_channels = _change_group(below, top_group, in_channels, config.change)
        top = _convolution(below, top_group, in_channels, NUM_CLASSES, config.kernel_sizes[-1])
        self.top = nn.Sequential(*change, top) if change else top
        self.pool = nn.Identity() if top_group == "p1" else GroupPool("max")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x, self)
        return _global_max(self.pool(self.top(self.features(x))))

    def truncated(self, layers: int) -> nn.Sequential:
        """The first ``layers`` blocks of ``features`` (1..6), a map on ``config.groups[layers - 1]``:
        equivariant to every element of that group, exactly."""
        if not isinstance(layers, int) or not 1 <= layers <= NUM_LAYERS - 1:
            raise ValueError(f"a truncated network keeps 1..{NUM_LAYERS - 1} blocks, got {layers!r}")
        return self.features[:self._block_ends[layers - 1]]

    def extra_repr(self) -> str:
        return f"{self.config.describe()}, change={self.config.change!r}"


def _change_group(below: str | None, group: str, channels: int, how: str) -> tuple[list[nn.Module], int]:
    """The module that turns a map on ``below`` into one on its subgroup ``group`` (none if equal),
    and the channels after it."""
    if below is None or below == group:
        return [], channels
    planar = group == "p1"
    if how == "coset_pool":
        return [CosetPool(below, group, "max", planar=planar)], channels
    restrict = Restrict(below, group, planar=planar)
    return [restrict], restrict.channels(channels)


def _convolution(below: str | None, group: str, in_channels: int, out_channels: int, kernel_size: int) -> nn.Module:
    if group == "p1":
        return nn.Conv2d(in_channels, out_channels, kernel_size)
    layer = LiftingConv2d if below is None else GroupConv2d
    return layer(in_channels, out_channels, kernel_size, group=group)


def _batch_norm(group: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if group == "p1" else GroupBatchNorm(channels)


def _max_pool(group: str) -> nn.Module:
    return nn.MaxPool2d(2) if group == "p1" else SpatialPool(2)


class Z2CNN(SevenLayerCNN):
    """The planar baseline: seven layers of planar 3x3 convolutions (4x4 at the top), 20 channels."""

    def __init__(self, channels: int = 20, dropout: float = 0.3):
        super().__init__(SevenLayerConfig.from_stages(("p1", 7, channels), dropout=dropout))


class P4CNN(SevenLayerCNN):
    """Z2CNN with p4-convolutions and 10 channels (20 / sqrt(4)); max over rotations at the top.
    The logits are invariant to rotations of the input by multiples of 90 degrees."""

    def __init__(self, channels: int = 10, dropout: float = 0.3):
        super().__init__(SevenLayerConfig.from_stages(("p4", 7, channels), dropout=dropout))


class P4MCNN(SevenLayerCNN):
    """Z2CNN with p4m-convolutions (rotations and mirrors) and 7 channels (~ 20 / sqrt(8)); max
    over D4 at the top, so the logits are invariant to quarter turns and mirrors.

    The top layer is 3x3 (on the 4x4 maps of 28x28 digits it leaves 2x2, max-pooled with the
    group): even kernels work on p4m as well, but 4x4 would give 26,799 parameters instead of
    22,879, 23 % more than Z2CNN.
    """

    def __init__(self, channels: int = 7, dropout: float = 0.3):
        super().__init__(SevenLayerConfig.from_stages(("p4m", 7, channels), dropout=dropout,
                                                      kernel_sizes=(3,) * NUM_LAYERS))


class P4EarlyCNN(SevenLayerCNN):
    """Stopping equivariance early: two p4 layers (10 channels), restricted to planar maps of
    40 channels (the four rotations of each feature), then five planar layers (18 channels).
    The first two blocks are p4-equivariant; the logits are not invariant, so a 6 and a 9 differ."""

    CONFIG = SevenLayerConfig.from_stages(("p4", 2, 10), ("p1", 5, 18))

    def __init__(self, dropout: float = 0.3):
        super().__init__(dataclasses.replace(self.CONFIG, dropout=dropout))


class P4MEarlyCNN(SevenLayerCNN):
    """As P4EarlyCNN with p4m: two p4m layers (7 channels), restricted to 56 planar channels,
    then five planar layers (16 channels)."""

    CONFIG = SevenLayerConfig.from_stages(("p4m", 2, 7), ("p1", 5, 16))

    def __init__(self, dropout: float = 0.3):
        super().__init__(dataclasses.replace(self.CONFIG, dropout=dropout))


class P4MChainCNN(SevenLayerCNN):
    """One symmetry less at a time: p4m x 2 (7 channels) -> pmm x 2 (9) -> pm_u x 1 (12) -> p1 x 2
    (18), each change a restriction, so the channels double where the group halves."""

    CONFIG = SevenLayerConfig.from_stages(("p4m", 2, 7), ("pmm", 2, 9), ("pm_u", 1, 12), ("p1", 2, 18))

    def __init__(self, dropout: float = 0.3):
        super().__init__(dataclasses.replace(self.CONFIG, dropout=dropout))


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
    "p4-early": P4EarlyCNN,
    "p4m-early": P4MEarlyCNN,
    "p4m-pmm-pm": P4MChainCNN,
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
