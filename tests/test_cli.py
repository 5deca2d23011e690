"""The gcnn-edu command: subcommands are registered, `groups` prints the measured report, and bad
input ends in one line `gcnn-edu <command>: error: ...` with exit code 2, never a traceback."""

import re

import pytest
import torch

from gcnn_edu.cli import SUBCOMMANDS, main
from gcnn_edu.models import build_model
from gcnn_edu.training import save_checkpoint


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


# --- bad input: one line `gcnn-edu <command>: error: ...`, exit code 2, never a traceback -------------


def _fails(argv, capsys) -> str:
    """Run the command in-process; it must exit with code 2 and explain itself in its last line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["groups", "--size", "0"], "argument --size: expected an int from 1 to 256, got 0"),
        (["groups", "--size", "-3"], "argument --size: expected an int from 1 to 256, got -3"),
        (["groups", "--size", "nine"], "argument --size: expected an int from 1 to 256, got 'nine'"),
        (["groups", "--size", "100000"], "expected an int from 1 to 256, got 100000"),
        (["train", "--threads", "-2"], "argument --threads: expected a positive int, got -2"),
        (["train", "--threads", "0"], "argument --threads: expected a positive int, got 0"),
        (["train", "--epochs", "0"], "argument --epochs: expected a positive int, got 0"),
        (["train", "--epochs", "-1"], "argument --epochs: expected a positive int, got -1"),
        (["train", "--epochs", "2.5"], "argument --epochs: expected a positive int, got '2.5'"),
        (["train", "--batch-size", "0"], "argument --batch-size: expected a positive int, got 0"),
        (["train", "--train-digits", "0"], "argument --train-digits: expected a positive int"),
        (["train", "--lr", "0"], "argument --lr: expected a finite positive number, got '0'"),
        (["train", "--lr-decay", "nan"], "argument --lr-decay: expected a finite positive number, got 'nan'"),
        (["train", "--angle-step", "-15"], "argument --angle-step: expected a finite positive number"),
        (["train", "--seed", "-1"], "argument --seed: expected a seed from 0 to 2\\*\\*32 - 1"),
        (["train", "--model", "vgg"], "argument --model: unknown model 'vgg': expected one of z2cnn, p4cnn"),
        (["train", "--model", "z2cnn", "resnet"], "unknown model 'resnet'"),
        (["train", "--train-data", "svhn"], "argument --train-data: unknown data 'svhn': expected one of upright"),
        (["train", "--test-data", "missing.amat"], "argument --test-data: no .amat file at 'missing.amat'"),
        (["demo", "--threads", "0"], "argument --threads: expected a positive int, got 0"),
        (["demo", "--upright-epochs", "0"], "argument --upright-epochs: expected a positive int, got 0"),
        (["demo", "--curve-digits", "-5"], "argument --curve-digits: expected a positive int, got -5"),
        (["demo", "--angle-step", "inf"], "argument --angle-step: expected a finite positive number, got 'inf'"),
        (["figures", "--only", "nothing.png"], "argument --only: invalid choice: 'nothing.png'"),
    ],
)
def test_bad_arguments_are_named_by_argparse(argv, words, capsys):
    command = argv[0]
    line = _fails(argv, capsys)
    assert line.startswith(f"gcnn-edu {command}: error: ")
    assert re.search(words, line), line


@pytest.mark.parametrize("command", ["figures", "train", "demo"])
def test_an_unwritable_output_folder_is_one_line(command, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for out in (blocker, blocker / "figures"):  # a file, and a folder that cannot exist
        line = _fails([command, "--out", str(out), "--device", "cpu"] if command != "figures" else
                      [command, "--out", str(out)], capsys)
        assert line.startswith(f"gcnn-edu {command}: error: cannot write to the output folder {str(out)!r}")
        assert line.endswith("choose another folder with --out")
    assert blocker.read_text() == "" and not list(tmp_path.glob("*/figures"))


@pytest.mark.parametrize("command", ["figures", "train", "demo"])
def test_an_empty_output_folder_is_refused(command, capsys):
    line = _fails([command, "--out", ""], capsys)
    assert line == f"gcnn-edu {command}: error: the output folder is an empty string: name a folder with --out"


def test_an_unknown_device_is_one_line(tmp_path, capsys):
    line = _fails(["train", "--device", "tpu", "--out", str(tmp_path)], capsys)
    assert line == "gcnn-edu train: error: unknown device 'tpu': expected 'auto', 'cpu' or 'cuda'"


def test_a_corrupt_amat_file_is_one_line(tmp_path, capsys):
    amat = tmp_path / "digits.amat"
    amat.write_text("0.5 " * 10 + "\n")
    line = _fails(["train", "--train-data", str(amat), "--out", str(tmp_path / "run"), "--device", "cpu"], capsys)
    assert line == ("gcnn-edu train: error: train data: digits.amat, line 1: expected 785 values (784 pixels, "
                    "then the label), got 10: the file is truncated or corrupt")


# --- gcnn-edu train --resume with a checkpoint that does not fit ------------------------------------


def _checkpoint_of(model_name: str, weights_of: str, path):
    """A checkpoint as train() writes it after one epoch: it says ``model_name``, holds ``weights_of``'s weights."""
    torch.manual_seed(0)
    model = build_model(weights_of)
    optimizer = torch.optim.Adam(model.parameters())
    history = {"epoch": [1], "loss": [2.3], "test_accuracy": [0.1], "seconds": [1.0]}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, {"format": 1, "model_name": model_name, "model": model.state_dict(),
                           "optimizer": optimizer.state_dict(), "epoch": 1, "history": history, "seed": 0})


