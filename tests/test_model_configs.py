"""Seven-layer models from a config: layers that change group on the way up, each stage exactly
equivariant to its own group, the early-equivariance models matched in size to Z2CNN."""

import json

import pytest
import torch
from batch_norm import randomise_batch_norm

from gcnn_edu import cli
from gcnn_edu.equivariance import check_equivariance
from gcnn_edu.functions import act
from gcnn_edu.groups import D4, m, r, resolve_group
from gcnn_edu.models import (
    MODELS,
    P4CNN,
    P4MCNN,
    Z2CNN,
    P4EarlyCNN,
    P4MChainCNN,
    P4MEarlyCNN,
    SevenLayerCNN,
    SevenLayerConfig,
    build_model,
    count_parameters,
)
from gcnn_edu.nn import CosetPool, GroupConv2d, LiftingConv2d, Restrict

EARLY = {"p4-early": P4EarlyCNN, "p4m-early": P4MEarlyCNN, "p4m-pmm-pm": P4MChainCNN}


@pytest.fixture(autouse=True)
def seeded():
    """Every test builds its models from the same random state, whatever ran before it."""
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(0)
    return torch.rand(2, 1, 28, 28, dtype=torch.float64)


def _randomised(model):
    """float64, eval mode, batch norm with non-trivial statistics (so the checks cover it too).
    Random weights give logits that move little with the input: a difference above 1e-6 (in
    float64, where the exact checks reach 1e-15) is a real one."""
    return randomise_batch_norm(model.double().eval())


@pytest.mark.parametrize("name", list(EARLY))
def test_early_models_are_registered_and_matched_to_z2cnn_within_5_percent(name):
    model = build_model(name)
    assert isinstance(model, EARLY[name]) and MODELS[name] is EARLY[name]
    ratio = count_parameters(model) / count_parameters(Z2CNN())
    assert abs(ratio - 1) < 0.05, (name, count_parameters(model))


def test_parameter_counts_of_the_table():
    """The counts the models' docstring lists (and the README quotes)."""
    counts = {name: count_parameters(build_model(name)) for name in ("z2cnn", "p4cnn", "p4mcnn", *EARLY)}
    assert counts == {"z2cnn": 21_750, "p4cnn": 24_680, "p4mcnn": 22_879, "p4-early": 22_084,
                      "p4m-early": 21_371, "p4m-pmm-pm": 21_895}


@pytest.mark.parametrize("name", list(EARLY))
def test_every_stage_is_equivariant_to_its_own_group(name, images):
    """Blocks 1..i map L_g x to L_g(output) for every g in the group of layer i, exactly."""
    model = _randomised(build_model(name))
    for layers in range(1, 7):
        group = resolve_group(model.config.groups[layers - 1])
        stage = model.truncated(layers)
        errors = check_equivariance(stage, images, group=group)
        assert len(errors) == group.point_group.order
        assert max(errors.values()) < 1e-10, (name, layers, group, errors)
        assert stage(images).std() > 1e-3  # not equivariant by being constant


@pytest.mark.parametrize("name", list(EARLY))
def test_the_planar_stages_keep_orientation(name, images):
    """After the restriction to p1 the map is not equivariant to r as a planar map: the coset
    channels still say which rotation fired. The logits are invariant to no rotation."""
    model = _randomised(build_model(name))
    first_planar = model.config.groups.index("p1") + 1
    stage = model.truncated(first_planar)
    assert check_equivariance(stage, images, group="p4", output_group="p1")["r"] > 1e-3
    logits = check_equivariance(model, images, group="p4", invariant=True)
    assert logits["e"] == 0 and logits["r"] > 1e-6 and logits["r^2"] > 1e-6


def test_p4_early_tells_a_digit_from_its_half_turn_where_p4cnn_cannot(images):
    """A 9 is a 6 turned by r^2: P4CNN's logits cannot separate them, P4EarlyCNN's can."""
    half_turned = act(r**2, images)
    p4cnn, early = _randomised(P4CNN()), _randomised(P4EarlyCNN())
    assert torch.allclose(p4cnn(half_turned), p4cnn(images), atol=1e-10)
    assert (early(half_turned) - early(images)).abs().max() > 1e-6


def test_a_chain_ending_on_a_group_is_invariant_to_it_and_not_beyond(images):
    """p4m -> p4 with the top on p4: logits invariant to every rotation, not to the mirror m."""
    for change in ("restrict", "coset_pool"):
        config = SevenLayerConfig.from_stages(("p4m", 3, 8), ("p4", 4, 10), change=change)
        model = _randomised(SevenLayerCNN(config))
        errors = check_equivariance(model, images, group="p4")
        assert max(errors.values()) < 1e-10, (change, errors)
        assert model(images).std() > 1e-3  # not invariant by being constant
        assert check_equivariance(model, images, group="p4m")["m"] > 1e-6
        assert check_equivariance(model.truncated(3), images, group="p4m")["mr"] < 1e-10


