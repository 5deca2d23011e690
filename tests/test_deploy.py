"""Deployment: torch.compile, torch.export, torch.jit.trace and bf16 autocast on the layers and
models, and gcnn_edu.export to plain torch.nn modules, saved and loaded without gcnn_edu.

Which torch.compile backend each test uses is said in its docstring: "eager" (Dynamo's graph
capture only: enough to prove there is no graph break, ``fullgraph=True`` raises on one),
"aot_eager" (capture plus AOTAutograd's functionalised trace, which is where mutation and
aliasing problems show) and, in one slow test, the default "inductor" (generated C++ code).

torch.jit.trace records the gather of the filter bank from the weight (the layers compute the
bank from the current weight in every mode), so a traced module reads its parameters: changing
them in place changes its output (pinned below). The input checks are Python conditions that
the tracer bakes in for the traced shapes; torch.export keeps them as guards instead.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from batch_norm import randomise_batch_norm
from torch import nn

import gcnn_edu
from gcnn_edu import didactic, fast
from gcnn_edu.deploy import ExportError, layer_sequence
from gcnn_edu.models import MODELS
from gcnn_edu.nn import (
    CosetPool,
    GroupBatchNorm,
    GroupConv2d,
    GroupPool,
    LiftingConv2d,
    Restrict,
    SpatialPool,
    restriction,
)

PAPER_MODELS = ["z2cnn", "p4cnn", "p4cnn-rotation-pooling", "p4mcnn"]
MODES = ["train", "no_grad", "inference_mode"]  # the last two in eval mode
BF16_TOLERANCE = 2e-2  # max |bf16 - float32| / max |float32|; measured at most 8.5e-3 on these models


def grad_mode(mode: str):
    return {"train": contextlib.nullcontext, "no_grad": torch.no_grad, "inference_mode": torch.inference_mode}[mode]()


def run(module, x, mode: str, seed: int = 0) -> torch.Tensor:
    """module(x) in train mode, or in eval mode under no_grad / inference_mode, dropout seeded."""
    module.train(mode == "train")
    with grad_mode(mode):
        torch.manual_seed(seed)
        out = module(x)
    return out.detach().clone() if mode != "inference_mode" else out.clone()


def build_model(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return randomise_batch_norm(MODELS[name]())


def digits(batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


# Every layer on a small input: (module, input shape).
LAYERS = {
    "lifting-p4": (lambda: LiftingConv2d(2, 3, 3, group="p4", padding=1), (2, 2, 9, 9)),
    "lifting-p4m": (lambda: LiftingConv2d(2, 3, 3, group="p4m"), (2, 2, 9, 9)),
    "group-p4": (lambda: GroupConv2d(2, 3, 3, group="p4"), (2, 2, 4, 9, 9)),
    "group-p4m": (lambda: GroupConv2d(2, 3, 3, group="p4m", padding=1), (2, 2, 8, 9, 9)),
    "spatial-pool": (lambda: SpatialPool(2), (2, 3, 4, 8, 8)),
    "spatial-pool-mean-planar": (lambda: SpatialPool(3, stride=2, padding=1, mode="mean"), (2, 3, 9, 9)),
    "group-pool": (lambda: GroupPool("max"), (2, 3, 8, 5, 5)),
    "group-pool-mean": (lambda: GroupPool("mean"), (2, 3, 4, 5, 5)),
    "coset-pool": (lambda: CosetPool("max"), (2, 3, 8, 5, 5)),
    "coset-pool-pmm-mean": (lambda: CosetPool("p4m", "pmm", "mean"), (2, 3, 8, 5, 5)),
    "restrict": (lambda: Restrict("p4m", "cmm"), (2, 3, 8, 5, 5)),
    "batch-norm": (lambda: randomise_batch_norm(GroupBatchNorm(3)), (2, 3, 4, 5, 5)),
}


def layer_and_input(name: str):
    make, shape = LAYERS[name]
    torch.manual_seed(0)
    return make(), torch.randn(shape)


def forget_cached_indices():
    """Empty the caches of the gather indices, so that a test's first use of an index may happen
    inside a trace (they hold NumPy arrays and ints, never tensors a trace could make fake: see
    test_tracing_leaves_the_cached_indices_real)."""
    for cached in (fast._filter_index, fast._channel_index, restriction._restriction_rows):
        cached.cache_clear()


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Every test compiles from scratch: no cached graph from another test hides a break."""
    torch._dynamo.reset()
    forget_cached_indices()
    yield
    torch._dynamo.reset()
    forget_cached_indices()


