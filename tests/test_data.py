"""The digits: the split, the rotations and the MNIST-rot .amat loader."""

import pytest
import torch

from gcnn_edu.data import (
    DATASETS,
    Digits,
    digit_sets,
    load_amat,
    load_digits,
    random_angles,
    rotate,
    rotate90,
    rotated,
    rotated90,
    split,
)
from gcnn_edu.functions import act_on_plane
from gcnn_edu.groups import C4


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_the_embedded_digits(digits):
    assert digits.images.shape == (5000, 1, 28, 28) and digits.images.dtype == torch.float32
    assert digits.images.min() == 0 and digits.images.max() == 1
    assert torch.equal(torch.bincount(digits.labels), torch.full((10,), 500))
    image, label = digits[3]
    assert image.shape == (1, 28, 28) and 0 <= label <= 9


def test_the_split_is_deterministic_stratified_and_disjoint(digits):
    train, test = split(digits, test_fraction=0.2, seed=0)
    again_train, again_test = split(digits, test_fraction=0.2, seed=0)
    other_train, _ = split(digits, test_fraction=0.2, seed=1)
    assert torch.equal(train.images, again_train.images) and torch.equal(test.labels, again_test.labels)
    assert not torch.equal(train.labels, other_train.labels)
    assert (len(train), len(test)) == (4000, 1000)
    assert torch.equal(torch.bincount(test.labels), torch.full((10,), 100))
    def rows(d):
        return [image.numpy().tobytes() for image in d.images]

    assert sorted(rows(train) + rows(test)) == sorted(rows(digits))  # every digit, once
    train_rows, test_rows = set(rows(train)), set(rows(test))
    assert not train_rows & test_rows


def test_rotate_by_quarter_turns_is_rot90(digits):
    x = digits.images[:16]
    for k in range(4):
        expected = act_on_plane(C4[k], x)
        assert torch.allclose(rotate(x, 90 * k), expected, atol=1e-5)
        assert torch.equal(rotate90(x, k), expected)
        assert torch.equal(rotate90(x, k), torch.rot90(x, k, dims=(-2, -1)))


def test_rotate_is_counter_clockwise_about_the_centre():
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 0, 2] = 1  # top middle
    assert rotate(x, 90)[0, 0].argmax() == 2 * 5 + 0  # -> left middle, as r = rot90 moves it
    assert rotate(x, 0).equal(x)


def test_rotate_per_image_angles_and_composition(digits):
    x = digits.images[:4]
    angles = torch.tensor([0.0, 30.0, 90.0, 200.0])
    each = rotate(x, angles)
    for i in range(4):
        assert torch.allclose(each[i:i + 1], rotate(x[i:i + 1], angles[i]), atol=1e-6)
    # turning by 30 then by 90 degrees equals r applied to the 30-degree turn: 90-degree steps are exact
    assert torch.allclose(rotate(x, 120), rotate90(rotate(x, 30), 1), atol=1e-5)


def test_per_image_quarter_turns(digits):
    x = digits.images[:8]
    turns = torch.tensor([0, 1, 2, 3, 4, 5, -1, 2])
    out = rotate90(x, turns)
    for i, k in enumerate(turns.tolist()):
        assert torch.equal(out[i], torch.rot90(x[i], k % 4, dims=(-2, -1)))


def test_rotated_sets_are_reproducible_and_keep_labels(digits):
    train, _ = split(digits)
    small = train.subset(50)
    a, b = rotated(small, seed=3), rotated(small, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, small.labels)
    assert not torch.equal(a.images, rotated(small, seed=4).images)
    assert torch.equal(rotated90(small, 1).images, rotated90(small, 1).images)
    angles = random_angles(10_000, seed=0)
    assert 0 <= angles.min() and angles.max() < 360 and abs(angles.mean().item() - 180) < 5
    # bilinear resampling keeps the ink roughly (digits sit well inside the frame)
    assert torch.allclose(a.images.sum((1, 2, 3)), small.images.sum((1, 2, 3)), rtol=0.1)


