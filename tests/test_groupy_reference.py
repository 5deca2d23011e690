"""Our layers against GrouPy, the reference G-CNN code of Cohen & Welling (2016).

GrouPy (github.com/tscohen/GrouPy, with the PyTorch port of A. Bielski in
``groupy/gconv/pytorch_gconv``) cannot be installed here, so this file re-derives its
algorithm, in its own compact code, from these files of GrouPy:

* ``groupy/garray/p4_array.py``, ``p4m_array.py``: an element of p4 is stored as the ints
  (r, u, v) and of p4m as (m, r, u, v), and is the homogeneous matrix T(u, v) M(m) R(r),
  R(r) = [[cos, -sin], [sin, cos]] of r quarter turns, M(m) = diag((-1)^m, 1), acting on
  (u, v) = (row, column). Products and inverses are matrix products and inverses
  (``matrix_garray.py``). ``C4_halfshift`` in ``p4_array.py`` holds the four rotations
  about (-1/2, -1/2), used for even filters.
* ``groupy/garray/C4_array.py``, ``D4_array.py``: C4 listed as r = 0..3, D4 as (m, r) with
  m major; a p4m function stores the pair at index 4 m + r (``p4mfunc_array.py``, ``g2i``).
* ``groupy/gfunc/gfuncarray.py``, ``z2func_array.py``, ``p4func_array.py``,
  ``p4mfunc_array.py``: a filter or feature map is a function sampled on group elements
  s = T(u, v) M(m) R(r) with a centred grid, u from -(n // 2); ``g * f`` reads f at g^-1 s
  for every sample point s (``left_translation_indices``).
* ``groupy/gconv/make_gconv_indices.py``: ``make_c4_z2_indices``, ``make_c4_p4_indices``,
  ``make_d4_z2_indices``, ``make_d4_p4m_indices`` are those indices for every element of the
  output stabilizer, shape (|G|, |H_in|, k, k, 3).
* ``groupy/gconv/pytorch_gconv/splitgconv2d.py``: ``trans_filter`` gathers w[:, :, s, u, v],
  views (C_out, C_in, |G|, |H_in|, k, k) and permutes to (C_out, |G|, C_in, |H_in|, k, k);
  ``SplitGConv2D`` folds the input's group axis into its channels, runs one F.conv2d without
  bias, unfolds (C_out, |G|) and adds one bias per output channel.
* ``groupy/gconv/pytorch_gconv/test_gconv.py``: equivariance is ``layer(g * f) == g * layer(f)``.

The tests then hold our layers to this reference, in float64: the same group elements in the
same order, the same filter indices, the same outputs and gradients for the same state dict,
and equivariance under GrouPy's own ``g * f``.
"""

import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from gcnn_edu import fast
from gcnn_edu._validation import EquivarianceWarning
from gcnn_edu.functions import act
from gcnn_edu.groups import D4, point_group
from gcnn_edu.nn import GroupConv2d, LiftingConv2d

# ----------------------------------------------------------------------------------------------
# GrouPy's algorithm, re-derived. Group elements are 3x3 integer matrices.
# ----------------------------------------------------------------------------------------------

STABILIZERS = {  # GrouPy's (m, r) pairs in storage order
    "Z2": [(0, 0)],
    "C4": [(0, r) for r in range(4)],
    "D4": [(m, r) for m in range(2) for r in range(4)],
}


def quarter_turn(r: int) -> np.ndarray:
    """R(r): rotation by r * 90 degrees on (u, v), cos and sin taken exactly."""
    cos, sin = ((1, 0), (0, 1), (-1, 0), (0, -1))[r % 4]
    return np.array([[cos, -sin], [sin, cos]])


def point_matrix(m: int, r: int) -> np.ndarray:
    """M(m) R(r): first r quarter turns, then the mirror u -> -u if m = 1."""
    return np.diag([(-1) ** m, 1]) @ quarter_turn(r)


def homogeneous(linear: np.ndarray, shift=(0, 0)) -> np.ndarray:
    """The affine map x -> linear x + shift as a 3x3 matrix."""
    out = np.eye(3, dtype=np.int64)
    out[:2, :2], out[:2, 2] = linear, shift
    return out


