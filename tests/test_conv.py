"""Lifting and group correlations: fast == didactic, gradients, equivariance, export, cache, errors."""

import copy
import itertools
import pickle
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from gcnn_edu import check_equivariance, didactic, fast
from gcnn_edu._validation import EquivarianceWarning
from gcnn_edu.functions import act
from gcnn_edu.groups import D4, P4M, PLANE_GROUPS, point_group, resolve_group
from gcnn_edu.nn import GroupConv2d, GroupPool, LiftingConv2d

LAYERS = [LiftingConv2d, GroupConv2d]
GROUP_NAMES = [G.name for G in PLANE_GROUPS]


def make_input(layer, batch, height, width, dtype=torch.float64, device="cpu"):
    shape = (batch, layer.in_channels, height, width) if layer.lifting else \
        (batch, layer.in_channels, layer.group_order, height, width)
    return torch.randn(shape, dtype=dtype, device=device)


@st.composite
def layer_configs(draw):
    group = draw(st.sampled_from(GROUP_NAMES))
    kernel = draw(st.sampled_from([1, 2, 3, 4, 5]))
    dilation = draw(st.integers(1, 2))
    reach = dilation * (kernel - 1) + 1
    padding = draw(st.integers(0, 2))
    height = draw(st.integers(max(reach - 2 * padding, 1), 9))
    width = draw(st.integers(max(reach - 2 * padding, 1), 9))
    return dict(
        cls=draw(st.sampled_from(LAYERS)), group=group, kernel_size=kernel, dilation=dilation,
        padding=padding, stride=draw(st.integers(1, 2)), bias=draw(st.booleans()),
        in_channels=draw(st.integers(1, 3)), out_channels=draw(st.integers(1, 3)),
        batch=draw(st.integers(1, 2)), height=height, width=width,
    )


def build(config, dtype):
    options = {k: config[k] for k in ("in_channels", "out_channels", "kernel_size", "group", "stride",
                                      "padding", "dilation", "bias")}
    return config["cls"](**options, dtype=dtype)


@given(layer_configs())
def test_fast_equals_didactic_float64_forward_and_gradient(config):
    layer = build(config, torch.float64)
    x = make_input(layer, config["batch"], config["height"], config["width"]).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquivarianceWarning)  # rectangles and odd strides are fine here
        outputs, grads = [], []
        for impl in ("fast", "didactic"):
            layer.impl = impl
            out = layer(x)
            weights = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(0))
            params = [x, layer.weight] + ([layer.bias] if layer.bias is not None else [])
            grads.append(torch.autograd.grad((out * weights).sum(), params))
            outputs.append(out)
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=1e-10)
    for fast_grad, didactic_grad in zip(*grads, strict=True):
        torch.testing.assert_close(fast_grad, didactic_grad, rtol=0, atol=1e-10)


@given(layer_configs())
def test_fast_equals_didactic_float32(config):
    layer = build(config, torch.float32)
    x = make_input(layer, config["batch"], config["height"], config["width"], dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquivarianceWarning)
        fast_out = layer(x)
        layer.impl = "didactic"
        didactic_out = layer(x)
    scale = didactic_out.abs().max().clamp_min(1e-6)
    assert ((fast_out - didactic_out).abs().max() / scale) < 1e-5