def test_digit_sets_by_name():
    for name in DATASETS:
        train, test = digit_sets(name, name)
        assert (len(train), len(test)) == (4000, 1000)
    upright, _ = digit_sets("upright", "upright")
    turned, _ = digit_sets("rotated", "rotated")
    assert torch.equal(upright.labels, turned.labels)
    with pytest.raises(ValueError, match="unknown train data 'mnist-rot'.*upright, rotated, rotated90"):
        digit_sets("mnist-rot", "rotated")
    with pytest.raises(ValueError, match="unknown test data"):
        digit_sets("upright", "sideways")


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        rotate(torch.zeros(28, 28), 10)
    with pytest.raises(ValueError, match="square"):
        rotate(torch.zeros(1, 1, 28, 30), 10)
    with pytest.raises(ValueError, match="one angle or one per image"):
        rotate(torch.zeros(3, 1, 28, 28), [1.0, 2.0])
    with pytest.raises(ValueError, match="test_fraction"):
        split(load_digits(), test_fraction=1.5)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        Digits(torch.zeros(5, 28, 28), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"labels must be a tensor \(N,\) with N = 5"):
        Digits(torch.zeros(5, 1, 28, 28), torch.zeros(4, dtype=torch.long))


# ---------------------------------------------------------------------------------------------
# MNIST-rot .amat files
# ---------------------------------------------------------------------------------------------

def _write_amat(path, images, labels):
    """Write digits as MNIST-rot does: each image column by column (column-major), then the label."""
    with open(path, "w") as file:
        for image, label in zip(images, labels, strict=True):
            values = image.numpy().flatten(order="F")
            file.write("  ".join(f"{v:.8e}" for v in values) + f"  {float(label):.8e}\n")


def test_load_amat_reads_what_mnist_rot_writes(tmp_path, digits):
    images, labels = digits.images[:6, 0], digits.labels[:6]
    path = tmp_path / "mnist_all_rotation_normalized_float_test.amat"
    _write_amat(path, images, labels)
    loaded = load_amat(path)
    assert loaded.images.shape == (6, 1, 28, 28) and loaded.images.dtype == torch.float32
    assert torch.allclose(loaded.images[:, 0], images, atol=1e-7)
    assert torch.equal(loaded.labels, labels)
    raw = load_amat(path, transpose=False)  # a row-major reshape shows the digits transposed
    assert torch.allclose(raw.images[:, 0], images.transpose(-2, -1), atol=1e-7)
    assert not torch.allclose(raw.images, loaded.images)


def test_load_amat_errors(tmp_path, digits):
    good = tmp_path / "good.amat"
    _write_amat(good, digits.images[:3, 0], digits.labels[:3])
    lines = good.read_text().splitlines()

    truncated = tmp_path / "truncated.amat"
    truncated.write_text("\n".join(lines[:2]) + "\n" + lines[2][: len(lines[2]) // 2])
    with pytest.raises(ValueError, match=r"truncated.amat, line 3: expected 785 values .* truncated or corrupt"):
        load_amat(truncated)

    corrupt = tmp_path / "corrupt.amat"
    corrupt.write_text(lines[0] + "\n" + lines[1].replace("e+00", "x+00", 1) + "\n")
    with pytest.raises(ValueError, match="corrupt.amat, line 2: not a number"):
        load_amat(corrupt)

    bad_label = tmp_path / "label.amat"
    bad_label.write_text(lines[0].rsplit(" ", 1)[0] + " 12.5\n")
    with pytest.raises(ValueError, match="not a label 0..9"):
        load_amat(bad_label)

    empty = tmp_path / "empty.amat"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="holds no digits"):
        load_amat(empty)

    with pytest.raises(FileNotFoundError, match="no .amat file"):
        load_amat(tmp_path / "missing.amat")