def about_grid_centre(m: int, r: int, n: int) -> np.ndarray:
    """M(m) R(r) about the centre of GrouPy's n-point grid: 0 for odd n, -1/2 for even n
    (u runs from -(n // 2) to n - 1 - n // 2). For even n this is T(c - A c) A with
    c = (-1/2, -1/2), which for the rotations is GrouPy's ``C4_halfshift``."""
    linear = point_matrix(m, r)
    twice_centre = np.array([0, 0]) if n % 2 else np.array([-1, -1])
    return homogeneous(linear, (twice_centre - linear @ twice_centre) // 2)


def sample_points(stabilizer: str, n: int) -> np.ndarray:
    """The group element of every sample (s, i, j) of a function on stabilizer x n x n:
    T(u_i, v_j) M(m_s) R(r_s), u_i = i - n // 2. Shape (|S|, n, n, 3, 3)."""
    grid = np.arange(n) - n // 2
    points = np.empty((len(STABILIZERS[stabilizer]), n, n, 3, 3), dtype=np.int64)
    for s, (m, r) in enumerate(STABILIZERS[stabilizer]):
        for i, j in itertools.product(range(n), range(n)):
            points[s, i, j] = homogeneous(point_matrix(m, r), (grid[i], grid[j]))
    return points


def sample_index(elements: np.ndarray, stabilizer: str, n: int) -> np.ndarray:
    """Where elements (..., 3, 3) are stored: (s, i, j) with s the (m, r) pair's position;
    a planar function (Z2) keeps only the translation. Fails loudly off the grid."""
    linear, shift = elements[..., :2, :2], elements[..., :2, 2]
    if stabilizer == "Z2":
        s = np.zeros(elements.shape[:-2], dtype=np.int64)
    else:
        m = (np.linalg.det(linear) < 0).astype(np.int64)
        rotation_rows = [tuple(quarter_turn(r)[1]) for r in range(4)]  # row 1 is the same for M R
        r = np.array([rotation_rows.index(tuple(row)) for row in linear[..., 1, :].reshape(-1, 2)])
        s = np.array([STABILIZERS[stabilizer].index(pair) for pair in zip(m.reshape(-1), r, strict=True)])
        s = s.reshape(elements.shape[:-2])
    ij = shift + n // 2
    assert ((ij >= 0) & (ij < n)).all(), "a transformed sample point left the grid"
    return np.stack([s, ij[..., 0], ij[..., 1]], axis=-1)


def left_translation_indices(g: np.ndarray, stabilizer: str, n: int) -> np.ndarray:
    """For every sample point s, where g^-1 s is stored, so that [g f](s) = f(g^-1 s)."""
    g_inverse = np.rint(np.linalg.inv(g)).astype(np.int64)
    return sample_index(g_inverse @ sample_points(stabilizer, n), stabilizer, n)


def transformation_indices(out_stabilizer: str, in_stabilizer: str, k: int) -> np.ndarray:
    """GrouPy's make_*_indices: the k x k filter on in_stabilizer moved by every element of
    out_stabilizer about the filter's centre, shape (|G|, |H_in|, k, k, 3)."""
    return np.stack([left_translation_indices(about_grid_centre(m, r, k), in_stabilizer, k)
                     for m, r in STABILIZERS[out_stabilizer]])


def groupy_filter_bank(weight: torch.Tensor, indices: np.ndarray) -> torch.Tensor:
    """trans_filter, then the reshape to a conv2d weight (C_out |G|, C_in |H_in|, k, k)."""
    c_out, c_in = weight.shape[:2]
    n_out, n_in, k = indices.shape[:3]
    s, i, j = (torch.as_tensor(indices[..., a].reshape(-1)) for a in range(3))
    picked = weight[:, :, s, i, j].view(c_out, c_in, n_out, n_in, k, k)
    return picked.permute(0, 2, 1, 3, 4, 5).reshape(c_out * n_out, c_in * n_in, k, k)


class GroupySplitGConv2d(nn.Module):
    """SplitGConv2D: same parameter names and shapes as GrouPy's (and ours)."""

    def __init__(self, in_channels, out_channels, kernel_size, in_stabilizer, out_stabilizer,
                 stride=1, padding=0, bias=True):
        super().__init__()
        n_in = len(STABILIZERS[in_stabilizer])
        self.stride, self.padding, self.out_channels = stride, padding, out_channels
        self.group_order = len(STABILIZERS[out_stabilizer])
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, n_in, kernel_size, kernel_size,
                                               dtype=torch.float64))
        self.bias = nn.Parameter(torch.randn(out_channels, dtype=torch.float64)) if bias else None
        self.indices = transformation_indices(out_stabilizer, in_stabilizer, kernel_size)

    def forward(self, x):
        bank = groupy_filter_bank(self.weight, self.indices)
        x = x.reshape(x.shape[0], -1, x.shape[-2], x.shape[-1])  # (N, C_in |H_in|, H, W)
        y = F.conv2d(x, bank, None, self.stride, self.padding)
        y = y.view(y.shape[0], self.out_channels, self.group_order, y.shape[-2], y.shape[-1])
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1, 1)