@given(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.integers(5, 9), st.integers(5, 9))
def test_didactic_planar_correlation_is_conv2d(k, stride, padding, dilation, height, width):
    f = torch.randn(2, 3, height + dilation * k, width + dilation * k, dtype=torch.float64)
    psi = torch.randn(4, 3, k, k, dtype=torch.float64)
    options = dict(stride=stride, padding=padding, dilation=dilation)
    torch.testing.assert_close(didactic.planar_correlation(f, psi, **options), F.conv2d(f, psi, **options),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("group", GROUP_NAMES)
def test_functional_paths_share_signature_and_result(group):
    order = point_group(group).order
    x = torch.randn(2, 3, 7, 7, dtype=torch.float64)
    w_lift = torch.randn(4, 3, 1, 3, 3, dtype=torch.float64)
    w_group = torch.randn(2, 4, order, 3, 3, dtype=torch.float64)
    bias = torch.randn(2, dtype=torch.float64)
    for path in (fast, didactic):
        y = path.lifting_correlation(x, w_lift, group, padding=1)
        z = path.group_correlation(y, w_group, group, padding=1, bias=bias)
        if path is fast:
            expected = z
    torch.testing.assert_close(expected, z, rtol=0, atol=1e-12)
    assert z.shape == (2, 2, order, 7, 7)


@pytest.mark.parametrize("cls, group", list(itertools.product(LAYERS, ["p4", "p4m", "pm_v", "cmm"])))
def test_gradcheck(cls, group):
    layer = cls(1, 2, 3, group=group, padding=1, dtype=torch.float64)
    x = make_input(layer, 1, 3, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, w, b: fast.lifting_correlation(x, w, group, padding=1, bias=b)
                                    if cls is LiftingConv2d else
                                    fast.group_correlation(x, w, group, padding=1, bias=b),
                                    (x, layer.weight, layer.bias))


def test_filter_gradient_is_the_scatter_add_of_the_bank_gradient():
    """Supplementary material, section 2: dL/dψ[i] = Σ over bank entries that read ψ[i]."""
    weight = torch.randn(2, 3, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    index = fast.channel_index("p4", 4, 3, 3)
    bank = fast.transform_filter(weight, index, 4)
    bank_grad = torch.randn_like(bank)
    (grad,) = torch.autograd.grad(bank, weight, bank_grad)
    expected = torch.zeros(2, 3 * 4 * 9, dtype=torch.float64)
    expected.index_add_(1, index, bank_grad.reshape(2, -1))
    torch.testing.assert_close(grad, expected.view_as(weight), rtol=0, atol=0)


@pytest.mark.parametrize("kernel", [3, 4])
@pytest.mark.parametrize("group", GROUP_NAMES)
def test_filter_index_is_the_action_on_positions(group, kernel):
    H = point_group(group)
    for in_order in (1, H.order):
        index = fast.filter_index(group, in_order, kernel)
        assert index.shape == (H.order, in_order, kernel, kernel)
        psi = torch.randn(in_order, kernel, kernel)
        as_map = psi[None] if in_order == 1 else psi[None, None]  # planar (1, 1, k, k) or (1, 1, |H|, k, k)
        for g in H:  # row H.index(g) of the index is L_g, on a planar filter or a filter on the group
            moved = act(g, as_map, group).view(in_order, kernel, kernel)
            assert torch.equal(psi.flatten()[index[H.index(g)]], moved)


# --- equivariance, exact, for every element of the point group ----------------------------------


@pytest.mark.parametrize("group", GROUP_NAMES)
@pytest.mark.parametrize("size", [7, 8])
@pytest.mark.parametrize("kernel", [3, 4, 5])
def test_equivariance_every_element_symmetric_padding(group, size, kernel):
    """Odd and even kernels on odd and even images, for every group: the mirrors and rotations
    about the centre map an even pixel grid onto itself as well as an odd one."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        LiftingConv2d(2, 3, kernel, group=group, padding=kernel // 2, dtype=torch.float64),
        GroupConv2d(3, 2, 3, group=group, padding=1, dtype=torch.float64),
    )
    x = torch.randn(2, 2, size, size, dtype=torch.float64)
    errors = check_equivariance(net, x)
    assert set(errors) == {g.label for g in point_group(group)}
    assert max(errors.values()) < 1e-12


@pytest.mark.parametrize("group", ["p4", "p4m", "pmm", "cm_anti"])
def test_equivariance_stride_two_even_size_even_kernel(group):
    net = LiftingConv2d(1, 2, 4, group=group, stride=2, padding=1, dtype=torch.float64, strict=True)
    assert max(check_equivariance(net, torch.randn(1, 1, 8, 8, dtype=torch.float64)).values()) < 1e-12


@pytest.mark.parametrize("group", [name for name in GROUP_NAMES if name != "p4m"])
def test_a_layer_on_a_subgroup_is_not_equivariant_to_elements_outside_it(group):
    """Lift on H, pool over H: exact for g in H, off by far more than rounding for g in D4 outside H."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(LiftingConv2d(1, 2, 3, group=group, padding=1, dtype=torch.float64), GroupPool())
    x = torch.randn(2, 1, 9, 9, dtype=torch.float64)
    errors = check_equivariance(net, x, group="p4m")  # the planar output: every g of D4 acts on it
    H = point_group(group)
    for g in D4:
        if g in H:
            assert errors[g.label] < 1e-12
        else:
            assert errors[g.label] > 1e-2, (g, errors)


def test_stride_check_asks_only_for_the_axes_the_group_reverses():
    x_rows_ok = torch.randn(1, 1, 9, 8, dtype=torch.float64)  # (9 - 3) % 2 == 0 on rows, 1 on columns
    flip_rows = LiftingConv2d(1, 2, 3, group="pm_u", stride=2, dtype=torch.float64, strict=True)
    assert max(check_equivariance(flip_rows, x_rows_ok).values()) < 1e-12  # m reverses u only
    flip_columns = LiftingConv2d(1, 2, 3, group="pm_v", stride=2, dtype=torch.float64, strict=True)
    with pytest.raises(ValueError, match=r"column\(s\).*pm_v.*Choose W with \(W \+ 2\*padding - 3\) % 2 == 0"):
        flip_columns(x_rows_ok)
    transpose = LiftingConv2d(1, 2, 3, group="cm_main", stride=2, dtype=torch.float64, strict=True)
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64)  # (8 - 3) % 2 == 1, but u <-> v reverses nothing
    assert max(check_equivariance(transpose, x).values()) < 1e-12
    translations_only = LiftingConv2d(1, 2, 3, group="p1", stride=2, dtype=torch.float64, strict=True)
    assert translations_only(x).shape == (1, 2, 1, 3, 3)


@pytest.mark.parametrize("group", ["p4", "p4m", "p2", "pm_u", "cmm"])
@pytest.mark.parametrize("size, kernel, padding", [(9, 3, 0), (9, 3, 1), (11, 5, 2), (13, 5, 1), (7, 1, 0)])
def test_equivariance_stride_two_with_symmetric_grid(group, size, kernel, padding):
    assert (size + 2 * padding - kernel) % 2 == 0
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        LiftingConv2d(1, 2, kernel, group=group, stride=2, padding=padding, dtype=torch.float64,
                      strict=True),
        GroupConv2d(2, 2, 1, group=group, dtype=torch.float64),
    )
    x = torch.randn(1, 1, size, size, dtype=torch.float64)
    assert max(check_equivariance(net, x).values()) < 1e-12


