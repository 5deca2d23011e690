"""Pooling and batch norm commute with the group action; group pooling gives invariants."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from gcnn_edu import check_equivariance
from gcnn_edu._validation import EquivarianceWarning
from gcnn_edu.functions import act
from gcnn_edu.groups import C4, D4, m, r
from gcnn_edu.models import P4CNN
from gcnn_edu.nn import (
    CosetPool,
    GroupBatchNorm,
    GroupConv2d,
    GroupPool,
    LiftingConv2d,
    SpatialPool,
    coset_pool,
    group_pool,
    pooling,
    spatial_pool,
)


@pytest.mark.parametrize("mode", ["max", "mean"])
@pytest.mark.parametrize("order", [4, 8])
def test_spatial_pooling_commutes_with_the_action(mode, order):
    x = torch.randn(2, 3, order, 8, 8, dtype=torch.float64)
    pool = SpatialPool(2, mode=mode)
    assert pool(x).shape == (2, 3, order, 4, 4)
    assert max(check_equivariance(pool, x, group={4: "p4", 8: "p4m"}[order]).values()) < 1e-12
    planar = torch.randn(2, 3, 8, 8)
    assert spatial_pool(planar, 2, mode=mode).shape == (2, 3, 4, 4)


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_group_pooling_gives_a_planar_map_that_only_rotates(mode):
    x = torch.randn(2, 3, 8, 5, 5, dtype=torch.float64)
    pooled = group_pool(x, mode)
    reduce = torch.amax if mode == "max" else torch.mean
    torch.testing.assert_close(pooled, reduce(x, dim=2))
    for g in D4:  # pool(L_g f) = L_g pool(f), with L_g acting on the plane only
        torch.testing.assert_close(group_pool(act(g, x), mode), act(g, pooled), rtol=0, atol=1e-12)


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_coset_pooling_maps_p4m_functions_to_p4_functions(mode):
    x = torch.randn(2, 3, 8, 5, 5, dtype=torch.float64)
    pooled = coset_pool(x, mode)
    assert pooled.shape == (2, 3, 4, 5, 5)
    reduce = torch.maximum if mode == "max" else (lambda a, b: (a + b) / 2)
    for g in C4:  # the coset g{e, m}
        torch.testing.assert_close(pooled[:, :, g.index], reduce(x[:, :, g.index], x[:, :, (g * m).index]))
    for g in C4:  # rotating the p4m input rotates the p4 output
        torch.testing.assert_close(coset_pool(act(g, x), mode), act(g, pooled), rtol=0, atol=1e-12)


def test_coset_pooling_over_the_wrong_cosets_would_break_equivariance():
    """The naive pairing (r^k, m r^k) is not a coset of {e, m} on the right, and is not equivariant."""
    x = torch.randn(1, 1, 8, 5, 5, dtype=torch.float64)
    naive = torch.maximum(x[:, :, :4], x[:, :, 4:])
    assert not torch.allclose(torch.maximum(act(r, x)[:, :, :4], act(r, x)[:, :, 4:]), act(r, naive))


def test_group_batch_norm_shares_statistics_over_the_group_axis():
    torch.manual_seed(0)
    bn = GroupBatchNorm(3).double()
    assert bn.weight.shape == (3,)
    x = torch.randn(4, 3, 4, 6, 6, dtype=torch.float64) * 5 + 2
    y = bn(x)
    per_channel = y.transpose(0, 1).reshape(3, -1)
    torch.testing.assert_close(per_channel.mean(1), torch.zeros(3, dtype=torch.float64), rtol=0, atol=1e-10)
    torch.testing.assert_close(per_channel.var(1, unbiased=False), torch.ones(3, dtype=torch.float64),
                               rtol=1e-4, atol=0)
    assert max(check_equivariance(bn, x, group="p4").values()) < 1e-12  # training mode: batch statistics
    bn.eval()
    assert max(check_equivariance(bn, x, group="p4").values()) < 1e-12  # eval mode: running statistics
    assert max(check_equivariance(bn, x).values()) < 1e-12  # the legacy default: an axis of 4 is p4


def test_a_small_invariant_network():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        LiftingConv2d(1, 4, 3, group="p4m"), GroupBatchNorm(4), torch.nn.ReLU(), SpatialPool(2),
        GroupConv2d(4, 4, 3, group="p4m"), CosetPool(), GroupPool(), torch.nn.AdaptiveMaxPool2d(1), torch.nn.Flatten(),
    ).double().eval()
    x = torch.randn(2, 1, 12, 12, dtype=torch.float64)
    assert max(check_equivariance(net, x, group="D4").values()) < 1e-12


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: group_pool(torch.randn(1, 2, 4, 4)), r"\(N, C, \|H\|, H, W\)"),
        (lambda: coset_pool(torch.randn(1, 2, 4, 4, 4)), r"function on p4m, shape \(N, C, 8, H, W\)"),
        (lambda: coset_pool(torch.randn(1, 2, 4, 4, 4), "p4", "pmm"), "pmm is not a subgroup of p4"),
        (lambda: CosetPool("max", "p2"), "a mode 'max' in the group's place"),
        (lambda: CosetPool("p4m", "pmm", planar=True), "needs the subgroup p1, got pmm"),
        (lambda: GroupPool("sum"), "'max' or 'mean'"),
        (lambda: spatial_pool(torch.randn(4, 4), 2), r"\(N, C, H, W\)"),
        (lambda: GroupBatchNorm(2)(torch.randn(1, 2, 4, 4)), "nn.BatchNorm2d"),
    ],
)
def test_bad_input(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# --- empty batches ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_an_empty_batch_pools_to_an_empty_batch(mode):
    x, x8 = torch.randn(0, 3, 4, 8, 8), torch.randn(0, 3, 8, 5, 5)
    assert spatial_pool(x, 2, mode=mode).shape == SpatialPool(2, mode=mode)(x).shape == (0, 3, 4, 4, 4)
    assert spatial_pool(torch.randn(0, 3, 8, 8), 2, mode=mode).shape == (0, 3, 4, 4)
    assert group_pool(x, mode).shape == GroupPool(mode)(x).shape == (0, 3, 8, 8)
    assert coset_pool(x8, mode).shape == CosetPool(mode)(x8).shape == (0, 3, 4, 5, 5)
    assert GroupBatchNorm(3).eval()(x).shape == (0, 3, 4, 8, 8)


# --- a sampling grid that rotations do not map onto itself ---------------------------------------


def test_pooling_on_an_asymmetric_grid_warns_and_strict_raises():
    x = torch.randn(1, 2, 4, 7, 7, dtype=torch.float64)  # 2x2 windows at stride 2 drop row 7 and column 7 only
    words = (r"SpatialPool: stride 2 on a 7x7 input with padding 0 and pooling window reach 2 leaves 1 row\(s\) "
             r"unsampled on one side only, so the output is not exactly equivariant to rotations or mirrors")
    with pytest.warns(EquivarianceWarning, match=words):
        SpatialPool(2)(x)
    with pytest.warns(EquivarianceWarning, match="spatial_pool: stride 2 on a 7x7 input"):
        spatial_pool(x, 2)
    with pytest.raises(ValueError, match=r"Choose H with \(H \+ 2\*padding - 2\) % 2 == 0"):
        SpatialPool(2, strict=True)(x)
    with pytest.raises(ValueError, match="spatial_pool: stride 2 on a 7x7 input"):
        spatial_pool(x, 2, mode="mean", strict=True)
    with pytest.warns(EquivarianceWarning):  # and the warning is right: the error is real
        assert max(check_equivariance(SpatialPool(2), x).values()) > 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # symmetric grids stay silent: 8x8, and 7x7 with stride 1 or padding 1
        SpatialPool(2)(torch.randn(1, 2, 4, 8, 8))
        SpatialPool(2, stride=1)(x)
        SpatialPool(3, stride=2, padding=1)(x)
    # pooling knows no group, and a rectangular map may live on pm_v, whose mirror reverses the columns
    with pytest.warns(EquivarianceWarning, match="leaves 1 column"):
        SpatialPool(2)(torch.randn(1, 2, 6, 7))


def test_p4cnn_on_29x29_digits_warns_at_its_pooling_layer():
    model = P4CNN().eval()  # 29 -> 27 -> 25: 2x2 pooling at stride 2 drops a row and a column
    with pytest.warns(EquivarianceWarning, match="SpatialPool: stride 2 on a 25x25 input"):
        model(torch.randn(1, 1, 29, 29))


def test_spatial_pool_checks_each_map_size_once(monkeypatch):
    """The module checks (H, W, arguments) once; the next calls cost nothing; a new size or a
    changed argument is checked again."""
    calls = []
    monkeypatch.setattr(pooling, "check_sampling", lambda *args, **kwargs: calls.append(args[:4]))
    pool = SpatialPool(2)
    for n in (1, 3, 1):
        pool(torch.randn(n, 2, 4, 8, 8))
    assert calls == [((8, 8), 2, 2, 0)]
    pool(torch.randn(1, 2, 4, 6, 6))
    pool.stride = 4  # changed after a call: checked again
    pool(torch.randn(1, 2, 4, 6, 6))
    assert calls == [((8, 8), 2, 2, 0), ((6, 6), 2, 2, 0), ((6, 6), 2, 4, 0)]


def test_changing_the_stride_after_a_call_is_checked():
    pool = SpatialPool(2)
    x = torch.randn(1, 1, 4, 8, 8)
    pool(x)
    pool.stride = 4  # (8 - 2) % 4 == 2
    with pytest.warns(EquivarianceWarning, match="stride 4 on a 8x8 input"):
        pool(x)
    pool.stride = 0
    with pytest.raises(ValueError, match="stride >= 1"):
        pool(x)


def test_the_warning_points_at_the_line_that_calls_the_pool():
    x = torch.randn(1, 1, 4, 7, 7)
    for call in (lambda: SpatialPool(2)(x), lambda: spatial_pool(x, 2), lambda: torch.nn.Sequential(SpatialPool(2))(x),
                 lambda: check_equivariance(SpatialPool(2), x)):
        with pytest.warns(EquivarianceWarning) as record:
            call()
        assert {Path(w.filename) for w in record} == {Path(__file__)}, [w.filename for w in record]


# --- bad pooling arguments, named when the pool is built ------------------------------------------


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: SpatialPool(0), ValueError, "kernel_size >= 1, stride >= 1 and padding >= 0, got kernel_size=0"),
        (lambda: SpatialPool(-2), ValueError, "got kernel_size=-2"),
        (lambda: SpatialPool(2, stride=0), ValueError, "stride=0"),
        (lambda: SpatialPool(2, padding=-1), ValueError, "padding=-1"),
        (lambda: SpatialPool(2, padding=2), ValueError, "padding 2 is more than half the kernel_size 2.*padding <= 1"),
        (lambda: SpatialPool(2.0), TypeError, "kernel_size must be an int, got float 2.0: use 2"),
        (lambda: SpatialPool(np.float32(2)), TypeError, "kernel_size must be an int, got float32"),
        (lambda: SpatialPool("2"), TypeError, "kernel_size must be an int, got str"),
        (lambda: SpatialPool(True), TypeError, "kernel_size must be an int, got bool"),
        (lambda: SpatialPool((2, 3)), ValueError, "the same along rows and columns"),
        (lambda: SpatialPool(2, mode="sum"), ValueError, "'max' or 'mean', got 'sum'"),
        (lambda: spatial_pool(torch.randn(1, 1, 4, 4), 0), ValueError, "kernel_size=0"),
        (lambda: spatial_pool(torch.randn(1, 1, 4, 4), 2, mode="min"), ValueError, "'max' or 'mean'"),
        (lambda: spatial_pool([[1.0]], 2), TypeError, "spatial_pool expects a torch.Tensor, got list"),
        (lambda: SpatialPool(2)(torch.randn(1, 4, 1, 1)), ValueError, "smaller than the pooling window's reach 2"),
    ],
)
def test_bad_pooling_arguments(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_numpy_and_tensor_integers_are_sizes():
    pool = SpatialPool(np.int64(3), stride=torch.tensor(2), padding=np.int32(1))
    assert (pool.kernel_size, pool.stride, pool.padding) == (3, 2, 1)
    assert all(type(v) is int for v in (pool.kernel_size, pool.stride, pool.padding))
    assert pool(torch.randn(1, 1, 4, 7, 7)).shape == (1, 1, 4, 4, 4)
    assert SpatialPool(2).stride == 2  # stride None: the kernel size