def groupy_transform(m: int, r: int, f: torch.Tensor) -> torch.Tensor:
    """GrouPy's ``g * f`` for g = M(m) R(r) about the grid centre, on a planar map (N, C, n, n)
    (Z2FuncArray) or a map (N, C, |S|, n, n) on p4 (P4FuncArray) or p4m (P4MFuncArray)."""
    planar = f.dim() == 4
    stabilizer = "Z2" if planar else {4: "C4", 8: "D4"}[f.shape[2]]
    n = f.shape[-1]
    s, i, j = np.moveaxis(left_translation_indices(about_grid_centre(m, r, n), stabilizer, n), -1, 0)
    values = f.unsqueeze(2) if planar else f
    out = values[:, :, torch.as_tensor(s), torch.as_tensor(i), torch.as_tensor(j)]
    return out.squeeze(2) if planar else out


def stabilizer_of(group) -> str:
    """GrouPy's name of the stabilizer of 'p4' or 'p4m' (a name, or a layer's resolved group)."""
    return {"p4": "C4", "p4m": "D4"}[str(group)]


def reference_for(layer) -> GroupySplitGConv2d:
    """GrouPy's layer with the shape of ours, holding our layer's state dict."""
    reference = GroupySplitGConv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                   "Z2" if layer.lifting else stabilizer_of(layer.group),
                                   stabilizer_of(layer.group), layer.stride, layer.padding,
                                   bias=layer.bias is not None)
    reference.load_state_dict(layer.state_dict())
    return reference


def random_input(layer, batch, height, width):
    group_axis = () if layer.lifting else (layer.group_order,)
    return torch.randn(batch, layer.in_channels, *group_axis, height, width, dtype=torch.float64)


# ----------------------------------------------------------------------------------------------
# The same group: elements, order on the group axis, composition
# ----------------------------------------------------------------------------------------------

def test_groupy_elements_are_ours_in_the_same_order():
    """GrouPy's (m, r) at position 4 m + r is our element with that index, as a matrix."""
    for position, (m, r) in enumerate(STABILIZERS["D4"]):
        np.testing.assert_array_equal(point_matrix(m, r), D4[position].matrix)


def test_groupy_composition_is_ours():
    """GrouPy multiplies matrices; our product of pairs must be the same group law."""
    for (a, (ma, ra)), (b, (mb, rb)) in itertools.product(enumerate(STABILIZERS["D4"]), repeat=2):
        product = point_matrix(ma, ra) @ point_matrix(mb, rb)
        np.testing.assert_array_equal(product, D4[int(D4.cayley_table[a, b])].matrix)


def test_even_grid_rotations_are_groupys_c4_halfshift():
    """C4_halfshift in groupy/garray/p4_array.py, as (r, u, v): rotations about (-1/2, -1/2)."""
    c4_halfshift = [(0, 0, 0), (1, -1, 0), (2, -1, -1), (3, 0, -1)]
    for r, u, v in c4_halfshift:
        np.testing.assert_array_equal(about_grid_centre(0, r, n=4), homogeneous(quarter_turn(r), (u, v)))


# ----------------------------------------------------------------------------------------------
# The same filter transformation
# ----------------------------------------------------------------------------------------------

FILTER_CASES = [("p4", lifting, k) for lifting in (True, False) for k in (1, 2, 3, 4, 5)] + \
               [("p4m", lifting, k) for lifting in (True, False) for k in (1, 3, 5)]


