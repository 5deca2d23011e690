"""``gcnn-edu reproduce``: the whole pipeline on a tiny grid, resuming, the results file's schema,
early stopping on validation digits, and one-line errors with exit status 2."""

import json

import pytest
import torch

from gcnn_edu import reproduce as study
from gcnn_edu.errors import GcnnEduError
from gcnn_edu.reproduce import Cell, Grid, Settings, format_table, grid_runs, reproduce, run_data, summarize

TINY = Settings(max_epochs=2, patience=1, equal_steps=False, test_digits=20, batch_size=16, curve_digits=10,
                angle_step=90.0)
TINY_ARGS = ["--models", "z2cnn", "--max-epochs", "2", "--patience", "1", "--no-equal-steps", "--batch-size", "16",
             "--train-digits", "40",
             "--test-digits", "20", "--curve-digits", "10", "--angle-step", "90", "--device", "cpu", "--threads", "1"]
RUN_ENTRIES = {"model", "protocol", "train_digits", "seed", "parameters", "test_accuracy", "best_epoch",
               "epochs_trained", "validation_accuracy", "train_loss", "fit_digits", "validation_digits", "test_digits",
               "learning_rate", "shared_run_with", "seconds", "cpu_seconds", "threads", "device"}


def tiny(models=("z2cnn",), protocols=("rotated",), digits=(40,)) -> tuple[Grid]:
    return (Grid(tuple(models), tuple(protocols), tuple(digits)),)


pytestmark = pytest.mark.usefixtures("one_thread")  # training runs give the same numbers on any machine


def _untimed(run: dict) -> dict:
    """A run's numbers, without its times."""
    return {k: v for k, v in run.items() if k not in ("seconds", "cpu_seconds")}


def _numbers(results: dict) -> dict:
    """Every run's numbers, without its times."""
    return {key: _untimed(run) for key, run in results["runs"].items()}


def test_validation_digits_come_from_the_training_digits_and_rotate_with_the_protocol():
    upright, rotated = run_data("upright-to-rotated", 3, TINY, 40), run_data("rotated", 3, TINY, 40)
    upright_test, rotated_test = study.test_set("upright-to-rotated", 3, TINY), study.test_set("rotated", 3, TINY)
    assert len(upright.fit) + len(upright.validation) == 40 and len(upright_test) == 20
    pool = {bytes(image.numpy()) for image in study.digit_sets("upright", "upright", seed=3)[0].subset(40).images}
    assert all(bytes(image.numpy()) in pool for image in torch.cat([upright.fit.images, upright.validation.images]))
    assert torch.equal(upright.fit.images, rotated.fit.images)  # the upright digits, turned per epoch
    assert torch.equal(rotated_test.images, upright_test.images)  # (a) and (b) share their rotated test digits
    assert not torch.equal(rotated.validation.images, upright.validation.images)
    first, second = rotated.epoch_set(3, 1), rotated.epoch_set(3, 2)
    assert not torch.equal(first.images, second.images) and torch.equal(first.images, rotated.epoch_set(3, 1).images)
    assert upright.epoch_set(3, 1) is upright.fit


def test_early_stopping_keeps_the_best_validation_epoch(tmp_path, monkeypatch):
    """Validation accuracies 50, 70, 60, 65 %: patience 2 stops after epoch 4 and restores epoch 2."""
    accuracies = iter([0.5, 0.7, 0.6, 0.65, 0.9])
    monkeypatch.setattr(study, "evaluate", lambda *args, **kwargs: next(accuracies))

    def one_more_epoch(model, train_set, epochs, **kwargs):  # a weight that counts the epochs
        with torch.no_grad():
            model.features[0].weight.add_(1.0)
        return {"loss": [0.0] * epochs}

    monkeypatch.setattr(study, "train", one_more_epoch)
    model = study.build_model("z2cnn")
    initial = model.features[0].weight.detach().clone()
    settings = Settings(max_epochs=5, patience=2, equal_steps=False)
    fit = study.fit_with_early_stopping(model, "z2cnn", run_data("upright", 0, settings, 40), 0, settings, "cpu",
                                        tmp_path)
    assert fit == {"validation_accuracy": [0.5, 0.7, 0.6, 0.65], "train_loss": [0.0] * 4, "best_epoch": 2}
    assert torch.equal(model.features[0].weight, initial + 1.0 + 1.0)  # epoch 2, not 4


