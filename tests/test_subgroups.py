"""Changing group between layers: restriction and coset pooling from G onto every subgroup H ⊆ G."""

import itertools

import pytest
import torch

from gcnn_edu import check_equivariance
from gcnn_edu.equivariance import layer_groups
from gcnn_edu.functions import act
from gcnn_edu.groups import PLANE_GROUPS, m, r, resolve_group, subgroups_of
from gcnn_edu.nn import (
    CosetPool,
    GroupConv2d,
    GroupPool,
    LiftingConv2d,
    Restrict,
    coset_pool,
    group_pool,
    restrict,
    restriction_index,
)

PAIRS = [(G, H) for G in PLANE_GROUPS for H in subgroups_of(G)]


def pair_id(pair):
    return f"{pair[0].name}->{pair[1].name}"


def test_there_are_34_subgroup_pairs():
    assert len(PAIRS) == 34  # 1 + 2*5 + 3 + 5 + 5 + 10


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_restriction_index_lists_the_right_cosets(pair):
    G, H = (K.point_group for K in pair)
    index = restriction_index(*pair)
    assert index.shape == (G.order // H.order, H.order)
    assert sorted(index.flatten().tolist()) == list(range(G.order))  # every value of f kept once
    for row, c in zip(index.tolist(), G.coset_representatives(H, side="right"), strict=True):
        assert row == [G.index(h * c) for h in H]  # row i is the right coset H c_i, in H's order


@pytest.mark.parametrize("size", [5, 6])
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_restrict_is_equivariant_to_every_element_of_the_subgroup(pair, size):
    G, H = pair
    x = torch.randn(2, 3, G.point_group.order, size, size, dtype=torch.float64)
    y = restrict(x, G, H)
    n_cosets = G.point_group.order // H.point_group.order
    assert y.shape == (2, 3 * n_cosets, H.point_group.order, size, size)
    for k in H.point_group:
        assert torch.equal(restrict(act(k, x, G), G, H), act(k, y, H)), k


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_restrict_keeps_every_value_in_channel_major_order(pair):
    G, H = pair
    x = torch.arange(2 * G.point_group.order * 9, dtype=torch.float64).view(1, 2, G.point_group.order, 3, 3)
    y = restrict(x, G, H)
    index = restriction_index(G, H)
    n_cosets = index.shape[0]
    for c, i, a in itertools.product(range(2), range(n_cosets), range(H.point_group.order)):
        assert torch.equal(y[0, c * n_cosets + i, a], x[0, c, index[i, a]])
    assert torch.equal(y.flatten().sort().values, x.flatten().sort().values)


@pytest.mark.parametrize("G", PLANE_GROUPS, ids=str)
def test_restrict_to_p1_is_the_flattened_map(G):
    x = torch.randn(2, 3, G.point_group.order, 4, 4)
    assert torch.equal(restrict(x, G, "p1", planar=True), x.flatten(1, 2))
    assert torch.equal(Restrict(G, "p1", planar=True)(x), x.flatten(1, 2))
    assert torch.equal(restrict(x, G, G), x)  # restricting to G itself changes nothing


@pytest.mark.parametrize("mode", ["max", "mean"])
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_coset_pool_is_equivariant_to_every_element_of_the_subgroup(pair, mode):
    G, H = pair
    x = torch.randn(2, 3, G.point_group.order, 6, 6, dtype=torch.float64)
    y = coset_pool(x, G, H, mode)
    assert y.shape == (2, 3, H.point_group.order, 6, 6)
    n_cosets = G.point_group.order // H.point_group.order
    reduce = torch.amax if mode == "max" else torch.mean
    torch.testing.assert_close(y, reduce(restrict(x, G, H).unflatten(1, (3, n_cosets)), dim=2), rtol=0, atol=0)
    for k in H.point_group:
        torch.testing.assert_close(coset_pool(act(k, x, G), G, H, mode), act(k, y, H), rtol=0, atol=1e-15)


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_coset_pool_keeps_todays_p4m_to_p4_meaning(mode):
    x = torch.randn(2, 3, 8, 5, 5, dtype=torch.float64)
    expected = coset_pool(x, "p4m", "p4", mode)
    assert torch.equal(coset_pool(x, mode), expected) and torch.equal(CosetPool(mode)(x), expected)
    assert torch.equal(CosetPool(mode=mode)(x), expected) and torch.equal(coset_pool(x, mode=mode), expected)
    pairs = [(0, 4), (1, 7), (2, 6), (3, 5)]  # r^k with r^k m = m r^-k
    reduce = torch.amax if mode == "max" else torch.mean
    for k, (a, b) in enumerate(pairs):
        torch.testing.assert_close(expected[:, :, k], reduce(x[:, :, [a, b]], dim=2), rtol=0, atol=0)


@pytest.mark.parametrize("G", PLANE_GROUPS, ids=str)
def test_coset_pool_onto_p1_is_group_pool_and_group_pool_is_invariant(G):
    x = torch.randn(2, 3, G.point_group.order, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(coset_pool(x, G, "p1", "mean", planar=True), group_pool(x, "mean"), rtol=0, atol=0)
    assert torch.equal(CosetPool(G, "p1", planar=True)(x), group_pool(x))
    for g in G.point_group:  # pool(L_g f) = L_g pool(f), L_g acting on the plane only
        assert torch.equal(group_pool(act(g, x, G)), act(g, group_pool(x)))


def naive_left_restriction(x, G, H):
    """The tempting mistake: (R f)_i(h) = f(c_i h), the left cosets c_i H, e.g. f(r^k) with f(m r^k)."""
    G0, H0 = G.point_group, H.point_group
    index = torch.tensor([[G0.index(c * h) for h in H0] for c in G0.coset_representatives(H0, side="left")])
    return x[:, :, index.flatten()].flatten(1, 2).unflatten(1, (-1, H0.order))


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_the_naive_left_pairing_is_wrong_exactly_where_the_representatives_do_not_commute(pair):
    G, H = pair
    x = torch.randn(1, 2, G.point_group.order, 5, 5, dtype=torch.float64)
    representatives = G.point_group.coset_representatives(H.point_group, side="left")
    commute = all(c * k == k * c for c in representatives for k in H.point_group)
    errors = [(naive_left_restriction(act(k, x, G), G, H) - act(k, naive_left_restriction(x, G, H), H)).abs().max()
              for k in H.point_group]
    if commute:
        assert max(errors) == 0
    else:
        assert max(errors) > 0.1  # values of a standard normal map land on the wrong elements


def test_the_naive_pairing_of_k_with_4_plus_k_breaks_p4m_to_p4():
    x = torch.randn(1, 1, 8, 5, 5, dtype=torch.float64)
    naive = torch.maximum(x[:, :, :4], x[:, :, 4:])  # f(r^k) with f(m r^k): not a coset pooling
    error = (torch.maximum(act(r, x)[:, :, :4], act(r, x)[:, :, 4:]) - act(r, naive)).abs().max()
    assert error > 0.1
    assert [(a, b) for a, b in restriction_index("p4m", "p4").T.tolist()] != [(k, 4 + k) for k in range(4)]
    # which pairs it breaks: those where m r^k is not r^k m, i.e. r and r^3
    assert [m * r**k == r**k * m for k in range(4)] == [True, False, True, False]


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_modules_are_equivariant_and_report_their_groups(pair):
    G, H = pair
    x = torch.randn(2, 2, G.point_group.order, 5, 5, dtype=torch.float64)
    for module in (Restrict(G, H), CosetPool(G, H, "max"), CosetPool(G, H, "mean")):
        assert module.group is G and module.subgroup is H and f"{G.name} -> {H.name}" in repr(module)
        assert layer_groups(module) == [(G, H)]
        errors = check_equivariance(module, x, group=H)  # input on G, output on H: read from the module
        assert set(errors) == {k.label for k in H.point_group} and max(errors.values()) == 0
    assert Restrict(G, H).channels(2) == restrict(x, G, H).shape[1]


def test_a_network_that_changes_group_is_equivariant_to_the_subgroup():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        LiftingConv2d(1, 3, 3, group="p4m", padding=1), Restrict("p4m", "pmm"),
        GroupConv2d(6, 2, 3, group="pmm", padding=1), CosetPool("pmm", "pm_v"),
        GroupConv2d(2, 2, 3, group="pm_v"),
    ).double()
    x = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    assert net(x).shape == (2, 2, 2, 6, 6)
    errors = check_equivariance(net, x, group="pm_v")
    assert set(errors) == {"e", "mr^2"} and max(errors.values()) < 1e-12
    with pytest.raises(ValueError, match=r"several groups \(p4m, pmm, pm_v\): pass group="):
        check_equivariance(net, x)
    with pytest.raises(ValueError, match=r"r\^2 is not an element of D1_v"):
        check_equivariance(net, x, group="pmm")  # the output lives on pm_v: m cannot act on it
    # the group-pooled network is invariant, and a planar output needs no output group
    invariant = torch.nn.Sequential(net, GroupPool(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    assert max(check_equivariance(invariant, x, group="pm_v").values()) < 1e-12


def test_restriction_to_p1_then_planar_layers():
    net = torch.nn.Sequential(LiftingConv2d(1, 2, 3, group="p2"), Restrict("p2", "p1", planar=True),
                              torch.nn.Conv2d(4, 1, 1)).double()
    x = torch.randn(1, 1, 7, 7, dtype=torch.float64)
    assert net(x).shape == (1, 1, 5, 5)
    assert check_equivariance(net, x, group="p1") == {"e": 0.0}


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: restrict(torch.randn(1, 1, 4, 3, 3), "p4", "pm_u"), ValueError,
         r"pm_u is not a subgroup of p4: a map on p4 can be changed to one of \['p1', 'p2', 'p4'\]"),
        (lambda: restrict(torch.randn(1, 1, 4, 3, 3), "p4m", "p4"), ValueError, r"\(N, C, 8, H, W\)"),
        (lambda: restrict([1.0], "p4m", "p4"), TypeError, "torch.Tensor"),
        (lambda: Restrict("p4m", "p4", planar=True), ValueError, "needs the subgroup p1, got p4"),
        (lambda: Restrict("p4m", "p3"), ValueError, "unknown group 'p3'"),
        (lambda: restriction_index("cmm", "pmm"), ValueError, "pmm is not a subgroup of cmm"),
    ],
)
def test_bad_input_is_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_resolved_groups_round_trip():
    assert Restrict("D4", "C4").group is resolve_group("p4m")