@pytest.mark.parametrize("kernel", [2, 4])
@pytest.mark.parametrize("group", ["p4m", "pm_u", "pm_v", "cm_main", "cmm"])
def test_even_kernels_on_mirror_groups_fast_equals_didactic_and_are_exact(group, kernel):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        LiftingConv2d(2, 3, kernel, group=group, padding=kernel // 2, dtype=torch.float64),
        GroupConv2d(3, 2, kernel, group=group, dtype=torch.float64),
    )
    x = torch.randn(2, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    results = []
    for impl in ("fast", "didactic"):
        for layer in net:
            layer.impl = impl
        out = net(x)
        results.append((out, *torch.autograd.grad(out.square().sum(), [x, net[0].weight, net[1].weight])))
    for fast_value, didactic_value in zip(*results, strict=True):
        torch.testing.assert_close(fast_value, didactic_value, rtol=0, atol=1e-10)
    assert max(check_equivariance(net, x.detach()).values()) < 1e-12


def test_check_equivariance_catches_a_planar_convolution():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, dtype=torch.float64)
    errors = check_equivariance(conv, torch.randn(1, 1, 7, 7, dtype=torch.float64), group="p4")
    assert errors["e"] == 0 and errors["r"] > 1e-3


def test_asymmetric_stride_warns_and_strict_raises():
    layer = LiftingConv2d(1, 1, 3, stride=2, dtype=torch.float64)
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64)  # (8 - 3) % 2 == 1
    with pytest.warns(EquivarianceWarning, match="not exactly equivariant"):
        layer(x)
    layer.strict = True
    with pytest.raises(ValueError, match=r"\(H \+ 2\*padding - 3\) % 2 == 0"):
        layer(x)
    with pytest.warns(EquivarianceWarning):  # and the warning is right: the error is real
        errors = check_equivariance(LiftingConv2d(1, 1, 3, stride=2, dtype=torch.float64), x)
    assert max(errors.values()) > 1e-3


# --- the module: parameters, state dict, export, eval cache -------------------------------------


