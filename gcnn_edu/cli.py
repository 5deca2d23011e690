"""The ``gcnn-edu`` command. Each subcommand lives in the module that does the work:

    gcnn-edu groups     Cayley tables of C4 and D4 and an equivariance report of the layers
    gcnn-edu figures    render every figure and animation into figures/    (gcnn_edu.figures)
    gcnn-edu train      train models on upright or rotated digits          (gcnn_edu.training)
    gcnn-edu demo       CNN vs G-CNN on upright and rotated digits         (gcnn_edu.demo)
    gcnn-edu early      stopping equivariance early: planar, p4, p4-early, p4m -> pmm -> pm_u
                                                                           (gcnn_edu.early_equivariance)
    gcnn-edu reproduce  models x protocols x seeds, mean ± std over seeds  (gcnn_edu.reproduce)

Bad input never ends in a traceback: argparse names a bad argument (their types are in
``gcnn_edu._arguments``) under the usage line; a bad file, folder or device found later raises
:class:`gcnn_edu.errors.GcnnEduError`. Either way the command prints
``gcnn-edu <command>: error: <problem and fix>`` and exits with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ._allocator import keep_freed_memory
from .errors import GcnnEduError

SUBCOMMANDS = {
    "groups": ("gcnn_edu.report", "Cayley tables of C4 and D4 and an equivariance report of the layers"),
    "figures": ("gcnn_edu.figures", "render every figure and animation into figures/"),
    "train": ("gcnn_edu.training", "train one or more models on digits (upright, rotated, or MNIST-rot .amat)"),
    "demo": ("gcnn_edu.demo", "train a CNN and a G-CNN, test them on rotated digits (about 3 minutes on 2 CPU cores)"),
    "early": ("gcnn_edu.early_equivariance",
              "stopping equivariance early: planar, p4, p4-then-planar and p4m -> pmm -> pm_u networks compared"),
    "reproduce": ("gcnn_edu.reproduce",
                  "the paper's comparison as a grid of models x protocols x seeds, with early stopping and spreads"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gcnn-edu", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(module=module_name)
        _module(module_name).add_arguments(sub)
    args = parser.parse_args(argv)
    keep_freed_memory()  # training steps stop page-faulting their tensors in (gcnn_edu._allocator); same results
    try:
        return _module(args.module).run(args) or 0
    except GcnnEduError as error:  # bad input found late (a file, a folder, a device): one line, no traceback
        print(f"gcnn-edu {args.command}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def _module(name: str):
    return importlib.import_module(name)


if __name__ == "__main__":
    sys.exit(main())
