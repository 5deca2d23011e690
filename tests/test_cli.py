"""The gcnn-edu command: subcommands are registered and `groups` prints the measured report."""

import pytest

from gcnn_edu.cli import SUBCOMMANDS, main


def test_groups_prints_cayley_tables_and_equivariance(capsys):
    assert main(["groups", "--size", "7"]) == 0
    out = capsys.readouterr().out
    assert "Cayley table of D4" in out and " mr|   mr mr^2 mr^3    m  r^3    e    r  r^2" in out
    lifting = next(line for line in out.splitlines() if line.startswith("LiftingConv2d"))
    planar = next(line for line in out.splitlines() if line.startswith("Conv2d (planar)"))
    assert max(float(v) for v in lifting.split()[1:]) < 1e-12
    assert max(float(v) for v in planar.split()[2:]) > 1e-3


def test_every_subcommand_has_help(capsys):
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
    assert "usage: gcnn-edu" in capsys.readouterr().out


def test_unknown_subcommand_is_named(capsys):
    with pytest.raises(SystemExit):
        main(["train-everything"])
    assert "invalid choice: 'train-everything'" in capsys.readouterr().err