def test_weight_shapes_state_dict_and_init():
    lift = LiftingConv2d(3, 5, 3, group="p4m")
    conv = GroupConv2d(5, 6, 3, group="p4m")
    assert lift.weight.shape == (5, 3, 1, 3, 3) and conv.weight.shape == (6, 5, 8, 3, 3)
    assert set(conv.state_dict()) == {"weight", "bias"}  # the index is a non-persistent buffer
    didactic_conv = GroupConv2d(5, 6, 3, group="p4m", impl="didactic")
    didactic_conv.load_state_dict(conv.state_dict())
    x = torch.randn(2, 5, 8, 6, 6)
    torch.testing.assert_close(didactic_conv(x), conv(x), rtol=1e-5, atol=1e-5)
    bound = 1 / (5 * 8 * 9) ** 0.5  # fan-in counts the group axis
    assert conv.weight.abs().max() <= bound and conv.bias.abs().max() <= bound
    assert conv.weight.abs().max() > bound / 2


def test_extra_repr_and_resolved_group():
    assert repr(GroupConv2d(2, 3, 3, group="p4m", padding=1, bias=False)) == \
        "GroupConv2d(2, 3, kernel_size=3, p4m -> p4m, padding=1, bias=False)"
    assert "Z2 -> p4" in repr(LiftingConv2d(1, 2, 5))
    assert repr(LiftingConv2d(1, 2, 4, group="D1_v")) == "LiftingConv2d(1, 2, kernel_size=4, Z2 -> pm_v)"
    for spec in ("p4m", "D4", P4M, D4):
        layer = GroupConv2d(1, 1, 3, group=spec)
        assert layer.group is P4M and layer.group_order == 8
    for G in PLANE_GROUPS:
        layer = GroupConv2d(2, 3, 3, group=G.name)
        assert layer.group is resolve_group(G.name) and layer.weight.shape == (3, 2, G.point_group.order, 3, 3)


@pytest.mark.parametrize("cls, group", list(itertools.product(LAYERS, ["p4", "p4m", "p1", "cm_anti"])))
def test_export_gives_identical_outputs(cls, group):
    layer = cls(3, 4, 3, group=group, stride=2, padding=1)
    x = make_input(layer, 2, 9, 9, dtype=torch.float32)
    conv = layer.export()
    assert isinstance(conv, torch.nn.Conv2d)
    flat = x.flatten(1, 2) if x.dim() == 5 else x
    assert torch.equal(conv(flat), layer(x).flatten(1, 2))


# --- never stale: whatever changes the parameters, the output is a fresh computation's ----------


def fresh_output(layer, x):
    """What a newly built layer with the same parameters computes (train mode: no cache at all)."""
    twin = type(layer)(layer.in_channels, layer.out_channels, layer.kernel_size, group=layer.group,
                       stride=layer.stride, padding=layer.padding, bias=layer.bias is not None,
                       device=layer.weight.device, dtype=layer.weight.dtype)
    twin.load_state_dict({name: value.detach().clone() for name, value in layer.state_dict().items()})
    with torch.no_grad():
        return twin(x)


def eval_output(layer, x, mode="no_grad"):
    context = torch.inference_mode() if mode == "inference_mode" else torch.no_grad()
    with context:
        return layer(x).clone()


def _optimizer_step(layer):
    layer.train()
    x = make_input(layer, 2, 7, 7, dtype=layer.weight.dtype)
    torch.optim.SGD(layer.parameters(), lr=0.5).zero_grad()
    layer(x).square().mean().backward()
    torch.optim.SGD(layer.parameters(), lr=0.5).step()
    layer.eval()


def _numpy_view_edit(layer):
    numpy_view = layer.weight.detach().numpy()  # shares memory; no version counter sees this
    numpy_view *= -1.5


def _reassign_parameters(layer):
    layer.weight = torch.nn.Parameter(torch.randn_like(layer.weight))
    layer.bias = torch.nn.Parameter(torch.randn_like(layer.bias))


def _to_float64_and_back(layer):
    layer.double()
    with torch.no_grad():
        layer.weight.add_(0.25)
    layer.float()


