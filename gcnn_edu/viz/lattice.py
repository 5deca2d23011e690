"""The Hasse diagram of the subgroup lattice of D4: the ten plane groups of the square lattice.

:func:`gcnn_edu.groups.subgroup_lattice` gives the lattice as a ``networkx.DiGraph`` (an edge
H -> K for every maximal inclusion H ⊂ K); :func:`draw_subgroup_lattice` draws it with networkx,
one row per order |H| = 1, 2, 4, 8 from bottom to top, so that every edge goes up by one index-2
step and a path from p1 to a group G passes through the groups between them.
"""

from __future__ import annotations

import math

import networkx as nx

from ..groups import subgroup_lattice

__all__ = ["draw_subgroup_lattice", "lattice_layout"]

# Left to right in each row, chosen so that no two edges cross: the axis mirrors (pm) under pmm,
# the diagonal mirrors (cm) under cmm, p2 in the middle under all three groups of order 4.
_ROWS = {1: ("p1",), 2: ("pm_u", "pm_v", "p2", "cm_main", "cm_anti"), 4: ("pmm", "p4", "cmm"), 8: ("p4m",)}


def lattice_layout() -> dict[str, tuple[float, float]]:
    """Positions (x, y) of the ten groups: y = log2 |H| (0 for p1 ... 3 for p4m), rows centred on x = 0."""
    return {name: (float(column - (len(names) - 1) / 2), float(math.log2(order)))
            for order, names in _ROWS.items() for column, name in enumerate(names)}


def draw_subgroup_lattice(ax=None, point_groups: bool = True, node_color: str = "#dbe9f6"):
    """Draw the Hasse diagram of the subgroups of D4 on ``ax`` (a new figure if None); returns ``ax``.

    Args:
        ax: a matplotlib Axes, or None for a new figure.
        point_groups: label each node with its point group too ('pmm' over 'D2_uv').
        node_color: the fill of the nodes.

    Each node is a plane group, its label a Text whose gid is the group's name (the name
    ``resolve_group`` accepts); each line joins H (below) to K (above) where H ⊂ K has index 2
    and nothing lies between them. The rows are labelled |H| = 1, 2, 4, 8 (gid 'order').

    Example::

        >>> ax = draw_subgroup_lattice()
        >>> sorted(text.get_gid() for text in ax.texts if text.get_gid() != "order")[:3]
        ['cm_anti', 'cm_main', 'cmm']
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4.2))
    lattice = subgroup_lattice()
    positions = lattice_layout()
    labels = {name: f"{name}\n{data['point_group']}" if point_groups else name
              for name, data in lattice.nodes(data=True)}
    nx.draw_networkx_edges(lattice, positions, ax=ax, arrows=False, edge_color="0.45", width=1.5)
    nx.draw_networkx_nodes(lattice, positions, ax=ax, node_size=2000, node_color=node_color, edgecolors="0.3")
    for name, text in nx.draw_networkx_labels(lattice, positions, labels, ax=ax, font_size=7.5).items():
        text.set_gid(name)  # the group's name, to find the node's label again
    for order, names in _ROWS.items():
        ax.text(-2.9, positions[names[0]][1], f"|H| = {order}", ha="left", va="center", fontsize=8, color="0.4",
                gid="order")
    ax.set_xlim(-3, 2.6)
    ax.set_ylim(-0.5, 3.5)
    ax.set_title("The subgroups of D4: a line from H up to K when H ⊂ K (index 2)", fontsize=10)
    ax.axis("off")
    return ax