@pytest.mark.parametrize("group, lifting, k", FILTER_CASES)
def test_filter_index_equals_groupys_make_gconv_indices(group, lifting, k):
    """fast.filter_index[g, h, u, v] is GrouPy's (s, i, j) index flattened over (|H_in|, k, k)."""
    in_stabilizer = "Z2" if lifting else stabilizer_of(group)
    indices = transformation_indices(stabilizer_of(group), in_stabilizer, k)
    flat = indices[..., 0] * k * k + indices[..., 1] * k + indices[..., 2]
    ours = fast.filter_index(group, 1 if lifting else point_group(group).order, k)
    np.testing.assert_array_equal(ours.numpy(), flat)


# ----------------------------------------------------------------------------------------------
# The same outputs and gradients for the same weights
# ----------------------------------------------------------------------------------------------

LAYER_CASES = [
    # layer, group, in, out, kernel, stride, padding, bias, (H, W)
    (LiftingConv2d, "p4", 1, 3, 3, 1, 0, True, (9, 9)),
    (LiftingConv2d, "p4", 2, 2, 4, 1, 1, True, (8, 10)),
    (LiftingConv2d, "p4", 3, 1, 5, 2, 2, False, (11, 11)),
    (LiftingConv2d, "p4m", 1, 2, 3, 1, 1, True, (7, 9)),
    (LiftingConv2d, "p4m", 3, 4, 5, 2, 0, True, (13, 13)),
    (GroupConv2d, "p4", 2, 3, 3, 1, 1, True, (7, 7)),
    (GroupConv2d, "p4", 1, 2, 2, 1, 0, False, (6, 9)),
    (GroupConv2d, "p4", 3, 2, 5, 2, 2, True, (9, 9)),
    (GroupConv2d, "p4m", 2, 2, 3, 1, 1, True, (7, 8)),
    (GroupConv2d, "p4m", 1, 3, 1, 2, 0, True, (9, 9)),
    (GroupConv2d, "p4m", 3, 2, 5, 1, 2, False, (8, 8)),
]


def assert_same_as_groupy(layer, x):
    """Outputs and all gradients (input, weight, bias) of our layer and of GrouPy's agree."""
    reference = reference_for(layer)
    x_ours, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EquivarianceWarning)  # the sampling grid is not what is tested
        ours = layer(x_ours)
    expected = reference(x_ref)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-12)
    upstream = torch.randn_like(ours)
    ours.backward(upstream)
    expected.backward(upstream)
    torch.testing.assert_close(x_ours.grad, x_ref.grad, rtol=0, atol=1e-12)
    for name, parameter in layer.named_parameters():
        torch.testing.assert_close(parameter.grad, reference.get_parameter(name).grad, rtol=0, atol=1e-10)


@pytest.mark.parametrize("cls, group, c_in, c_out, k, stride, padding, bias, size", LAYER_CASES)
def test_layer_equals_groupy_split_gconv(cls, group, c_in, c_out, k, stride, padding, bias, size):
    torch.manual_seed(0)
    layer = cls(c_in, c_out, k, group=group, stride=stride, padding=padding, bias=bias, dtype=torch.float64)
    assert_same_as_groupy(layer, random_input(layer, 2, *size))


@st.composite
def groupy_configs(draw):
    """Random layers GrouPy can build: no dilation, odd kernels for p4m."""
    group = draw(st.sampled_from(["p4", "p4m"]))
    k = draw(st.sampled_from([1, 2, 3, 4, 5] if group == "p4" else [1, 3, 5]))
    padding = draw(st.integers(0, 2))
    smallest = max(k - 2 * padding, 1)
    return dict(cls=draw(st.sampled_from([LiftingConv2d, GroupConv2d])), group=group, kernel_size=k,
                padding=padding, stride=draw(st.integers(1, 3)), bias=draw(st.booleans()),
                in_channels=draw(st.integers(1, 4)), out_channels=draw(st.integers(1, 4)),
                batch=draw(st.integers(1, 2)), size=(draw(st.integers(smallest, 10)),
                                                     draw(st.integers(smallest, 10))),
                seed=draw(st.integers(0, 2**16)))