def test_restriction_doubles_the_channels_and_coset_pooling_keeps_them():
    stages = (("p4m", 2, 6), ("pmm", 2, 8), ("p1", 3, 12))
    restricted = SevenLayerCNN(SevenLayerConfig.from_stages(*stages))
    pooled = SevenLayerCNN(SevenLayerConfig.from_stages(*stages, change="coset_pool"))
    changes = [type(mod) for mod in restricted.modules() if isinstance(mod, (Restrict, CosetPool))]
    assert changes == [Restrict, Restrict]
    assert [type(mod) for mod in pooled.modules() if isinstance(mod, (Restrict, CosetPool))] == [CosetPool] * 2
    convs = lambda model: [mod for mod in model.features if isinstance(mod, (torch.nn.Conv2d, GroupConv2d))]  # noqa: E731
    assert [c.in_channels for c in convs(restricted)] == [6, 12, 8, 32, 12]  # p4m -> pmm: x 2, pmm -> p1: x 4
    assert [c.in_channels for c in convs(pooled)] == [6, 6, 8, 8, 12]
    assert restricted(torch.rand(3, 1, 28, 28)).shape == pooled(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_the_paper_models_are_configs_of_one_class():
    for model, group in ((Z2CNN(), "p1"), (P4CNN(), "p4"), (P4MCNN(), "p4m")):
        assert isinstance(model, SevenLayerCNN) and model.config.groups == (group,) * 7
    # the planar layers are nn.Conv2d, so Z2CNN is the planar network it always was
    assert not any(isinstance(mod, (LiftingConv2d, GroupConv2d)) for mod in Z2CNN().modules())
    assert isinstance(Z2CNN().top, torch.nn.Conv2d) and isinstance(Z2CNN().features[7], torch.nn.MaxPool2d)
    assert P4MCNN().config.kernel_sizes == (3,) * 7 and P4CNN().config.kernel_sizes[-1] == 4
    assert Z2CNN(channels=8, dropout=0.1).config == SevenLayerConfig(channels=(8,) * 6, dropout=0.1)


def test_config_describes_itself_and_is_frozen():
    config = P4MChainCNN.CONFIG
    assert config.describe() == "p4m x 2 -> pmm x 2 -> pm_u x 1 -> p1 x 2"
    assert config.channels == (7, 7, 9, 9, 12, 18)
    assert SevenLayerConfig(groups=("C4",) * 2 + ("C1",) * 5).groups == ("p4",) * 2 + ("p1",) * 5
    with pytest.raises(AttributeError):
        config.dropout = 0.5
    assert "p4m x 2 -> pmm x 2" in repr(P4MChainCNN())


@pytest.mark.parametrize("options, message", [
    ({"groups": ("p4",) * 3 + ("p4m",) * 4}, "layer 4 is on p4m, which is not a subgroup of layer 3's p4"),
    ({"groups": ("pm_u",) * 3 + ("pm_v",) * 4}, "not a subgroup of layer 3's pm_u"),
    ({"groups": ("p4",) * 6}, "groups must be a sequence of 7 values"),
    ({"groups": "p4"}, "groups must be a sequence of 7 values"),
    ({"groups": ("p5",) * 7}, "unknown group 'p5'"),
    ({"channels": (20,) * 7}, "channels must be a sequence of 6 values"),
    ({"channels": (20,) * 5 + (0,)}, "channels must hold positive ints"),
    ({"kernel_sizes": (3,) * 6 + (2.5,)}, "kernel_sizes must hold positive ints"),
    ({"pool_after": 7}, "pool_after must be a hidden layer, 1..6"),
    ({"dropout": 1.0}, r"dropout must be a probability in \[0, 1\)"),
    ({"change": "average"}, "change must be one of"),
])
def test_bad_configs_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        SevenLayerConfig(**options)


def test_bad_stages_and_truncations_are_named():
    with pytest.raises(ValueError, match="the stages must add up to 7 layers, got 6"):
        SevenLayerConfig.from_stages(("p4", 2, 10), ("p1", 4, 18))
    with pytest.raises(ValueError, match=r"a stage is \(group, layers, channels\)"):
        SevenLayerConfig.from_stages(("p4", 7))
    with pytest.raises(TypeError, match="takes a SevenLayerConfig"):
        SevenLayerCNN({"groups": ("p4",) * 7})
    with pytest.raises(ValueError, match="keeps 1..6 blocks"):
        P4EarlyCNN().truncated(7)


def test_mirror_groups_with_even_kernels(images):
    """A 4x4 top on p4m (even kernels are fine with mirrors): invariant to all of D4."""
    config = SevenLayerConfig.from_stages(("p4m", 7, 4))
    model = _randomised(SevenLayerCNN(config))
    errors = check_equivariance(model, images, group="p4m")
    assert len(errors) == len(D4) and max(errors.values()) < 1e-10
    assert check_equivariance(_randomised(P4EarlyCNN()), images, group="p4m", invariant=True)[m.label] > 1e-6


@pytest.mark.slow
def test_train_command_accepts_the_early_models(tmp_path):
    torch.set_num_threads(1)
    out = tmp_path / "run"
    argv = ["train", "--model", "p4-early", "p4m-pmm-pm", "--train-data", "upright", "--test-data", "upright",
            "--train-digits", "16", "--test-digits", "8", "--batch-size", "16", "--angle-step", "180",
            "--epochs", "1", "--device", "cpu", "--out", str(out)]
    assert cli.main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {name: row["parameters"] for name, row in metrics["models"].items()} == {"p4-early": 22_084,
                                                                                    "p4m-pmm-pm": 21_895}


def test_docstring_examples_run():
    import doctest

    import gcnn_edu.models

    result = doctest.testmod(gcnn_edu.models, extraglobs={"torch": torch})
    assert result.attempted > 0 and result.failed == 0