# ------------------------------------------------------------------------------------------------
# torch.compile
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_compiles_in_one_graph_and_agrees(name, mode):
    """Backend aot_eager, fullgraph=True: no graph break, the eager output, in every mode. The
    compiled layer runs first, so that its input checks run under Dynamo too."""
    layer, x = layer_and_input(name)
    compiled = torch.compile(layer, fullgraph=True, backend="aot_eager")
    out = run(compiled, x, mode)
    torch.testing.assert_close(out, run(layer, x, mode), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cls, group", [(LiftingConv2d, "p4"), (GroupConv2d, "p4m")])
def test_compiled_layer_reads_the_current_weight(cls, group, mode):
    """Backend aot_eager: after an in-place change of the weight and bias (an optimizer step,
    load_state_dict) the compiled layer computes with the new ones, in every mode."""
    layer, x = layer_and_input(f"{'lifting' if cls is LiftingConv2d else 'group'}-{group}")
    compiled = torch.compile(layer, fullgraph=True, backend="aot_eager")
    before = run(compiled, x, mode)
    with torch.no_grad():
        layer.weight.mul_(-2.0)
        layer.bias.add_(1.0)
    after = run(compiled, x, mode)
    assert not torch.allclose(after, before)
    torch.testing.assert_close(after, run(layer, x, mode), rtol=1e-6, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(MODELS))
def test_model_compiles_in_one_graph_and_agrees(name, mode):
    """Backend eager (Dynamo's capture: fullgraph=True proves there is no graph break), every
    model in every mode, compiled before any eager call, dropout seeded alike. About 1-2 s a case."""
    model, x = build_model(name), digits()
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    out = run(compiled, x, mode)
    torch.testing.assert_close(out, run(model, x, mode), rtol=1e-6, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["train", "no_grad"])
def test_p4mcnn_compiles_with_aot_eager(mode):
    """Backend aot_eager on one G-CNN, with autograd in train mode: forward and weight gradients."""
    model, x = build_model("p4mcnn"), digits()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(run(compiled, x, mode), run(model, x, mode), rtol=1e-5, atol=1e-6)
    if mode == "train":
        grads = []
        for module in (model, compiled):
            model.zero_grad()
            torch.manual_seed(0)
            module(x).square().sum().backward()
            grads.append(model.top.weight.grad.clone())
        torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_p4cnn_compiles_with_inductor():
    """Backend inductor (the default: generated C++), P4CNN in eval mode under no_grad."""
    model, x = build_model("p4cnn").eval(), digits()
    compiled = torch.compile(model, fullgraph=True)
    torch.testing.assert_close(run(compiled, x, "no_grad"), run(model, x, "no_grad"), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------------
# torch.export and torch.jit.trace of the package's own modules
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_torch_export_agrees(name, training):
    """The program is traced in the layer's mode (batch norm in train mode updates its buffers)."""
    layer, x = layer_and_input(name)
    expected = run(layer, x, "train" if training else "no_grad")
    layer.train(training)
    program = torch.export.export(layer, (x,))
    torch.testing.assert_close(program.module()(x), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
class _Lifting(nn.Module):
    def forward(self, x):
        return fast.lifting_correlation(x, torch.ones(1, 1, 1, 3, 3), "p4")


@pytest.mark.parametrize("module, shape", [(CosetPool("p4m", "p4"), (2, 3, 8, 5, 5)), (_Lifting(), (1, 1, 7, 7))],
                         ids=["CosetPool", "fast.lifting_correlation"])
def test_tracing_leaves_the_cached_indices_real(module, shape):
    """After torch.export traced a module once, the same module in eager mode still computes real values."""
    x = torch.randn(shape)
    torch.export.export(module, (x,))
    out = module(x)
    if isinstance(module, CosetPool):
        rotations, mirrors = x[:, :, :4], x[:, :, [4, 7, 6, 5]]  # the cosets {r^k, r^k m}
        expected = torch.maximum(rotations, mirrors)
    else:
        expected = didactic.lifting_correlation(x, torch.ones(1, 1, 1, 3, 3), "p4")
    assert type(out) is torch.Tensor
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)


def test_export_with_a_dynamic_batch_after_an_eager_call():
    model = build_model("p4cnn").eval()
    run(model, digits(5), "no_grad")
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(model, (digits(2),), dynamic_shapes=({0: batch},))
    torch.testing.assert_close(program.module()(digits(5)), run(model, digits(5), "no_grad"))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_model_torch_export_agrees(name):
    """Eval mode, with a dynamic batch dimension: batch 1 and 5 from one exported program."""
    model = build_model(name).eval()
    inputs = [digits(n, seed=n) for n in (1, 5)]
    expected = [run(model, x, "no_grad") for x in inputs]
    fresh = build_model(name).eval()  # never run: see test_export_with_a_dynamic_batch_after_an_eager_call
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(fresh, (digits(2),), dynamic_shapes=({0: batch},))
    for x, out in zip(inputs, expected, strict=True):
        torch.testing.assert_close(program.module()(x), out, rtol=1e-5, atol=1e-6)


def trace(module, x):
    with warnings.catch_warnings():  # the input checks are Python conditions, baked in for this shape
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return torch.jit.trace(module, x, check_trace=False)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", ["lifting-p4", "group-p4m", "batch-norm"])
def test_jit_trace_reads_the_weights(name, training):
    """A traced layer computes from its parameters: change them in place, its output follows."""
    layer, x = layer_and_input(name)
    layer.train(training)
    traced = trace(layer, x)
    before = traced(x).detach()
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.mul_(-2.0).add_(0.5)
    after = traced(x).detach()
    assert not torch.allclose(after, before)
    torch.testing.assert_close(after, layer(x).detach(), rtol=1e-6, atol=1e-6)


def test_jit_trace_of_a_model_reads_the_weights():
    """P4MCNN in eval mode, traced under no_grad: the trace follows a change of every parameter."""
    model = build_model("p4mcnn").eval()
    x = digits()
    with torch.no_grad():
        traced = trace(model, x)
        torch.testing.assert_close(traced(x), model(x), rtol=1e-6, atol=1e-6)
        before = model(x)
        for parameter in model.parameters():
            parameter.mul_(1.5)
        assert not torch.allclose(model(x), before)
        torch.testing.assert_close(traced(x), model(x), rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------------------------
# bfloat16 autocast on the CPU
# ------------------------------------------------------------------------------------------------


def relative_error(low: torch.Tensor, reference: torch.Tensor) -> float:
    return ((low.float() - reference).abs().max() / reference.abs().max()).item()


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_runs_under_bf16_autocast(name):
    layer, x = layer_and_input(name)
    layer.eval()
    with torch.no_grad():
        reference = layer(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = layer(x)
    if isinstance(layer, (LiftingConv2d, GroupConv2d)):
        assert low.dtype == torch.bfloat16  # conv2d ran in bf16
    assert relative_error(low, reference) < BF16_TOLERANCE


def test_a_bf16_input_is_checked_again_once_autocast_is_off():
    """Under autocast a bf16 input meets a float32 weight legitimately; the same call outside it
    must still get the layer's own error, not torch's (the check is not skipped as 'seen')."""
    layer = GroupConv2d(2, 3, 3, group="p4").eval()
    x = torch.randn(1, 2, 4, 6, 6, dtype=torch.bfloat16)
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert layer(x).dtype == torch.bfloat16
        with pytest.raises(TypeError, match=r"the input is torch.bfloat16 but the weight is torch.float32"):
            layer(x)


@pytest.mark.parametrize("name", list(MODELS))
def test_model_runs_under_bf16_autocast(name):
    """Eval mode: the bf16 logits are within 2e-2 of float32's, relative to their largest value."""
    model, x = build_model(name).eval(), digits(3)
    with torch.no_grad():
        reference = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x)
    assert low.shape == reference.shape
    assert relative_error(low, reference) < BF16_TOLERANCE


# ------------------------------------------------------------------------------------------------
# gcnn_edu.export: the same network from torch.nn modules only
# ------------------------------------------------------------------------------------------------


def only_torch_nn(module: nn.Module) -> bool:
    return all(type(m).__module__.startswith("torch.nn.") for m in module.modules())


@pytest.mark.parametrize("name", list(MODELS))
def test_export_is_made_of_torch_nn_modules_and_equals_the_model(name):
    """Eval mode, float32, batch 0, 1 and 3: equal to 1e-5."""
    model = build_model(name).eval()
    plain = gcnn_edu.export(model)
    assert isinstance(plain, nn.Sequential) and only_torch_nn(plain)
    assert not any(module.training for module in plain.modules())
    for n in (0, 1, 3):
        x = digits(n, seed=n)
        with torch.no_grad():
            out, expected = plain(x), model(x)
        assert out.shape == expected.shape == (n, 10)
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_export_holds_g_convolutions_as_conv2d_on_the_flattened_layout():
    model = build_model("p4mcnn").eval()
    plain = gcnn_edu.export(model)
    convs = [m for m in plain.modules() if isinstance(m, nn.Conv2d)]
    layers = [m for m in model.modules() if isinstance(m, (LiftingConv2d, GroupConv2d))]
    assert len(convs) == len(layers) == 7
    for conv, layer in zip(convs, layers, strict=True):
        assert conv.in_channels == layer.in_channels * layer.in_order
        assert conv.out_channels == layer.out_channels * layer.group_order
        assert torch.equal(conv.weight, layer.export().weight)


@pytest.mark.parametrize("name", list(LAYERS))
def test_export_of_one_layer(name):
    layer, x = layer_and_input(name)
    layer.eval()
    if isinstance(layer, (CosetPool, Restrict)):  # needs the G-convolution that made its input
        with pytest.raises(ExportError, match=f"{type(layer).__name__}.*must follow a G-convolution"):
            gcnn_edu.export(layer)
        return
    plain = gcnn_edu.export(layer)
    assert only_torch_nn(plain)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), layer(x), rtol=0, atol=1e-6)


def p4m_to_p4_network(mode: str = "max", end: str = "pool") -> nn.Sequential:
    """Lifting on p4m, batch norm, ReLU, spatial pooling, coset pooling to p4, a p4 layer; then
    group pooling to a planar map, or the p4 map itself."""
    torch.manual_seed(0)
    layers = [LiftingConv2d(2, 4, 3, group="p4m"), GroupBatchNorm(4), nn.ReLU(), SpatialPool(2),
              CosetPool(mode), GroupConv2d(4, 3, 3, group="p4", padding=1), GroupBatchNorm(3), nn.ReLU()]
    layers += [GroupPool(mode), nn.Conv2d(3, 2, 1)] if end == "pool" else [nn.Dropout(0.2)]
    return randomise_batch_norm(nn.Sequential(*layers))


@pytest.mark.parametrize("mode", ["max", "mean"])
@pytest.mark.parametrize("end", ["pool", "group map"])
def test_export_with_coset_pooling_equals_the_network(mode, end):
    """CosetPool's permutation is folded into the lifting layer's filter bank: exact; a network
    that ends in a group map gets it back in (N, C, |G|, H, W)."""
    network = p4m_to_p4_network(mode, end).eval()
    state = {k: v.clone() for k, v in network.state_dict().items()}
    plain = gcnn_edu.export(network)
    assert only_torch_nn(plain)
    x = torch.randn(3, 2, 12, 12)  # 12 -> 10 -> 5 -> 5: a sampling grid that rotations keep
    with torch.no_grad():
        expected, out = network(x), plain(x)
    assert out.shape == expected.shape == ((3, 2, 5, 5) if end == "pool" else (3, 3, 4, 5, 5))
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)
    for key, value in network.state_dict().items():  # the model is not changed by the export
        assert torch.equal(value, state[key]), key
    # the exported network is equivariant to quarter turns as the original is, to rounding
    assert max(gcnn_edu.check_equivariance(plain, torch.randn(1, 2, 12, 12), group="p4").values()) < 1e-5


