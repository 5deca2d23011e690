"""Pictures and animations of functions on the ten plane groups of the square lattice, drawn on
the Cayley graphs of the ten subgroups of D4 (C4 and D4 for p4 and p4m), and of the steps of a
G-CNN layer.

    cayley     the Cayley graphs as networkx DiGraphs (edges h -> g h, the group's own generators), one
               layout for all ten (every element where it sits in the D4 picture), node names both ways
    plot       a function on a plane group as image patches at the nodes; planar maps in the same style
    animation  L_g moving the patches along the edges; a G-CNN layer against a CNN (GIF, MP4)
    lifting    the lifting correlation, animated: L_h psi fills the plane at h
    bank       the filter bank of a group correlation: twist and shift
    gather     the gather with a precomputed index, the one conv2d, and the backward scatter-add
    pooling    group pooling, and p4m -> p4 coset pooling on the Cayley graph
    errors     equivariance measured, per element and per angle
    accuracy   test accuracy against the rotation angle of the test digits
    study      a study's validation curves and its test error against the number of training digits
    palette    colours checked under simulated colour-vision deficiencies

Every function that draws a function on a group takes ``group=`` (a name such as 'pmm' or a
group object, read by :func:`gcnn_edu.groups.resolve_group`); nothing here reads the group off
the size of a group axis. Where ``group`` may be left out, a group axis of size 4 or 8 is read
as p4 or p4m, the one documented legacy default (:func:`gcnn_edu.functions.legacy_group`).
"""

from .accuracy import draw_accuracy_vs_angle, plot_accuracy_vs_angle
from .animation import animate_action, animate_equivariance, save_animation
from .bank import FilterBankPlot, filter_bank, plot_filter_bank
from .cayley import GENERATOR_COLORS, EdgeStyle, cayley_graph, cayley_layout, edge_style, node_label, right_reading
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

__all__ = ["cayley_graph", "cayley_layout", "node_label", "right_reading", "GENERATOR_COLORS", "edge_style",
           "EdgeStyle", "plot_group_function",
           "plot_planar_function", "draw_cayley_graph", "generator_legend", "group_function", "planar_function",
           "spatial_transform", "GroupFunctionPlot", "PlanarFunctionPlot", "animate_action", "animate_equivariance",
           "save_animation", "animate_lifting", "lifting_animation", "LiftingAnimation", "plot_filter_bank",
           "filter_bank", "FilterBankPlot", "plot_gather", "GatherPlot", "plot_group_pooling", "plot_coset_pooling",
           "left_cosets", "channel_pairs", "GroupPoolingPlot", "CosetPoolingPlot", "plot_equivariance_errors",
           "equivariance_errors", "angle_errors", "EquivarianceErrorPlot", "draw_accuracy_vs_angle",
           "plot_accuracy_vs_angle"]
from .lattice import draw_subgroup_lattice as draw_subgroup_lattice
from .study import plot_data_size as plot_data_size
from .study import plot_validation_curves as plot_validation_curves