# --- check_equivariance: the group comes from the caller or the layers, not from a shape ---------


@pytest.mark.parametrize("group", ["pmm", "cmm", "p4"])
def test_check_equivariance_reads_an_order_4_group_from_the_layer_not_the_shape(group):
    layer = GroupConv2d(2, 2, 3, group=group, padding=1, dtype=torch.float64)
    x = torch.randn(1, 2, 4, 6, 6, dtype=torch.float64)
    errors = check_equivariance(layer, x)
    assert list(errors) == [g.label for g in resolve_group(group).point_group]
    assert max(errors.values()) < 1e-12


def test_check_equivariance_without_group_layers():
    pool = torch.nn.MaxPool2d(1)
    with pytest.raises(ValueError, match="pass group=, e.g. group='p4'"):
        check_equivariance(pool, torch.randn(1, 1, 4, 4))
    x = torch.randn(1, 1, 2, 4, 4)  # order 2: five groups, the shape cannot say which
    with pytest.raises(ValueError, match=r"size 2 does not tell the group: pass group=, one of \['p2'"):
        check_equivariance(torch.nn.Identity(), x)
    assert list(check_equivariance(torch.nn.Identity(), x, group="cm_anti")) == ["e", "mr^3"]
    assert len(check_equivariance(torch.nn.Identity(), torch.randn(1, 1, 8, 3, 3))) == 8  # legacy: p4m


