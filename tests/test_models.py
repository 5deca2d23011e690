"""The models: shapes, sizes, and exact invariance of the G-CNNs to quarter turns (and mirrors)."""

import pytest
import torch
from batch_norm import randomise_batch_norm

from gcnn_edu.equivariance import check_equivariance
from gcnn_edu.functions import act
from gcnn_edu.groups import C4, D4
from gcnn_edu.models import (
    CNN,
    MODELS,
    P4CNN,
    P4MCNN,
    Z2CNN,
    GroupEquivariantCNN,
    P4CNNRotationPooling,
    build_model,
    count_parameters,
    parameter_table,
)
from gcnn_edu.nn import GroupConv2d, LiftingConv2d

G_MODELS = {"p4cnn": "p4", "p4cnn-rotation-pooling": "p4", "p4mcnn": "p4m", "gcnn": "p4"}


@pytest.fixture(scope="module")
def digits():
    torch.manual_seed(0)
    return torch.rand(2, 1, 28, 28, dtype=torch.float64)


@pytest.mark.parametrize("name", list(MODELS))
def test_images_in_logits_out(name):
    model = build_model(name)
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    with pytest.raises(ValueError, match=r"grey images \(N, 1, H, W\)"):
        model(torch.rand(5, 28, 28))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[0.0]])


@pytest.mark.parametrize("name", list(G_MODELS))
def test_g_models_are_invariant_to_the_point_group(name, digits):
    """In eval mode, logits(L_g x) == logits(x) for every g in C4 (D4 for p4m), to rounding.
    28x28 keeps the sampling grid symmetric: valid 3x3 convolutions, and 2x2 pooling of 24x24."""
    model = build_model(name).double().eval()
    randomise_batch_norm(model)
    group = G_MODELS[name]
    errors = check_equivariance(model, digits, group=group)
    assert len(errors) == (8 if group == "p4m" else 4)
    assert max(errors.values()) < 1e-10, errors
    assert model(digits).std() > 1e-3  # not invariant by being constant


def test_p4cnn_is_not_invariant_to_mirrors(digits):
    """Only P4MCNN (tested above with all of D4) is; P4CNN sees a mirrored digit differently."""
    p4 = P4CNN().double().eval()
    mirrored = act(D4[4], digits)
    assert not torch.allclose(p4(mirrored), p4(digits), atol=1e-4)


def test_planar_models_are_not_invariant(digits):
    for cls in (Z2CNN, CNN):
        model = cls().double().eval()
        errors = check_equivariance(model, digits, group="p4")
        assert errors["e"] == 0 and errors["r"] > 1e-4


def test_hidden_maps_of_p4cnn_are_equivariant(digits):
    model = P4CNN().double().eval()
    randomise_batch_norm(model)
    features = model.features
    for g in C4:
        assert torch.allclose(features(act(g, digits)), act(g, features(digits)), atol=1e-10)


def test_parameter_counts_are_comparable():
    counts = {name: count_parameters(cls()) for name, cls in MODELS.items()}
    paper = [counts[n] for n in ("z2cnn", "p4cnn", "p4cnn-rotation-pooling", "p4mcnn")]
    assert max(paper) / min(paper) < 1.2, counts
    assert max(counts["cnn"], counts["gcnn"]) / min(counts["cnn"], counts["gcnn"]) < 1.05, counts
    # 20 planar channels vs 10 channels on p4: a group layer holds |G| = 4 times the weights per channel pair
    assert Z2CNN().features[4].weight.numel() == GroupConv2d(10, 10, 3).weight.numel() == 3600
    table = parameter_table()
    assert "p4cnn" in table and f"{counts['p4cnn']:,}" in table


def test_g_models_are_built_from_the_package_layers():
    for cls in (P4CNN, P4MCNN, P4CNNRotationPooling, GroupEquivariantCNN):
        layers = [m for m in cls().modules() if isinstance(m, (torch.nn.Conv2d, LiftingConv2d, GroupConv2d))]
        assert layers and not any(isinstance(m, torch.nn.Conv2d) for m in layers)


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'resnet': expected one of z2cnn, p4cnn"):
        build_model("resnet")
    assert isinstance(build_model("P4CNN"), P4CNN)


@pytest.mark.parametrize("name", list(MODELS))
def test_an_empty_batch_gives_empty_logits(name):
    model = build_model(name).eval()
    with torch.no_grad():
        assert model(torch.rand(0, 1, 28, 28)).shape == (0, 10)


@pytest.mark.parametrize("group, order", [("p4", 4), ("p4m", 8)])
def test_layers_map_an_empty_batch_to_an_empty_batch(group, order):
    lifting = LiftingConv2d(1, 3, 3, group=group, padding=1)
    conv = GroupConv2d(3, 2, 3, group=group, stride=2)
    lifted = lifting(torch.rand(0, 1, 9, 9))
    assert lifted.shape == (0, 3, order, 9, 9)
    assert conv(lifted).shape == (0, 2, order, 4, 4)
    lifted.sum().backward()  # and the empty batch's gradient is zero, not an error
    assert torch.equal(lifting.weight.grad, torch.zeros_like(lifting.weight))


@pytest.mark.parametrize("name", list(MODELS))
def test_integer_images_are_named_with_the_conversion(name):
    model = build_model(name)
    with pytest.raises(TypeError, match=rf"{type(model).__name__} expects a floating-point input, got torch.uint8: "
                                        r"convert it with x.to\(torch.float32\) or x.float\(\); 8-bit images .* "
                                        r"x.to\(torch.float32\) / 255"):
        model(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