CHANGES = {
    "optimizer step": _optimizer_step,
    ".data mul_": lambda layer: layer.weight.data.mul_(2),
    ".data = new tensor": lambda layer: setattr(layer.weight, "data", torch.randn_like(layer.weight)),
    ".data[:] =": lambda layer: layer.weight.data.__setitem__(slice(None), 0.5),
    "bias.data.fill_": lambda layer: layer.bias.data.fill_(3.0),
    "shared NumPy memory": _numpy_view_edit,
    "load_state_dict": lambda layer: layer.load_state_dict(
        {"weight": torch.randn_like(layer.weight), "bias": torch.randn_like(layer.bias)}),
    "re-assigned parameters": _reassign_parameters,
    "in place under no_grad": lambda layer: torch.no_grad()(layer.weight.mul_)(-1),
    ".to(float64), edit, back": _to_float64_and_back,
    "one weight bit": lambda layer: layer.weight.data.view(-1)[7:8].view(torch.int32).add_(1),
    # the same memory, address, dtype and shape, read with other strides: every filter transposed
    "same bytes, transposed strides": lambda layer: setattr(layer.weight, "data", layer.weight.data.transpose(3, 4)),
}


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("cls", LAYERS)
def test_eval_output_is_never_stale(cls, change, mode):
    torch.manual_seed(0)
    layer = cls(3, 4, 3, group="p4m", padding=1).eval()
    x = make_input(layer, 2, 7, 7, dtype=torch.float32)
    before = eval_output(layer, x, mode)
    eval_output(layer, x, mode)  # the second call would reuse a bank, if one were kept
    CHANGES[change](layer)
    after = eval_output(layer, x, mode)
    assert not torch.equal(after, before), "the change should have changed the output"
    assert torch.equal(after, fresh_output(layer, x))
    assert torch.equal(layer.export()(x.flatten(1, 2) if x.dim() == 5 else x), after.flatten(1, 2))


def test_functional_call_with_fresh_tensors_is_never_stale():
    layer = GroupConv2d(3, 4, 3, padding=1).eval()
    x = torch.randn(2, 3, 4, 6, 6)
    with torch.no_grad():
        layer(x)
        for seed in range(4):  # fresh tensors may land on the address a freed one had
            torch.manual_seed(seed)
            params = {"weight": torch.randn_like(layer.weight), "bias": torch.randn_like(layer.bias)}
            out = torch.func.functional_call(layer, params, (x,))
            expected = fast.group_correlation(x, params["weight"], "p4", padding=1, bias=params["bias"])
            assert torch.equal(out, expected)
        assert torch.equal(layer(x), fresh_output(layer, x))  # and the layer's own parameters again


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("cls", LAYERS)
def test_torch_func_per_sample_gradients_and_ensembles(cls, train):
    """torch.func's grad and vmap wrap the parameters in tensors with no memory of their own: the
    layer checks and gathers every call there, and computes what a loop computes."""
    torch.manual_seed(0)
    layer = cls(2, 3, 3, group="p4", padding=1, dtype=torch.float64).train(train)
    params = {name: value.detach() for name, value in layer.named_parameters()}
    x = make_input(layer, 4, 5, 5)

    def loss(p, sample):
        return torch.func.functional_call(layer, p, (sample[None],)).square().sum()

    per_sample = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0))(params, x)
    for i in range(len(x)):
        expected = torch.func.grad(loss)(params, x[i])
        for name in params:
            torch.testing.assert_close(per_sample[name][i], expected[name])
    ensemble = {name: torch.stack([value, 2 * value, -value]) for name, value in params.items()}
    with torch.no_grad():
        outputs = torch.func.vmap(lambda p: torch.func.functional_call(layer, p, (x,)))(ensemble)
        for k in range(3):
            member = {name: value[k] for name, value in ensemble.items()}
            torch.testing.assert_close(outputs[k], fast_output(layer, member, x))


def fast_output(layer, params, x):
    correlation = fast.lifting_correlation if layer.lifting else fast.group_correlation
    return correlation(x, params["weight"], layer.group, padding=layer.padding, bias=params["bias"])


@pytest.mark.parametrize("cls", LAYERS)
def test_a_weight_with_other_input_channels_is_checked_again(cls):
    """The input check is remembered per call signature, which holds the weight's shape."""
    layer = cls(3, 4, 3, group="p4").eval()
    x = make_input(layer, 1, 7, 7, dtype=torch.float32)
    with torch.no_grad():
        layer(x)
        layer.weight.data = torch.randn(4, 5, *layer.weight.shape[2:])
        with pytest.raises(ValueError, match="expects 5 input channels"):
            layer(x)


