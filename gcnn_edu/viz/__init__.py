"""Pictures and animations of functions on p4 and p4m, drawn on the Cayley graphs of C4 and D4.

    cayley     the Cayley graphs as networkx DiGraphs, and their layout (e at the top, counter-clockwise)
    plot       a function on p4 / p4m as image patches at the nodes; planar maps in the same style
    animation  L_r and L_m moving the patches along the edges; a G-CNN layer at work (GIF, MP4)
"""

from .animation import animate_action, animate_equivariance, save_animation
from .cayley import GENERATOR_COLORS, cayley_graph, cayley_layout
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

__all__ = ["cayley_graph", "cayley_layout", "GENERATOR_COLORS", "plot_group_function", "plot_planar_function",
           "draw_cayley_graph", "generator_legend", "group_function", "planar_function", "spatial_transform",
           "GroupFunctionPlot", "PlanarFunctionPlot", "animate_action", "animate_equivariance", "save_animation"]
from .lattice import draw_subgroup_lattice as draw_subgroup_lattice
