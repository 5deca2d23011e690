"""check_equivariance names an input it cannot measure before it calls the module."""

import numpy as np
import pytest
import torch

from gcnn_edu import D4, check_equivariance, format_errors, max_error
from gcnn_edu.nn import GroupConv2d, LiftingConv2d


class _Spy(torch.nn.Module):
    """The identity, counting its calls: a refused input must not reach the module."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x


@pytest.mark.parametrize(
    "x, error, words",
    [
        (torch.randn(0, 1, 7, 7), ValueError,
         r"check_equivariance got an empty batch \(N = 0\), which measures nothing: pass at least one input, "
         r"e.g. shape \(1, 1, 7, 7\)"),
        (torch.randn(0, 2, 4, 5, 5), ValueError, r"empty batch \(N = 0\).*shape \(1, 2, 4, 5, 5\)"),
        (torch.randn(1, 1, 7, 9), ValueError,
         r"check_equivariance got a 7x9 input \(H x W\), but p4 has elements that swap rows and columns, which "
         r"need a square input, H == W: crop or pad it"),
        (torch.randn(2, 1, 4, 6, 5), ValueError, "got a 6x5 input"),
        (torch.randn(7, 7), ValueError, r"\(N, C, H, W\) or group \(N, C, \|H\|, H, W\) input, got shape \(7, 7\)"),
        ([[1.0]], TypeError, "check_equivariance expects a torch.Tensor input, got list"),
    ],
)
def test_inputs_that_cannot_be_measured_are_named_before_the_module_runs(x, error, words):
    spy = _Spy()
    with pytest.raises(error, match=words):
        check_equivariance(spy, x, group="p4")
    assert spy.calls == 0


@pytest.mark.parametrize("group", ["pm_u", "pm_v", "pmm", "p2"])
def test_a_rectangular_input_is_measured_where_no_element_swaps_the_axes(group):
    layer = LiftingConv2d(1, 2, 3, group=group, dtype=torch.float64)
    errors = check_equivariance(layer, torch.randn(1, 1, 7, 9, dtype=torch.float64))
    assert len(errors) == layer.group_order and max(errors.values()) < 1e-12


def test_a_one_element_batch_is_measured():
    torch.manual_seed(0)
    net = torch.nn.Sequential(LiftingConv2d(1, 2, 3, dtype=torch.float64), GroupConv2d(2, 2, 3, dtype=torch.float64))
    errors = check_equivariance(net, torch.randn(1, 1, 7, 7, dtype=torch.float64))
    assert len(errors) == 4 and max(errors.values()) < 1e-12



def test_format_errors_prints_every_element_in_the_group_order():
    """The lessons' one-line form of check_equivariance's result: each element's label, then its
    error, in the dict's (the group's) order."""
    lift = LiftingConv2d(1, 2, 3, "p4m").double()
    errors = check_equivariance(lift, torch.randn(1, 1, 9, 9, dtype=torch.float64))
    line = format_errors(errors)
    assert line.split()[::2] == list(errors) == [g.label for g in D4]
    assert [float(text) for text in line.split()[1::2]] == [float(f"{error:.0e}") for error in errors.values()]
    assert format_errors({"e": 0.0, "r": 0.53}, ".1f") == "e 0.0  r 0.5"

def test_max_error_is_the_largest_absolute_difference_as_a_python_number():
    assert max_error(torch.tensor([1.0, 2.0, -3.0]), torch.tensor([1.0, 2.5, -1.0])) == 2.0
    assert max_error(np.array([[0.0, 4.0]]), np.array([[0.0, 1.5]])) == 2.5
    index = max_error(torch.arange(6), torch.arange(6).flip(0))  # indices stay integers: printed "5", not "5.0"
    assert index == 5 and isinstance(index, int)
    assert max_error(torch.zeros(3), torch.zeros(3)) == 0.0