def test_tiny_grid_writes_the_results_table_and_plots(tmp_path):
    grids = (*tiny(protocols=("rotated", "upright-to-rotated")), *tiny(digits=(30,)))
    results = reproduce(tmp_path, grids, range(2), TINY, "cpu", progress=False)
    saved = json.loads((tmp_path / "reproduce.json").read_text())
    assert saved == json.loads(json.dumps(results))
    assert set(saved) == {"format", "configuration", "versions", "device", "runs"}
    assert saved["configuration"]["max_epochs"] == 2 and set(saved["versions"]) == {"gcnn_edu", "torch", "python"}
    assert sorted(saved["runs"]) == sorted([f"z2cnn/{p}/40 digits/seed {s}" for p in ("rotated", "upright-to-rotated")
                                            for s in (0, 1)] + [f"z2cnn/rotated/30 digits/seed {s}" for s in (0, 1)])
    for run in saved["runs"].values():
        assert set(run) - {"accuracy_vs_angle"} == RUN_ENTRIES
        assert 0 <= run["test_accuracy"] <= 1 and 1 <= run["best_epoch"] <= run["epochs_trained"] <= 2
        assert len(run["validation_accuracy"]) == run["epochs_trained"] == len(run["train_loss"])
        assert run["parameters"] == 21_750 and run["fit_digits"] + run["validation_digits"] == run["train_digits"]
        assert ("accuracy_vs_angle" in run) == (run["protocol"] == "upright-to-rotated")
        assert run["threads"] == 1 and 0 < run["cpu_seconds"]
    assert list(saved["runs"]["z2cnn/upright-to-rotated/40 digits/seed 0"]["accuracy_vs_angle"]) == [
        "0.0", "90.0", "180.0", "270.0", "360.0"]
    groups = grid_runs(results, study.study_cells(grids, range(2)))
    assert list(groups) == [("z2cnn", "rotated", 30), ("z2cnn", "rotated", 40), ("z2cnn", "upright-to-rotated", 40)]
    written = study.write_report(results, groups, tmp_path)
    assert written == [tmp_path / "reproduce.md", tmp_path / "validation_curves.png", tmp_path / "data_size.png"]
    assert "| rotated | z2cnn | 40 | 21,750 |" in (tmp_path / "reproduce.md").read_text()
    full = {("z2cnn", "upright-to-rotated", study.ALL_TRAIN_DIGITS): groups["z2cnn", "upright-to-rotated", 40]}
    assert study.plot_angle_curves(full, tmp_path / "angles.png") == tmp_path / "angles.png"


def test_resuming_reuses_finished_runs_and_gives_the_uninterrupted_numbers(tmp_path):
    straight = reproduce(tmp_path / "straight", tiny(), range(2), TINY, "cpu", progress=False)
    reproduce(tmp_path / "resumed", tiny(), range(1), TINY, "cpu", progress=False)  # stopped after one
    first = json.loads((tmp_path / "resumed" / "reproduce.json").read_text())["runs"]["z2cnn/rotated/40 digits/seed 0"]
    resumed = reproduce(tmp_path / "resumed", tiny(), range(2), TINY, "cpu", progress=False)
    assert resumed["runs"]["z2cnn/rotated/40 digits/seed 0"] == first  # reused, not retrained (the same time too)
    assert _numbers(resumed) == _numbers(straight)


def test_protocols_that_train_alike_share_one_run_with_the_numbers_of_separate_runs(tmp_path):
    """'upright' and 'upright-to-rotated' differ only in their test digits: one training serves both."""
    grids = tiny(protocols=("upright", "upright-to-rotated", "rotated"))
    cells = study.study_cells(grids, range(2))
    assert study.runs_of(cells, TINY) == [(Cell("z2cnn", "upright", 40, s), Cell("z2cnn", "upright-to-rotated", 40, s))
                                          for s in (0, 1)] + [(Cell("z2cnn", "rotated", 40, s),) for s in (0, 1)]
    shared = reproduce(tmp_path / "shared", grids, range(1), TINY, "cpu", progress=False)["runs"]
    upright, to_rotated = shared["z2cnn/upright/40 digits/seed 0"], shared["z2cnn/upright-to-rotated/40 digits/seed 0"]
    assert upright["shared_run_with"] == ["z2cnn/upright-to-rotated/40 digits/seed 0"] and not shared[
        "z2cnn/rotated/40 digits/seed 0"]["shared_run_with"]
    assert upright["validation_accuracy"] == to_rotated["validation_accuracy"] and upright["seconds"] == to_rotated[
        "seconds"]
    alone = reproduce(tmp_path / "alone", tiny(protocols=("upright-to-rotated",)), range(1), TINY, "cpu",
                      progress=False)["runs"]["z2cnn/upright-to-rotated/40 digits/seed 0"]
    assert _untimed(alone) == {**_untimed(to_rotated), "shared_run_with": []}
    with pytest.raises(ValueError, match="train differently"):
        study.train_one((Cell("z2cnn", "upright", 40, 0), Cell("z2cnn", "rotated", 40, 0)), TINY, "cpu")