@pytest.mark.parametrize("copy_with", ["deepcopy", "pickle"])
def test_copies_compute_from_their_own_parameters(copy_with):
    layer = LiftingConv2d(1, 3, 3, group="p4m", padding=1).eval()
    x = torch.randn(2, 1, 7, 7)
    with torch.no_grad():
        original = layer(x)
    twin = copy.deepcopy(layer) if copy_with == "deepcopy" else pickle.loads(pickle.dumps(layer))
    assert not twin._bank_cache  # copies carry no bank
    with torch.no_grad():
        assert torch.equal(twin(x), original)
        twin.weight.data.neg_()
        assert torch.equal(twin(x), fresh_output(twin, x))
        assert torch.equal(layer(x), original)  # the original is untouched


def test_eval_bank_is_reused_only_while_nothing_records_gradients():
    layer = GroupConv2d(3, 4, 3, padding=1).eval()
    x = torch.randn(2, 3, 4, 6, 6)
    layer(x).sum().backward()  # eval mode, but gradients are recorded: no cache
    assert layer.weight.grad is not None and not layer._bank_cache
    gathered = []

    def counted_gather(weight, bias):
        gathered.append(weight)
        return GroupConv2d._gather(layer, weight, bias)

    layer._gather = counted_gather
    with torch.no_grad():
        expected = layer(x)
        for _ in range(3):
            assert torch.equal(layer(x), expected)
    assert len(gathered) == 1  # unchanged parameters: the bank is reused
    layer.train()
    assert not layer._bank_cache


def test_freeze_is_an_explicit_unchecked_snapshot_that_train_and_new_parameters_undo():
    layer = GroupConv2d(3, 4, 3, group="pmm", padding=1).eval()
    x = torch.randn(2, 3, 4, 6, 6)
    with torch.no_grad():
        before = layer(x)
        assert layer.freeze() is layer and layer.frozen
        layer.weight.data.mul_(2)  # the documented contract: a frozen layer does not look
        assert torch.equal(layer(x), before)
        layer.unfreeze()
        assert torch.equal(layer(x), fresh_output(layer, x))
    for undo in (lambda: layer.train(), lambda: layer.load_state_dict(layer.state_dict()), lambda: layer.double(),
                 lambda: setattr(layer, "weight", torch.nn.Parameter(layer.weight.detach().clone()))):
        layer.float().eval().freeze()
        undo()
        assert not layer.frozen
    layer.float().eval().freeze()
    layer.eval()  # eval() keeps it
    assert layer.frozen
    with torch.no_grad():
        assert torch.equal(layer(x), fresh_output(layer, x))
    out = layer(x.requires_grad_())  # gradients recorded: the bank is gathered, so the weight gets its gradient
    out.sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


def test_freeze_and_unfreeze_a_model():
    from gcnn_edu.models import P4CNN
    from gcnn_edu.nn import freeze, unfreeze

    model = P4CNN().eval()
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(freeze(model)(x), expected)
        convs = [m for m in model.modules() if isinstance(m, (LiftingConv2d, GroupConv2d))]
        assert len(convs) == 7 and all(conv.frozen for conv in convs)
        assert not any(conv.frozen for conv in unfreeze(model).modules() if hasattr(conv, "frozen"))


def test_layers_own_their_index_buffers():
    first, second = GroupConv2d(2, 2, 3), GroupConv2d(2, 2, 3)
    x = torch.randn(1, 2, 4, 5, 5)
    expected = second(x)
    first.filter_index.zero_()
    fast.filter_index("p4", 4, 3).zero_()
    fast.channel_index("p4", 4, 2, 3).zero_()
    assert torch.equal(second(x), expected)
    assert torch.equal(fast.group_correlation(x, second.weight, "p4", bias=second.bias), expected)


@pytest.mark.parametrize("cls, group", list(itertools.product(LAYERS, ["p4", "p4m"])))
def test_empty_batch(cls, group):
    layer = cls(3, 4, 3, group=group, padding=1)
    x = make_input(layer, 0, 5, 5, dtype=torch.float32)
    assert layer(x).shape == (0, 4, layer.group_order, 5, 5)
    with torch.no_grad():
        assert layer.eval()(x).shape == (0, 4, layer.group_order, 5, 5)
        layer.impl = "didactic"
        assert layer(x).shape == (0, 4, layer.group_order, 5, 5)


