"""Cayley graphs of the ten subgroups of D4, and where their nodes and edges sit on the page.

The Cayley graph of a group H with generators S has one node per element h and, for every
generator g in S, one edge h -> g h. It is the picture behind a feature map on the plane group
of H (p1, p2, pm_u, pm_v, cm_main, cm_anti, p4, pmm, cmm, p4m; see :mod:`gcnn_edu.groups`):
the left action L_g moves the patch at h to the node g h, along the edge labelled g.
The generators are the group's own, ``H.generators``:

==========  =========  ==============  ============================================
plane       point      generators      the graph
==========  =========  ==============  ============================================
p1          C1         (none)          the node e alone
p2          C2         r^2             e -> r^2 -> e: two half-turn arrows
pm_u        D1_u       m               one mirror line e - m
pm_v        D1_v       mr^2            one mirror line e - mr^2
cm_main     D1_main    mr              one mirror line e - mr
cm_anti     D1_anti    mr^3            one mirror line e - mr^3
p4          C4         r               the directed 4-cycle e -> r -> r^2 -> r^3 -> e
pmm         D2_uv      r^2, m          two half-turn circles joined by m-lines
cmm         D2_diag    r^2, mr         two half-turn circles joined by mr-lines
p4m         D4         r, m            two 4-cycles (opposite senses) joined by m-lines
==========  =========  ==============  ============================================

In D4, r (m r^k) = m r^(k-1), so the r-edges run counter-clockwise around the rotations and
clockwise around the mirrored rotations; every mirror s is its own inverse, so every s-edge
comes with its reverse and is drawn as one line.

**One look for all ten.** Every edge of a quarter-turn generator (r) is a red arrow along
its ring, every edge of the half turn r^2 an orange dashed arrow along its ring (half a
circle: h -> r^2 h and r^2 h -> h together close the circle, turning the way r^2 turns the
ring), and every mirror generator (m, mr, mr^2 or mr^3; a group has at most one among its
generators) a blue line, one per pair {h, s h}. Red, blue and orange stay apart under
protanopia, deuteranopia and tritanopia, and the line style (solid arrow, dashed arrow,
line without a head) is a second cue.

**One layout for all ten.** Every element sits where it sits in the D4 picture, which reads
like Cohen & Welling's figures (and GrouPy's README): r^k at the angle 90 + 90 k degrees on
the inner circle (e at the top, counter-clockwise) and m r^k straight outside it on the outer
circle, so the m-edges are radial. The graph of a subgroup H is then the D4 picture with the
elements outside H removed (and its edges those of H's generators): a student sees at once
which elements each group keeps, that C4, D2_uv and D2_diag are the inner ring, the vertical
axis and the diagonal pair of D4, and a patch at h is at the same place in every picture.
(A layout per group would centre the small groups better, but would move e.g. mr^2 from
the bottom to the side between pictures, and hide the subgroup relation the figures teach.)

The edges drawn are those of *left* multiplication, h -> g h, because the left action L_g
moves the value at h to g h. GrouPy's p4m figure names the outer ring by right products
r^k m instead; since m r^k = r^-k m, its "rm" is our "mr^3". ``node_label`` writes both
readings on the mirrored nodes ("mr = r^3m"), so a reader of either figure finds their name.

Nodes are numbered by the *local index* ``H.index(h)``, the position of h on the group axis
of a feature map on H (for C4 and D4 the same as the D4 index ``h.index``).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from ..groups import PlaneGroup, PointGroup, PointGroupElement, point_group

__all__ = ["GENERATOR_COLORS", "EDGE_RULE", "EdgeStyle", "edge_style", "cayley_graph", "cayley_layout",
           "edge_point", "math_label", "right_reading", "node_label"]

# quarter turns red, half turns orange, mirrors blue (red and blue as in the paper)
GENERATOR_COLORS = {"r": "#d62728", "r^2": "#e69f00", "m": "#1f5fb4"}
EDGE_RULE = "edges h → gh (left multiplication)"  # what every caption says about the edges drawn
INNER_RADIUS = 1.0
OUTER_RADIUS = 2.2


@dataclass(frozen=True)
class EdgeStyle:
    """How the edges of one generator are drawn: ``kind`` is 'rotation' (a quarter turn, r or
    r^3), 'half turn' (r^2) or 'mirror'; a mirror's edges are undirected lines, one per pair."""

    kind: str
    color: str
    linestyle: str
    directed: bool