@pytest.mark.parametrize("group, subgroup, smaller", [("p4m", "pmm", "pm_u"), ("p4m", "cmm", "cm_main"),
                                                      ("p4", "p2", "p1"), ("p4m", "p4", "p2")])
@pytest.mark.parametrize("mode", ["max", "mean"])
def test_export_with_restriction_and_coset_pooling_to_subgroups(group, subgroup, smaller, mode):
    """Lifting on G, Restrict to H, a layer on H, CosetPool to K: both reorderings are folded into
    the filter banks, and composed where they follow one another."""
    torch.manual_seed(0)
    restrict = Restrict(group, subgroup)
    planar = smaller == "p1"
    network = randomise_batch_norm(nn.Sequential(
        LiftingConv2d(2, 3, 3, group=group), GroupBatchNorm(3), nn.ReLU(), restrict,
        GroupConv2d(restrict.channels(3), 2, 3, group=subgroup, padding=1), GroupBatchNorm(2), nn.ReLU(),
        Restrict(subgroup, subgroup), CosetPool(subgroup, smaller, mode, planar=planar),
        *([] if planar else [GroupPool(mode)]))).eval()
    plain = gcnn_edu.export(network)
    assert only_torch_nn(plain)
    x = torch.randn(3, 2, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), network(x), rtol=0, atol=1e-5)


