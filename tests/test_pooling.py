"""Pooling and batch norm commute with the group action; group pooling gives invariants."""

import pytest
import torch

from gcnn_edu import check_equivariance
from gcnn_edu.functions import act
from gcnn_edu.groups import C4, D4, m, r
from gcnn_edu.nn import (
    CosetPool,
    GroupBatchNorm,
    GroupConv2d,
    GroupPool,
    LiftingConv2d,
    SpatialPool,
    coset_pool,
    group_pool,
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