def edge_style(g: PointGroupElement) -> EdgeStyle:
    """The style of the edges h -> g h of the generator g (see the module's docstring)."""
    if not isinstance(g, PointGroupElement) or g == g**0:
        raise ValueError(f"a generator is an element of D4 other than e, got {g!r}")
    if g.j:
        return EdgeStyle("mirror", GENERATOR_COLORS["m"], "-", False)
    if g.k == 2:
        return EdgeStyle("half turn", GENERATOR_COLORS["r^2"], "--", True)
    return EdgeStyle("rotation", GENERATOR_COLORS["r"], "-", True)


def cayley_graph(group: str | PointGroup | PlaneGroup = "p4") -> nx.DiGraph:
    """The Cayley graph of any of the ten subgroups of D4 ('p4', 'C4', 'pmm', 'D2_uv', ...) as a
    networkx DiGraph, with the group's own generators.

    Nodes are the local indices 0..|H|-1 (``H.index(h)``) with attributes ``element``,
    ``label`` ('e', 'r', 'r^2', ..., 'mr^3') and ``d4_index``; for each generator g and element
    h there is an edge h -> g h whose attributes are ``generator`` (g's label), ``kind``
    ('rotation', 'half turn' or 'mirror') and ``color``.
    """
    group = point_group(group)
    graph = nx.DiGraph(group=group.name)
    for h in group:
        graph.add_node(group.index(h), element=h, label=h.label, d4_index=h.index)
    for g in group.generators:
        style = edge_style(g)
        for h in group:
            graph.add_edge(group.index(h), group.index(g * h), generator=g.label, kind=style.kind,
                           color=style.color)
    return graph


def cayley_layout(group: str | PointGroup | PlaneGroup = "p4") -> dict[int, np.ndarray]:
    """Node positions (x, y), y up, keyed by local index: every element where it sits in the D4
    picture, r^k at angle 90 + 90 k degrees on the inner circle, m r^k straight outside it."""
    group = point_group(group)
    return {group.index(h): _polar(_radius(h), _angle(h)) for h in group}


def edge_point(h: PointGroupElement, g: PointGroupElement, t) -> np.ndarray:
    """The point(s) a fraction t in [0, 1] of the way along the edge h -> g h, as drawn.

    A rotation edge is an arc of the circle the two nodes share (a quarter turn, or half
    turn for g = r^2); any other edge (the mirror edges) is a straight segment. ``t`` may
    be an array; the result then has shape t.shape + (2,).
    """
    t = np.asarray(t, dtype=float)
    target = g * h
    if _radius(h) == _radius(target):  # same ring: follow the circle the shorter way round
        turn = (_angle(target) - _angle(h) + np.pi) % (2 * np.pi) - np.pi
        if np.isclose(abs(turn), np.pi):  # a half turn: go the way the rotation turns
            turn = np.pi if h.j == 0 else -np.pi
        return _polar(_radius(h), _angle(h) + t * turn)
    start, end = _polar(_radius(h), _angle(h)), _polar(_radius(target), _angle(target))
    return (1 - t)[..., None] * start + t[..., None] * end


def math_label(label: str) -> str:
    """'mr^3' -> '$mr^3$' for matplotlib's mathtext."""
    return f"${label}$"


def right_reading(h: PointGroupElement) -> str:
    """The same element written with the mirror on the right: m r^k = r^-k m ('mr' -> 'r^3m').

    Rotations have one reading, and so has m; for them the label itself is returned.
    """
    if not h.j or h.k == 0:
        return h.label
    return {1: "r", 2: "r^2", 3: "r^3"}[(-h.k) % 4] + "m"


def node_label(h: PointGroupElement, separator: str = " ") -> str:
    """Math text naming h in both readings where they differ: '$mr = r^3m$', else '$r^2$'.

    ``separator`` goes before the '=' (use '\\n' to stack the two readings).
    """
    other = right_reading(h)
    if other == h.label:
        return math_label(h.label)
    return f"${h.label}${separator}$= {other}$"


def _radius(h: PointGroupElement) -> float:
    return OUTER_RADIUS if h.j else INNER_RADIUS


def _angle(h: PointGroupElement) -> float:
    return np.pi / 2 + h.k * np.pi / 2


def _polar(radius: float, angle) -> np.ndarray:
    return radius * np.stack([np.cos(angle), np.sin(angle)], axis=-1)