def test_export_of_restriction_to_a_planar_map():
    torch.manual_seed(0)
    network = nn.Sequential(LiftingConv2d(1, 3, 3, group="p4"), Restrict("p4", "p1", planar=True),
                            nn.Conv2d(12, 2, 3), SpatialPool(2)).eval()
    plain = gcnn_edu.export(network)
    x = torch.randn(2, 1, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), network(x), rtol=0, atol=1e-6)
    assert any(isinstance(m, nn.MaxPool2d) for m in plain)  # known to be planar: a 2-d pool


def test_export_in_train_mode_shares_batch_statistics_over_the_group_axis():
    """GroupBatchNorm becomes Unflatten -> BatchNorm3d -> Flatten: equal in train mode too, outputs
    and the running statistics it updates."""
    network = p4m_to_p4_network("max", "group map")
    network[-1].p = 0.0  # no dropout, so that train mode is deterministic
    plain = gcnn_edu.export(network.train())
    assert all(module.training for module in plain.modules())
    x = torch.randn(4, 2, 12, 12)
    torch.testing.assert_close(plain(x), network(x), rtol=1e-5, atol=1e-5)
    norms = [m for m in network.modules() if isinstance(m, GroupBatchNorm)]
    plain_norms = [m for m in plain.modules() if isinstance(m, nn.BatchNorm3d)]
    for norm, plain_norm in zip(norms, plain_norms, strict=True):
        torch.testing.assert_close(plain_norm.running_mean, norm.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(plain_norm.running_var, norm.running_var, rtol=1e-5, atol=1e-6)


def test_export_reads_nested_models_and_group_norm():
    """A registered model inside an nn.Sequential is inlined; nn.GroupNorm on a group map becomes
    GroupNorm over the flattened channels with the affine parameters repeated."""
    torch.manual_seed(0)
    norm = nn.GroupNorm(2, 4)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
    network = nn.Sequential(nn.Sequential(LiftingConv2d(1, 4, 3), norm, nn.GELU()), GroupConv2d(4, 1, 3),
                            GroupPool(), nn.Flatten(), nn.Linear(9, 2), nn.Softmax(dim=1)).eval()
    nested = nn.Sequential(build_model("p4cnn").eval(), nn.Softmax(dim=1)).eval()
    for model, x in ((network, torch.randn(2, 1, 7, 7)), (nested, digits())):
        plain = gcnn_edu.export(model)
        assert only_torch_nn(plain)
        with torch.no_grad():
            torch.testing.assert_close(plain(x), model(x), rtol=1e-5, atol=1e-6)


class _WithSequence(nn.Module):
    """A model with a forward of its own that says what it computes with as_sequential()."""

    def __init__(self):
        super().__init__()
        self.lift, self.pool = LiftingConv2d(1, 2, 3), GroupPool()

    def forward(self, x):
        return self.pool(self.lift(x)).relu()

    def as_sequential(self):
        return nn.Sequential(self.lift, self.pool, nn.ReLU())


class _Opaque(nn.Module):
    def __init__(self):
        super().__init__()
        self.lift = LiftingConv2d(1, 2, 3)

    def forward(self, x):
        return self.lift(x) * 2


def test_export_uses_as_sequential_and_register():
    model = _WithSequence().eval()
    x = torch.randn(2, 1, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(gcnn_edu.export(model)(x), model(x), rtol=0, atol=1e-6)
    with pytest.raises(ExportError, match="cannot read the forward of .*_Opaque.*as_sequential"):
        gcnn_edu.export(_Opaque())

    class Registered(_Opaque):
        pass

    layer_sequence.register(Registered, lambda model: [model.lift, GroupPool()])
    with torch.no_grad():
        out = gcnn_edu.export(Registered().eval())(x)
    assert out.shape == (2, 2, 4, 4)


def test_export_names_what_it_cannot_turn_into_torch_nn():
    model = nn.Sequential(LiftingConv2d(1, 2, 3), nn.Sequential(nn.ReLU(), _Opaque()))
    with pytest.raises(ExportError, match=r"_Opaque at '1\.1'.*nn\.Sequential of those"):
        gcnn_edu.export(model)
    wrapped = nn.Sequential(nn.ModuleList([LiftingConv2d(1, 2, 3)]))
    with pytest.raises(ExportError, match=r"LiftingConv2d at '0\.0' inside ModuleList at '0'"):
        gcnn_edu.export(wrapped)
    with pytest.raises(ExportError, match="group axis of size 8.*size 4"):
        gcnn_edu.export(nn.Sequential(LiftingConv2d(1, 2, 3, group="p4"), GroupConv2d(2, 2, 3, group="p4m")))
    with pytest.raises(ExportError, match="expects an nn.Module"):
        gcnn_edu.export(lambda x: x)


# ------------------------------------------------------------------------------------------------
# Saved, and loaded where gcnn_edu cannot be imported
# ------------------------------------------------------------------------------------------------

LOADER = textwrap.dedent("""
    import sys

    class NoGcnnEdu:  # gcnn_edu is not importable here, whatever the environment holds
        def find_spec(self, name, path=None, target=None):
            if name == "gcnn_edu" or name.startswith("gcnn_edu."):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, NoGcnnEdu())
    try:
        import gcnn_edu  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("gcnn_edu was importable")

    import torch

    folder = sys.argv[1]
    x = torch.load(f"{folder}/x.pt")
    outputs = {
        "plain.pt2": torch.export.load(f"{folder}/plain.pt2").module()(x),
        "model.pt2": torch.export.load(f"{folder}/model.pt2").module()(x),
        "plain.pt": torch.load(f"{folder}/plain.pt", weights_only=False)(x),
    }
    assert not any(m.startswith("gcnn_edu") for m in sys.modules)
    torch.save(outputs, f"{folder}/outputs.pt")
""")


@pytest.mark.slow
def test_saved_modules_load_and_run_without_gcnn_edu(tmp_path):
    """torch.export .pt2 files of the exported plain module and of the model itself, and the
    plain module pickled whole by torch.save, run in a fresh isolated interpreter (python -I)
    in which importing gcnn_edu raises."""
    model = build_model("p4mcnn").eval()
    plain = gcnn_edu.export(model)
    x = digits(3)
    torch.save(x, tmp_path / "x.pt")
    torch.export.save(torch.export.export(plain, (x,)), tmp_path / "plain.pt2")
    torch.export.save(torch.export.export(model, (x,)), tmp_path / "model.pt2")
    torch.save(plain, tmp_path / "plain.pt")
    result = subprocess.run([sys.executable, "-I", "-c", LOADER, str(tmp_path)], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with torch.no_grad():
        expected = model(x)
    for name, out in torch.load(tmp_path / "outputs.pt").items():
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-5, msg=name)


# ------------------------------------------------------------------------------------------------
# ONNX, run by onnxruntime (the deploy extra)
# ------------------------------------------------------------------------------------------------


def onnx_session(module: nn.Module, path):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    batch = torch.export.Dim("batch", min=1)
    program = torch.onnx.export(module, (digits(2),), dynamic_shapes=({0: batch},), dynamo=True, verbose=False)
    program.save(str(path))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.mark.slow
@pytest.mark.parametrize("source", ["plain", "model"])
@pytest.mark.parametrize("name", PAPER_MODELS)
def test_onnx_runtime_equals_pytorch(name, source, tmp_path):
    """torch.onnx.export (dynamo) with a dynamic batch dimension, from gcnn_edu.export's plain
    module and from the gcnn_edu model itself; onnxruntime on the CPU agrees to 1e-5 at batch 1
    and 5."""
    model = build_model(name).eval()
    module = gcnn_edu.export(model) if source == "plain" else model
    session = onnx_session(module, tmp_path / f"{name}.onnx")
    for n in (1, 5):
        x = digits(n, seed=n)
        (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
        with torch.no_grad():
            torch.testing.assert_close(torch.from_numpy(out), model(x), rtol=0, atol=1e-5)


def test_the_layer_cases_reach_every_layer_class():
    classes = {type(layer_and_input(name)[0]) for name in LAYERS}
    assert classes == {LiftingConv2d, GroupConv2d, SpatialPool, GroupPool, CosetPool, Restrict, GroupBatchNorm}
