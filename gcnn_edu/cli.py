"""The ``gcnn-edu`` command. Each subcommand lives in the module that does the work:

    gcnn-edu groups     Cayley tables of C4 and D4 and an equivariance report of the layers
    gcnn-edu figures    render every figure and animation into figures/    (gcnn_edu.figures)
    gcnn-edu train      train models on upright or rotated digits          (gcnn_edu.training)
    gcnn-edu demo       CNN vs G-CNN on upright and rotated digits         (gcnn_edu.demo)
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = {
    "groups": ("gcnn_edu.report", "Cayley tables of C4 and D4 and an equivariance report of the layers"),
    "figures": ("gcnn_edu.figures", "render every figure and animation into figures/"),
    "train": ("gcnn_edu.training", "train one or more models on digits (upright, rotated, or MNIST-rot .amat)"),
    "demo": ("gcnn_edu.demo", "train a CNN and a G-CNN, test them on rotated digits (about 3 minutes on 2 CPU cores)"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gcnn-edu", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(module=module_name)
        _module(module_name).add_arguments(sub)
    args = parser.parse_args(argv)
    return _module(args.module).run(args) or 0


def _module(name: str):
    return importlib.import_module(name)


if __name__ == "__main__":
    sys.exit(main())
