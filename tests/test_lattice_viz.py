"""The drawn Hasse diagram of the subgroups of D4 is the lattice: read its nodes and lines back."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gcnn_edu.groups import PLANE_GROUPS, subgroup_lattice  # noqa: E402
from gcnn_edu.viz import draw_subgroup_lattice  # noqa: E402
from gcnn_edu.viz.lattice import lattice_layout  # noqa: E402


def _drawn():
    ax = Figure().subplots()
    assert draw_subgroup_lattice(ax) is ax
    return ax


def test_every_group_is_a_labelled_node_on_the_row_of_its_order():
    ax = _drawn()
    labels = {text.get_gid(): text for text in ax.texts if text.get_gid() != "order"}
    assert set(labels) == {G.name for G in PLANE_GROUPS}
    for G in PLANE_GROUPS:
        text = labels[G.name]
        assert text.get_text() == f"{G.name}\n{G.point_group.name}"
        assert text.get_position()[1] == np.log2(G.point_group.order)  # p1 at the bottom, p4m at the top
    nodes = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(nodes) == 1
    centres = {tuple(p) for p in nodes[0].get_offsets().tolist()}
    assert centres == {tuple(text.get_position()) for text in labels.values()}
    assert sorted(t.get_text() for t in ax.texts if t.get_gid() == "order") == [
        "|H| = 1", "|H| = 2", "|H| = 4", "|H| = 8"]


def test_the_lines_are_the_maximal_inclusions():
    ax = _drawn()
    where = {tuple(position): name for name, position in lattice_layout().items()}
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(lines) == 1
    drawn = set()
    for segment in lines[0].get_segments():
        a, b = (where[tuple(point)] for point in np.asarray(segment).tolist())
        low, high = sorted((a, b), key=lambda name: lattice_layout()[name][1])
        drawn.add((low, high))
    assert drawn == set(subgroup_lattice().edges)
    assert len(drawn) == 15  # 5 + 7 + 3 edges between the rows of orders 1, 2, 4, 8
    assert ("p2", "pmm") in drawn and ("pm_u", "p4") not in drawn


def test_a_new_figure_and_bare_names():
    ax = draw_subgroup_lattice(point_groups=False)
    assert {t.get_text() for t in ax.texts if t.get_gid() != "order"} == {G.name for G in PLANE_GROUPS}
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_docstring_example_runs():
    import doctest

    import matplotlib.pyplot as plt

    import gcnn_edu.viz.lattice

    result = doctest.testmod(gcnn_edu.viz.lattice)
    plt.close("all")
    assert result.attempted > 0 and result.failed == 0
