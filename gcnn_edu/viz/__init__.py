"""Pictures and animations of functions on p4 and p4m, drawn on the Cayley graphs of C4 and D4,
and of the steps of a G-CNN layer.

    cayley     the Cayley graphs as networkx DiGraphs (edges h -> g h), their layout, node names both ways
    plot       a function on p4 / p4m as image patches at the nodes; planar maps in the same style
    animation  L_r and L_m moving the patches along the edges; a G-CNN layer against a CNN (GIF, MP4)
    lifting    the lifting correlation, animated: L_h psi fills the plane at h
    bank       the filter bank of a group correlation: twist and shift
    gather     the gather with a precomputed index, the one conv2d, and the backward scatter-add
    pooling    group pooling, and p4m -> p4 coset pooling on the Cayley graph
    errors     equivariance measured, per element and per angle
    accuracy   test accuracy against the rotation angle of the test digits
    palette    colours checked under simulated colour-vision deficiencies
"""

from .accuracy import draw_accuracy_vs_angle, plot_accuracy_vs_angle
from .animation import animate_action, animate_equivariance, save_animation
from .bank import FilterBankPlot, filter_bank, plot_filter_bank
from .cayley import GENERATOR_COLORS, cayley_graph, cayley_layout, node_label, right_reading
from .errors import EquivarianceErrorPlot, angle_errors, equivariance_errors, plot_equivariance_errors
from .gather import GatherPlot, plot_gather
from .lifting import LiftingAnimation, animate_lifting, lifting_animation
from .plot import (
    GroupFunctionPlot,
    PlanarFunctionPlot,
    draw_cayley_graph,
    generator_legend,
    group_function,
    planar_function,
    plot_group_function,
    plot_planar_function,
    spatial_transform,
)
from .pooling import (
    CosetPoolingPlot,
    GroupPoolingPlot,
    channel_pairs,
    left_cosets,
    plot_coset_pooling,
    plot_group_pooling,
)

__all__ = ["cayley_graph", "cayley_layout", "node_label", "right_reading", "GENERATOR_COLORS", "plot_group_function",
           "plot_planar_function", "draw_cayley_graph", "generator_legend", "group_function", "planar_function",
           "spatial_transform", "GroupFunctionPlot", "PlanarFunctionPlot", "animate_action", "animate_equivariance",
           "save_animation", "animate_lifting", "lifting_animation", "LiftingAnimation", "plot_filter_bank",
           "filter_bank", "FilterBankPlot", "plot_gather", "GatherPlot", "plot_group_pooling", "plot_coset_pooling",
           "left_cosets", "channel_pairs", "GroupPoolingPlot", "CosetPoolingPlot", "plot_equivariance_errors",
           "equivariance_errors", "angle_errors", "EquivarianceErrorPlot", "draw_accuracy_vs_angle",
           "plot_accuracy_vs_angle"]
from .lattice import draw_subgroup_lattice as draw_subgroup_lattice