# --- bad input, named at the layer's edge --------------------------------------------------------


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: GroupConv2d(2, 2, 3, group="p6"), "unknown group 'p6'.*'pm_u'"),
        (lambda: GroupConv2d(0, 2, 3), "in_channels must be a positive int"),
        (lambda: GroupConv2d(2, 2, (3, 5)), "kernel_size must be one int"),
        (lambda: GroupConv2d(2, 2, 3, stride=0), "stride"),
        (lambda: GroupConv2d(2, 2, 3, impl="cuda"), "impl must be 'fast' or 'didactic'"),
    ],
)
def test_bad_construction(make, words):
    with pytest.raises(ValueError, match=words):
        make()


@pytest.mark.parametrize(
    "layer, x, error, words",
    [
        (LiftingConv2d(1, 2, 3), torch.randn(1, 1, 4, 5, 5), ValueError, "planar input.*use GroupConv2d"),
        (LiftingConv2d(1, 2, 3), torch.randn(5, 5), ValueError, r"\(N, C_in, H, W\)"),
        (GroupConv2d(1, 2, 3), torch.randn(1, 1, 5, 5), ValueError, "lift it first"),
        (GroupConv2d(1, 2, 3, group="p4m"), torch.randn(1, 1, 4, 5, 5), ValueError,
         r"size 8, got size 4 \(a map on one of \['p4', 'pmm', 'cmm'\]\).*CosetPool\(group, subgroup\)"),
        (GroupConv2d(1, 2, 3), torch.randn(1, 1, 8, 5, 5), ValueError,
         r"size 4, got size 8 \(a map on one of \['p4m'\]"),
        (GroupConv2d(1, 2, 3, group="pm_u"), torch.randn(1, 1, 4, 5, 5), ValueError,
         r"GroupConv2d on pm_u expects a group axis \(dim 2\) of size 2, got size 4"),
        (GroupConv2d(3, 2, 3), torch.randn(1, 2, 4, 5, 5), ValueError, "expects 3 input channels.*got 2"),
        (LiftingConv2d(1, 2, 3), torch.randn(1, 1, 5, 5, dtype=torch.float64), TypeError, "layer.to"),
        (LiftingConv2d(1, 2, 5), torch.randn(1, 1, 3, 3), ValueError, "smaller than the kernel"),
        (LiftingConv2d(1, 2, 3), [[1.0]], TypeError, "torch.Tensor"),
    ],
)
def test_bad_input(layer, x, error, words):
    with pytest.raises(error, match=words):
        layer(x)


# --- CUDA: run where a GPU is present, skip cleanly where not ------------------------------------

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("cls, group", list(itertools.product(LAYERS, GROUP_NAMES)))
def test_cuda_matches_cpu_and_didactic(cls, group):
    torch.manual_seed(0)
    layer = cls(3, 4, 3, group=group, padding=1, dtype=torch.float64)
    x = make_input(layer, 2, 9, 9)
    expected = layer(x)
    layer.cuda()
    assert layer.filter_index.is_cuda  # the index buffer follows the module
    x_cuda = x.cuda().requires_grad_()
    out = layer(x_cuda)
    torch.testing.assert_close(out.cpu(), expected, rtol=0, atol=1e-10)
    out.square().sum().backward()
    layer.impl = "didactic"
    torch.testing.assert_close(layer(x_cuda).cpu(), expected, rtol=0, atol=1e-10)
    assert layer.weight.grad.is_cuda


@cuda
@pytest.mark.cuda
def test_cuda_equivariance_and_eval_cache():
    net = torch.nn.Sequential(LiftingConv2d(1, 4, 3, group="p4m", padding=1),
                              GroupConv2d(4, 4, 3, group="p4m", padding=1)).cuda().eval()
    x = torch.randn(2, 1, 9, 9, device="cuda")
    assert max(check_equivariance(net, x).values()) < 1e-4
    with torch.no_grad():
        net(x)
        assert not net[1]._bank_cache  # on a GPU the bank is gathered every call: comparing would sync
        net[1].weight.data.mul_(2)
        assert torch.equal(net[1](net[0](x)), fresh_output(net[1], net[0](x)))