def test_check_equivariance_with_explicit_input_and_output_groups():
    x = torch.randn(1, 2, 8, 5, 5, dtype=torch.float64)
    pool = lambda f: coset_pool(f, "p4m", "cmm")  # noqa: E731 -- a bare function has no layers to read
    errors = check_equivariance(pool, x, group="cmm", input_group="p4m", output_group="cmm")
    assert list(errors) == ["e", "r^2", "mr", "mr^3"] and max(errors.values()) == 0
    right = check_equivariance(lambda f: f[:, :, [0, 2, 5, 7]], x, group="cmm", input_group="p4m",
                               output_group="cmm")  # f on cmm's own elements: the coset c = e of restrict
    wrong = check_equivariance(lambda f: f[:, :, [4, 6, 1, 3]], x, group="cmm", input_group="p4m",
                               output_group="cmm")  # f(m h): m on the left does not commute with mr
    assert max(right.values()) == 0 and wrong["e"] == 0 and wrong["r^2"] == 0 and wrong["mr"] > 0.1


def test_docstring_examples_run():
    """The Example sections of the group, function, layer and restriction docstrings are exact."""
    import doctest

    import gcnn_edu.equivariance
    import gcnn_edu.functions
    import gcnn_edu.groups
    import gcnn_edu.nn.conv
    import gcnn_edu.nn.pooling
    import gcnn_edu.nn.restriction
    from gcnn_edu.nn import GroupBatchNorm, GroupPool, SpatialPool

    names = dict(torch=torch, nn=torch.nn, LiftingConv2d=LiftingConv2d, GroupConv2d=GroupConv2d, Restrict=Restrict,
                 CosetPool=CosetPool, SpatialPool=SpatialPool, GroupPool=GroupPool, GroupBatchNorm=GroupBatchNorm,
                 m=m, r=r)
    for module in (gcnn_edu.groups, gcnn_edu.functions, gcnn_edu.equivariance, gcnn_edu.nn.conv, gcnn_edu.nn.pooling,
                   gcnn_edu.nn.restriction):
        result = doctest.testmod(module, extraglobs=names)
        assert result.attempted > 0 and result.failed == 0, module.__name__