RESUME = ["train", "--model", "p4cnn", "--train-data", "upright", "--test-data", "upright", "--train-digits", "8",
          "--test-digits", "8", "--epochs", "2", "--device", "cpu", "--resume"]


def test_resume_from_a_checkpoint_of_another_model(tmp_path, capsys):
    path = tmp_path / "p4cnn" / "checkpoint.pt"
    _checkpoint_of("z2cnn", "z2cnn", path)
    line = _fails(RESUME + ["--out", str(tmp_path)], capsys)
    assert line == (f"gcnn-edu train: error: {str(path)!r} holds a 'z2cnn' model, not 'p4cnn': train 'z2cnn' to "
                    "resume it, or write to another folder")


def test_resume_from_a_checkpoint_whose_model_name_was_edited(tmp_path, capsys):
    path = tmp_path / "p4cnn" / "checkpoint.pt"
    _checkpoint_of("p4cnn", "z2cnn", path)  # says p4cnn, holds a Z2CNN's weights
    line = _fails(RESUME + ["--out", str(tmp_path)], capsys)
    assert line.startswith(f"gcnn-edu train: error: {str(path)!r} says it holds a 'p4cnn' model, but its weights "
                           "do not fit P4CNN (Error(s) in loading state_dict for P4CNN: size mismatch for "
                           "features.0.weight")
    assert line.endswith("the file was edited or damaged; delete it to start again")


def test_resume_from_a_corrupt_checkpoint(tmp_path, capsys):
    path = tmp_path / "p4cnn" / "checkpoint.pt"
    path.parent.mkdir()
    path.write_bytes(b"\x00" * 100)
    line = _fails(RESUME + ["--out", str(tmp_path)], capsys)
    assert line.startswith(f"gcnn-edu train: error: {str(path)!r} is not a readable checkpoint (")
    assert line.endswith("): delete it to start again")


def test_resume_with_another_seed(tmp_path, capsys):
    path = tmp_path / "p4cnn" / "checkpoint.pt"
    _checkpoint_of("p4cnn", "p4cnn", path)
    line = _fails(RESUME + ["--out", str(tmp_path), "--seed", "3"], capsys)
    assert line == (f"gcnn-edu train: error: {str(path)!r} was trained with seed 0, not 3: resume it with the same "
                    "seed (--seed 0), or write to another folder")


def test_a_bug_still_shows_its_traceback(monkeypatch):
    """Only the package's own error becomes one line; any other exception is a bug and propagates."""
    from gcnn_edu import report

    def broken(args):
        raise ValueError("a bug")

    monkeypatch.setattr(report, "run", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["groups"])
