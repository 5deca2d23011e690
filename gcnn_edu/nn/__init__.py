"""PyTorch layers for G-CNNs on p4 and p4m."""

from .conv import GroupConv2d, LiftingConv2d
from .pooling import (
    CosetPool,
    GroupBatchNorm,
    GroupPool,
    SpatialPool,
    coset_pool,
    group_pool,
    spatial_pool,
)

__all__ = ["LiftingConv2d", "GroupConv2d", "SpatialPool", "GroupPool", "CosetPool", "GroupBatchNorm",
           "spatial_pool", "group_pool", "coset_pool"]