@given(groupy_configs())
def test_random_layers_equal_groupy(config):
    torch.manual_seed(config["seed"])
    layer = config["cls"](config["in_channels"], config["out_channels"], config["kernel_size"],
                          group=config["group"], stride=config["stride"], padding=config["padding"],
                          bias=config["bias"], dtype=torch.float64)
    assert_same_as_groupy(layer, random_input(layer, config["batch"], *config["size"]))


def test_groupy_state_dict_runs_in_our_layer():
    """A state dict saved from GrouPy's layer loads into ours, strictly, and gives its outputs."""
    torch.manual_seed(1)
    reference = GroupySplitGConv2d(2, 3, 3, "D4", "D4", padding=1)
    layer = GroupConv2d(2, 3, 3, group="p4m", padding=1, dtype=torch.float64)
    layer.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 2, 8, 7, 7, dtype=torch.float64)
    torch.testing.assert_close(layer(x), reference(x), rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Equivariance under GrouPy's own transformation of feature maps
# ----------------------------------------------------------------------------------------------

def elements_of(group: str):
    return STABILIZERS[stabilizer_of(group)]


@pytest.mark.parametrize("group, n", [("p4", 5), ("p4", 6), ("p4", 7), ("p4m", 5), ("p4m", 7)])
def test_our_action_is_groupys_g_times_f(group, n):
    """act(g, f) == GrouPy's g * f for every element, planar maps and maps on the group, exactly.
    GrouPy samples p4m functions on odd grids only (P4MFuncArray), so D4 is checked on odd n;
    on even n GrouPy's rotations are about (-1/2, -1/2), like C4_halfshift."""
    order = point_group(group).order
    for shape in ((2, 3, n, n), (2, 3, order, n, n)):  # planar, on the group
        f = torch.randn(shape, dtype=torch.float64)
        for index, (m, r) in enumerate(elements_of(group)):
            torch.testing.assert_close(act(D4[index], f), groupy_transform(m, r, f), rtol=0, atol=0)


EQUIVARIANCE_CASES = [
    # layer, group, in, out, kernel, stride, padding, n: stride 1 with symmetric padding, or
    # (n + 2 padding - k) % stride == 0
    (LiftingConv2d, "p4", 2, 3, 3, 1, 1, 9),
    (LiftingConv2d, "p4", 1, 2, 4, 1, 0, 8),
    (LiftingConv2d, "p4m", 3, 2, 5, 2, 2, 11),
    (GroupConv2d, "p4", 2, 2, 3, 1, 0, 9),
    (GroupConv2d, "p4", 3, 2, 2, 2, 0, 10),
    (GroupConv2d, "p4m", 2, 3, 3, 1, 1, 7),
    (GroupConv2d, "p4m", 1, 2, 3, 2, 1, 9),
]


@pytest.mark.parametrize("cls, group, c_in, c_out, k, stride, padding, n", EQUIVARIANCE_CASES)
def test_layer_is_equivariant_under_groupys_transform(cls, group, c_in, c_out, k, stride, padding, n):
    """layer(g * f) == g * layer(f) for every g in C4 (p4) or D4 (p4m), as GrouPy's test_gconv."""
    torch.manual_seed(2)
    layer = cls(c_in, c_out, k, group=group, stride=stride, padding=padding, dtype=torch.float64)
    x = random_input(layer, 2, n, n)
    y = layer(x)
    for m, r in elements_of(group):
        torch.testing.assert_close(layer(groupy_transform(m, r, x)), groupy_transform(m, r, y),
                                   rtol=0, atol=1e-10, msg=lambda text, m=m, r=r: f"(m={m}, r={r}): {text}")


@pytest.mark.parametrize("group", ["p4", "p4m"])
def test_network_is_equivariant_under_groupys_transform(group):
    """GrouPy's test_p4_net_equivariance and test_p4m_net_equivariance, on our layers: lift, then
    a group convolution, on an 11 x 11 image."""
    torch.manual_seed(3)
    net = nn.Sequential(LiftingConv2d(1, 2, 3, group=group, dtype=torch.float64),
                        GroupConv2d(2, 3, 3, group=group, dtype=torch.float64))
    image = torch.randn(1, 1, 11, 11, dtype=torch.float64)
    y = net(image)
    for m, r in elements_of(group):
        torch.testing.assert_close(net(groupy_transform(m, r, image)), groupy_transform(m, r, y),
                                   rtol=0, atol=1e-10)