def test_the_dearest_run_goes_first_and_each_model_trains_at_its_learning_rate():
    cells = [Cell("z2cnn", "rotated", 4000, 0), Cell("gcnn", "upright", 1000, 0), Cell("gcnn", "upright", 4000, 0)]
    assert [run[0] for run in study.runs_of(cells, Settings(equal_steps=False))] == [cells[2], cells[1], cells[0]]
    assert study.multiply_adds("gcnn") > 20 * study.multiply_adds("z2cnn")  # 89 M against 3 M
    rates = [study.learning_rate_of(model, Settings()) for model in ("z2cnn", "p4cnn", "cnn", "gcnn")]
    assert rates == [1e-3, 1e-3, 3e-4, 3e-4]
    assert study.learning_rate_of("gcnn", Settings(learning_rate=0.01)) == 0.01


def test_fewer_training_digits_may_take_as_many_steps():
    assert study.epoch_limits(Settings(max_epochs=40, patience=4), 4000) == (40, 4)
    assert study.epoch_limits(Settings(max_epochs=40, patience=4), 1000) == (160, 16)
    assert study.epoch_limits(Settings(max_epochs=40, patience=4), 3000) == (54, 6)  # rounded up
    assert study.epoch_limits(Settings(max_epochs=40, patience=4, equal_steps=False), 1000) == (40, 4)


def test_worker_processes_give_the_numbers_of_runs_one_after_the_other(tmp_path):
    """Two runs at a time, each in a process of one thread, write what one thread here writes."""
    grids = tiny(protocols=("rotated", "upright"))
    here = reproduce(tmp_path / "here", grids, range(2), TINY, "cpu", progress=False)
    workers = reproduce(tmp_path / "workers", grids, range(2), TINY, "cpu", jobs=2, threads=1, progress=False)
    assert list(workers["runs"]) == sorted(workers["runs"])  # in the file's order, whichever finished first
    assert _numbers(workers) == _numbers(here)


def test_the_default_study_covers_every_protocol_and_model_and_the_data_axis_extends_it():
    cells = study.study_cells(study.DEFAULT_STUDY, range(3))
    assert len(cells) == len(set(cells)) and {cell.protocol for cell in cells} == set(study.PROTOCOLS)
    assert {"z2cnn", "p4cnn", "p4cnn-rotation-pooling", "p4mcnn"} <= {c.model for c in cells if c.protocol == "rotated"}
    assert {cell.model for cell in cells} == set(study.DEFAULT_MODELS)
    assert {"cnn", "gcnn"} <= {cell.model for cell in cells if cell.protocol == "upright-to-rotated"}
    cells = study.study_cells(study.DEFAULT_STUDY + study.DATA_AXIS, range(3))
    assert {cell.train_digits for cell in cells if cell.model in ("z2cnn", "p4cnn") and cell.protocol == "rotated"
            } == {1000, 2000, study.ALL_TRAIN_DIGITS}
    def site(cell):
        return cell.model, cell.protocol, cell.train_digits

    assert all(len([c for c in cells if site(c) == site(cell)]) == 3 for cell in cells)  # three seeds per cell
    assert Cell("p4cnn", "rotated", 4000, 2).key == "p4cnn/rotated/4000 digits/seed 2"


def test_summary_is_mean_and_sample_deviation_over_seeds():
    runs = [{"test_accuracy": a, "parameters": 7, "best_epoch": b, "epochs_trained": 3}
            for a, b in ((0.9, 1), (0.8, 2), (0.7, 3))]
    row = summarize(runs)
    assert row["n"] == 3 and row["mean"] == pytest.approx(80.0) and row["std"] == pytest.approx(10.0)
    assert row["best_epoch"] == 2 and summarize(runs[:1])["std"] is None
    table = format_table({("m", "rotated", 4000): runs, ("m", "upright", 100): runs[:1]}).splitlines()
    assert table[2] == "| rotated | m | 4,000 | 7 | 20.00 ± 10.00 | 80.00 ± 10.00 | 3 | 2.0 | 3.0 |"
    assert table[3] == "| upright | m | 100 | 7 | 10.00 | 90.00 | 1 | 1.0 | 3.0 |"


def test_library_names_an_unknown_model_or_protocol_or_impossible_digits(tmp_path):
    with pytest.raises(GcnnEduError, match="unknown model 'vgg'"):
        reproduce(tmp_path, tiny(models=("vgg",)), range(1), TINY, "cpu")
    with pytest.raises(GcnnEduError, match="unknown protocol 'mnist'"):
        reproduce(tmp_path, tiny(protocols=("mnist",)), range(1), TINY, "cpu")
    with pytest.raises(GcnnEduError, match="5000 training digits: expected 10 to 4,000"):
        reproduce(tmp_path, tiny(digits=(5000,)), range(1), TINY, "cpu")
    assert not (tmp_path / "reproduce.json").exists()


