"""The early-equivariance experiment: every model on both training sets, the three tests, the table,
and a command line that names bad input in one line with exit status 2."""

import json

import pytest

from gcnn_edu import early_equivariance
from gcnn_edu.early_equivariance import compare, format_table
from gcnn_edu.models import SevenLayerCNN, SevenLayerConfig

pytestmark = pytest.mark.usefixtures("one_thread")  # training runs give the same numbers on any machine


@pytest.mark.slow
def test_compare_trains_and_tests_every_model_on_both_sets():
    tiny = {"tiny-planar": SevenLayerConfig.from_stages(("p1", 7, 2)),
            "tiny-early": SevenLayerConfig.from_stages(("p4", 2, 1), ("p1", 5, 2))}
    results = compare({name: (lambda c=config: SevenLayerCNN(c)) for name, config in tiny.items()}, epochs=1,
                      train_digits=16, test_digits=8, batch_size=8, device="cpu", progress=False)
    assert [(row["model"], row["trained_on"]) for row in results] == [
        ("tiny-planar", "upright"), ("tiny-early", "upright"), ("tiny-planar", "rotated"), ("tiny-early", "rotated")]
    for row in results:
        assert set(row["test_accuracy"]) == {"upright", "rotated90", "rotated"}
        assert all(0 <= accuracy <= 1 for accuracy in row["test_accuracy"].values())
    table = format_table(results).splitlines()
    assert table[0] == "| model | parameters | trained on | upright | turned by 90°·k | turned by any angle |"
    assert len(table) == 2 + len(results) and table[3].startswith("| tiny-early | ")


def test_compare_names_bad_input():
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        compare(["vgg"])
    with pytest.raises(ValueError, match="unknown training data 'mnist'"):
        compare(["z2cnn"], train_data=["mnist"])


@pytest.mark.parametrize("argv, message", [
    (["--model", "vgg"], "gcnn-edu early: error: argument --model: unknown model 'vgg'"),
    (["--epochs", "0"], "gcnn-edu early: error: argument --epochs: expected a positive int, got 0"),
    (["--threads", "0"], "gcnn-edu early: error: argument --threads: expected a positive int, got 0"),
    (["--device", "tpu"], "gcnn-edu early: error: unknown device 'tpu'"),
])
def test_command_line_errors_are_one_line_with_status_2(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        early_equivariance.main(argv + ["--out", str(tmp_path)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert message in error.strip().splitlines()[-1] and "Traceback" not in error  # argparse's usage, then one line


@pytest.mark.slow
def test_command_line_writes_the_results(tmp_path, capsys):
    argv = ["--model", "z2cnn", "--train-data", "upright", "--epochs", "1", "--train-digits", "16",
            "--test-digits", "8", "--device", "cpu", "--threads", "1", "--out", str(tmp_path)]
    assert early_equivariance.main(argv) == 0
    summary = json.loads((tmp_path / "early_equivariance.json").read_text())
    assert [row["parameters"] for row in summary["results"]] == [21_750] and summary["epochs"] == 1
    assert "| z2cnn | 21,750 | upright |" in capsys.readouterr().out
