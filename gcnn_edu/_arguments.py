"""Argument types of the ``gcnn-edu`` subcommands: a bad value is named by argparse with its fix
(``gcnn-edu train: error: argument --threads: ...``, exit code 2) before any work starts."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

__all__ = ["int_range", "positive_int", "positive_float", "random_seed", "one_of", "data_source"]

SEED_LIMIT = 2**32


def int_range(low: int, high: int | None = None, what: str | None = None):
    """An argparse type: an int with low <= value (<= high)."""
    what = what or (f"an int from {low} to {high}" if high is not None else
                    "a positive int" if low == 1 else f"an int >= {low}")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


positive_int = int_range(1)
random_seed = int_range(0, SEED_LIMIT - 1, what=f"a seed from 0 to 2**32 - 1 = {SEED_LIMIT - 1}")


def positive_float(text: str) -> float:
    """An argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite positive number, got {text!r}")
    return value


def one_of(names, what: str):
    """An argparse type: one of ``names``, case-insensitive, returned in lower case."""
    names = tuple(names)

    def parse(text: str) -> str:
        if text.lower() not in names:
            raise argparse.ArgumentTypeError(f"unknown {what} {text!r}: expected one of {', '.join(names)}")
        return text.lower()

    parse.__name__ = what
    return parse


def data_source(names):
    """An argparse type: one of the data set ``names``, or the path of an existing .amat file."""
    names = tuple(names)

    def parse(text: str) -> str:
        if text in names:
            return text
        if text.endswith(".amat"):
            if not Path(text).is_file():
                raise argparse.ArgumentTypeError(
                    f"no .amat file at {text!r}: download MNIST-rot (mnist_rotation_new.zip) and pass the path "
                    "of one of its .amat files")
            return text
        raise argparse.ArgumentTypeError(f"unknown data {text!r}: expected one of {', '.join(names)} "
                                         "or the path of an MNIST-rot .amat file")

    parse.__name__ = "data"
    return parse
