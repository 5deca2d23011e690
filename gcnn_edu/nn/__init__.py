"""PyTorch layers for G-CNNs on the ten plane groups of the square lattice (p1 ... p4m)."""

from .conv import GroupConv2d, LiftingConv2d, freeze, unfreeze
from .pooling import (
    CosetPool,
    GroupBatchNorm,
    GroupPool,
    SpatialPool,
    coset_pool,
    group_pool,
    spatial_pool,
)
from .restriction import Restrict, restrict, restriction_index

__all__ = ["LiftingConv2d", "GroupConv2d", "SpatialPool", "GroupPool", "CosetPool", "Restrict", "GroupBatchNorm",
           "spatial_pool", "group_pool", "coset_pool", "restrict", "restriction_index", "freeze", "unfreeze"]