def _error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        study.main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    return error.strip().splitlines()[-1]


@pytest.mark.parametrize("argv, message", [
    (["--models", "vgg"], "gcnn-edu reproduce: error: argument --models: unknown model 'vgg'"),
    (["--protocols", "mnist"], "gcnn-edu reproduce: error: argument --protocols: unknown protocol 'mnist'"),
    (["--seeds", "0"], "gcnn-edu reproduce: error: argument --seeds: expected a positive int, got 0"),
    (["--patience", "0"], "gcnn-edu reproduce: error: argument --patience: expected a positive int, got 0"),
    (["--device", "tpu"], "gcnn-edu reproduce: error: unknown device 'tpu'"),
    (["--jobs", "0"], "gcnn-edu reproduce: error: argument --jobs: expected a positive int, got 0"),
    (["--models", "z2cnn", "--train-digits", "9000"], "gcnn-edu reproduce: error: 9000 training digits: expected 10"),
])
def test_command_line_errors_are_one_line_with_status_2(argv, message, tmp_path, capsys):
    assert message in _error(argv + ["--out", str(tmp_path)], capsys)


def test_by_default_the_command_trains_one_run_per_cpu_core_at_most_eight(monkeypatch):
    for cores, jobs in ((1, 1), (2, 2), (16, study.MAX_DEFAULT_JOBS)):
        monkeypatch.setattr(study.os, "sched_getaffinity", lambda pid, cores=cores: set(range(cores)), raising=False)
        assert study.default_jobs(torch.device("cpu")) == jobs
    assert study.default_jobs(torch.device("cuda")) == 1  # one GPU: one run at a time


def test_command_line_runs_the_grid_and_refuses_other_settings_on_resume(tmp_path, capsys):
    assert study.main(TINY_ARGS + ["--protocols", "upright", "--seeds", "1", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| upright | z2cnn | 40 | 21,750 |" in printed and "| 1 |" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reproduce.json", "reproduce.md", "validation_curves.png"]
    changed = TINY_ARGS[:TINY_ARGS.index("--max-epochs")] + ["--max-epochs", "3"] + TINY_ARGS[
        TINY_ARGS.index("--max-epochs") + 2:]
    error = _error(changed + ["--protocols", "upright", "--out", str(tmp_path)], capsys)
    assert error.startswith("gcnn-edu reproduce: error: ") and "other settings (max_epochs differ)" in error


def test_a_damaged_results_file_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "reproduce.json").write_text("{not json")
    assert "is not a readable results file" in _error(TINY_ARGS + ["--out", str(tmp_path)], capsys)


def test_quick_settings_yield_to_the_options_given():
    import argparse

    parser = argparse.ArgumentParser()
    study.add_arguments(parser)
    assert study.settings_from(parser.parse_args(["--quick"])) == study.QUICK["settings"]
    assert study.settings_from(parser.parse_args(["--quick", "--patience", "7"])).patience == 7
    assert study.settings_from(parser.parse_args(["--no-equal-steps"])) == Settings(equal_steps=False)
    assert study.settings_from(parser.parse_args([])) == Settings()
    assert study.study_from(parser.parse_args([])) == study.DEFAULT_STUDY
    assert study.study_from(parser.parse_args(["--quick"])) == study.QUICK["study"]
    assert study.study_from(parser.parse_args(["--data-axis"])) == study.DEFAULT_STUDY + study.DATA_AXIS
    assert study.study_from(parser.parse_args(["--quick", "--protocols", "upright", "--train-digits", "100"])) == (
        Grid(study.DEFAULT_MODELS, ("upright",), (100,)),)


def test_the_committed_study_is_the_default_study_and_its_table_follows_from_its_results(tmp_path):
    """figures/reproduce/ holds a run of the default study and the data axis with today's default settings, and its
    table is what the results file gives."""
    from dataclasses import asdict
    from pathlib import Path

    committed = Path(__file__).resolve().parents[1] / "figures" / "reproduce"
    results = json.loads((committed / "reproduce.json").read_text())
    assert results["configuration"] == asdict(Settings())
    cells = study.study_cells(study.DEFAULT_STUDY + study.DATA_AXIS, range(3))
    assert sorted(cell.key for cell in cells) == sorted(results["runs"])
    groups = grid_runs(results, cells)
    assert all(len(runs) == 3 for runs in groups.values())
    assert all(run["learning_rate"] == study.learning_rate_of(run["model"], Settings())
               for run in results["runs"].values())
    study.write_report(results, groups, tmp_path)
    assert (tmp_path / "reproduce.md").read_text() == (committed / "reproduce.md").read_text()