# --- edge cases: integer-like sizes, integer input, a changed stride, where warnings point ---------


@pytest.mark.parametrize("cls", LAYERS)
def test_numpy_and_tensor_integers_are_accepted_as_sizes(cls):
    layer = cls(2, 3, np.int64(3), padding=np.int64(1), stride=torch.tensor(1), dilation=np.uint8(1))
    assert (layer.kernel_size, layer.padding, layer.stride, layer.dilation) == (3, 1, 1, 1)
    assert all(type(v) is int for v in (layer.kernel_size, layer.padding, layer.stride, layer.dilation))
    assert layer(make_input(layer, 1, 5, 5, dtype=torch.float32)).shape[-2:] == (5, 5)
    assert cls(np.int64(2), np.int32(3), 3).weight.shape[:2] == (3, 2)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: LiftingConv2d(1, 2, 3, padding=1.0), "padding must be an int, got float 1.0: use 1"),
        (lambda: LiftingConv2d(1, 2, 3, padding=np.float64(1)), "padding must be an int, got float64 1.0: use 1"),
        (lambda: LiftingConv2d(1, 2, np.float32(3)), "kernel_size must be an int, got float32"),
        (lambda: LiftingConv2d(1, 2, 3, stride=True), "stride must be an int, got bool"),
        (lambda: LiftingConv2d(1, 2, 3, stride=torch.tensor(2.0)), "stride must be an int, got Tensor"),
        (lambda: LiftingConv2d(1.0, 2, 3), "in_channels must be an int, got float 1.0: use 1"),
        (lambda: GroupConv2d(2, np.float64(4), 3), "out_channels must be an int, got float64"),
        (lambda: GroupConv2d(2, 2, (3, np.float32(3))), "kernel_size must be an int"),
    ],
)
def test_float_sizes_are_refused(make, words):
    with pytest.raises(TypeError, match=words):
        make()


@pytest.mark.parametrize(
    "dtype, words",
    [
        (torch.uint8, r"expects a floating-point input, got torch.uint8: convert it with x.to\(torch.float32\) or "
                      r"x.float\(\); 8-bit images of grey values 0..255 also need scaling to \[0, 1\]: "
                      r"x.to\(torch.float32\) / 255"),
        (torch.int64, r"expects a floating-point input, got torch.int64: convert it with x.to\(torch.float32\) or "
                      r"x.float\(\)$"),
        (torch.bool, "expects a floating-point input, got torch.bool"),
    ],
)
def test_integer_input_is_named_with_the_conversion(dtype, words):
    for layer in (LiftingConv2d(1, 2, 3), GroupConv2d(1, 2, 3)):
        x = make_input(layer, 1, 5, 5, dtype=torch.float32).to(dtype)
        with pytest.raises(TypeError, match=f"{type(layer).__name__} {words}"):
            layer(x)


def test_the_equivariance_warning_points_at_the_line_that_calls_the_layer():
    x = torch.randn(1, 1, 8, 8)
    for call in (lambda: LiftingConv2d(1, 1, 3, stride=2)(x),
                 lambda: torch.nn.Sequential(LiftingConv2d(1, 1, 3, stride=2))(x),
                 lambda: check_equivariance(LiftingConv2d(1, 1, 3, stride=2), x)):
        with pytest.warns(EquivarianceWarning) as record:
            call()
        assert {w.filename for w in record} == {__file__}, [w.filename for w in record]


def test_changing_the_stride_after_the_first_call_is_checked():
    """The checked signature must cover stride, padding, dilation and kernel, not only the input."""
    layer = LiftingConv2d(1, 1, 3, dtype=torch.float64)
    x = torch.randn(1, 1, 8, 8, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x)  # stride 1: every grid is symmetric
    layer.stride = 2  # (8 - 3) % 2 == 1: the last row and column are skipped
    with pytest.warns(EquivarianceWarning, match="stride 2 on a 8x8 input"):
        layer(x)
    layer.stride, layer.padding = 1, 0
    layer(x)
    layer.padding = 1
    layer.stride = 2  # (8 + 2 - 3) % 2 == 1
    with pytest.warns(EquivarianceWarning, match="stride 2 on a 8x8 input with padding 1"):
        layer(x)
