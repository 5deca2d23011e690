"""Training: reproducible, resumable to the same weights, atomic checkpoints, clear errors."""

import json
from pathlib import Path

import pytest
import torch

from gcnn_edu import _allocator, cli, training
from gcnn_edu.data import digit_sets
from gcnn_edu.demo import format_table, run_demo
from gcnn_edu.errors import GcnnEduError
from gcnn_edu.models import P4CNN, Z2CNN
from gcnn_edu.training import (
    accuracy_vs_angle,
    check_writable,
    evaluate,
    load_checkpoint,
    predict,
    resolve_device,
    save_checkpoint,
    train,
)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Batches of a few dozen small digits gain nothing from a second thread, and on a busy
    machine two OpenMP threads that wait for each other are many times slower than one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small_sets():
    train_set, test_set = digit_sets("rotated", "rotated")
    return train_set.subset(96), test_set.subset(40)


def _fresh(cls):
    torch.manual_seed(0)
    return cls()


@pytest.mark.parametrize("cls", [Z2CNN, P4CNN])
def test_resume_gives_the_same_weights_as_a_straight_run(cls, small_sets, tmp_path):
    train_set, test_set = small_sets
    options = {"batch_size": 32, "seed": 5, "device": "cpu", "progress": False}
    straight = _fresh(cls)
    history = train(straight, train_set, test_set, epochs=2, **options)

    checkpoint = tmp_path / "checkpoint.pt"
    interrupted = _fresh(cls)
    train(interrupted, train_set, test_set, epochs=1, checkpoint=checkpoint, **options)
    resumed = _fresh(cls)  # a new process would start from fresh weights too
    resumed_history = train(resumed, train_set, test_set, epochs=2, checkpoint=checkpoint, resume=True, **options)

    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert resumed_history["loss"] == history["loss"]
    assert resumed_history["test_accuracy"] == history["test_accuracy"]
    assert load_checkpoint(checkpoint)["epoch"] == 2


def test_training_is_reproducible_and_learns(small_sets):
    train_set, _ = small_sets
    first, second = _fresh(Z2CNN), _fresh(Z2CNN)
    a = train(first, train_set, epochs=2, batch_size=32, device="cpu", progress=False)
    b = train(second, train_set, epochs=2, batch_size=32, device="cpu", progress=False)
    assert a["loss"] == b["loss"] and a["loss"][-1] < a["loss"][0]
    other = train(_fresh(Z2CNN), train_set, epochs=1, batch_size=32, seed=1, device="cpu", progress=False)
    assert other["loss"][0] != a["loss"][0]


def _state(epoch: int, **changes) -> dict:
    """The entries of a checkpoint as train() writes them (with no weights), changed by ``changes``."""
    history = {"epoch": list(range(1, epoch + 1)), "loss": [1.0] * epoch, "test_accuracy": [None] * epoch,
               "seconds": [0.5] * epoch}
    state = {"format": 1, "model_name": "z2cnn", "model": {}, "optimizer": {"state": {}, "param_groups": []},
             "epoch": epoch, "history": history, "seed": 0}
    return state | changes


def test_an_interrupted_save_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, _state(1))

    def interrupted_save(state, file):
        file.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(training.torch, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, _state(2))
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temporary file left behind


def test_checkpoint_errors(small_sets, tmp_path):
    train_set, _ = small_sets
    path = tmp_path / "checkpoint.pt"
    train(_fresh(Z2CNN), train_set.subset(32), epochs=1, checkpoint=path, model_name="z2cnn", progress=False,
          device="cpu")
    with pytest.raises(GcnnEduError, match="holds a 'z2cnn' model, not 'p4cnn'"):
        train(_fresh(P4CNN), train_set.subset(32), epochs=2, checkpoint=path, resume=True, model_name="p4cnn",
              progress=False, device="cpu")
    with pytest.raises(GcnnEduError, match="was trained with seed 0, not 1: resume it with the same seed"):
        train(_fresh(Z2CNN), train_set.subset(32), epochs=2, checkpoint=path, resume=True, model_name="z2cnn",
              progress=False, device="cpu", seed=1)
    state = load_checkpoint(path)
    save_checkpoint(path, state | {"model_name": "p4cnn"})  # the name edited, the weights still a Z2CNN's
    with pytest.raises(GcnnEduError, match="says it holds a 'p4cnn' model, but its weights do not fit P4CNN"):
        train(_fresh(P4CNN), train_set.subset(32), epochs=2, checkpoint=path, resume=True, model_name="p4cnn",
              progress=False, device="cpu")
    exp_avg = state["optimizer"]["state"][0]["exp_avg"]
    state["optimizer"]["state"][0]["exp_avg"] = exp_avg[:1]  # Adam's moment of the first weight, cut short
    save_checkpoint(path, state)
    with pytest.raises(GcnnEduError, match=r"optimizer entry 'exp_avg' of shape \(1, 1, 3, 3\) for a parameter of "
                                           r"shape \(20, 1, 3, 3\)"):
        train(_fresh(Z2CNN), train_set.subset(32), epochs=2, checkpoint=path, resume=True, model_name="z2cnn",
              progress=False, device="cpu")
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(GcnnEduError, match="not a readable checkpoint"):
        load_checkpoint(path)
    torch.save({"weights": 1}, path)
    with pytest.raises(GcnnEduError, match="not a gcnn-edu training checkpoint"):
        load_checkpoint(path)
    for damage, words in [({"epoch": "1"}, "entry 'epoch' is missing or not a int"),
                          ({"seed": True}, "entry 'seed' is missing or not a int"),
                          ({"model": None}, "entry 'model' is missing or not a dict"),
                          ({"history": {"epoch": [1]}}, "its history is not four lists")]:
        save_checkpoint(path, _state(1) | damage)
        with pytest.raises(GcnnEduError, match=words):
            load_checkpoint(path)


class _RunsCode:
    """Pickles to a call of ``open(marker, "w")``: unpickling it would create the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_a_checkpoint_that_would_run_code_is_refused_unrun(tmp_path):
    path, marker = tmp_path / "checkpoint.pt", tmp_path / "marker"
    torch.save(_state(1, history=_RunsCode(marker)), path)
    with pytest.raises(GcnnEduError) as error:
        load_checkpoint(path)
    assert str(error.value).startswith(f"{str(path)!r} is not a trusted gcnn-edu checkpoint: it asks to build "
                                       "Python objects (Unsupported global: GLOBAL ")
    assert "Nothing was loaded: delete the file, or write to another folder with --out" in str(error.value)
    assert not marker.exists()
    # the same file, unpickled without weights_only, does run the code: the test above could fail
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_a_checkpoint_holds_only_what_weights_only_loads(small_sets, tmp_path):
    """Tensors, numbers, strings, None and plain containers: nothing that needs a trusted unpickler."""
    path = tmp_path / "checkpoint.pt"
    train(_fresh(P4CNN), small_sets[0].subset(16), small_sets[1].subset(8), epochs=1, batch_size=16,
          checkpoint=path, progress=False, device="cpu")

    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, (str, int)) and plain(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (torch.Tensor, bool, int, float, str))

    assert plain(torch.load(path, weights_only=True))


def test_bad_arguments(tmp_path, small_sets):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(GcnnEduError, match="cannot write to the output folder .* choose another folder with --out"):
        check_writable(blocker / "runs")
    with pytest.raises(GcnnEduError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(GcnnEduError, match="no CUDA GPU is available"):
            resolve_device("cuda")
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="epochs must be an int >= 0"):
        train(Z2CNN(), small_sets[0], epochs=-1)


def test_the_accuracy_of_p4cnn_repeats_every_quarter_turn(small_sets):
    _, test_set = small_sets
    model = _fresh(P4CNN)
    curve = accuracy_vs_angle(model, test_set, angles=[20, 110, 200, 290])
    assert len(set(curve.values())) == 1, curve
    assert evaluate(model, test_set) == pytest.approx(accuracy_vs_angle(model, test_set, [0.0])[0.0])


@pytest.mark.parametrize("cls", [Z2CNN, P4CNN])
def test_predictions_do_not_depend_on_the_batch_size(cls, small_sets):
    _, test_set = small_sets
    model = _fresh(cls).eval()
    with torch.no_grad():
        whole = model(test_set.images).argmax(1)
    for batch_size in (1, 7, 64, 500):
        assert torch.equal(predict(model, test_set.images, batch_size), whole), batch_size
    assert not model.training


def test_the_train_command(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--model", "z2cnn", "p4cnn", "--train-data", "upright", "--test-data", "rotated",
            "--train-digits", "32", "--test-digits", "16", "--batch-size", "16", "--angle-step", "90",
            "--device", "cpu", "--out", str(out)]
    assert cli.main(argv + ["--epochs", "1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["models"]) == {"z2cnn", "p4cnn"}
    assert list(metrics["models"]["p4cnn"]["accuracy_vs_angle"]) == ["0.0", "90.0", "180.0", "270.0", "360.0"]
    assert (out / "accuracy_vs_angle.png").stat().st_size > 10_000
    assert cli.main(argv + ["--epochs", "2", "--resume"]) == 0  # one more epoch each
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["models"]["z2cnn"]["history"]["epoch"] == [1, 2]
    assert "z2cnn epoch 2/2" in capsys.readouterr().err

    capsys.readouterr()
    (out / "p4cnn" / "checkpoint.pt").write_bytes((out / "z2cnn" / "checkpoint.pt").read_bytes())
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv + ["--epochs", "3", "--resume"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"gcnn-edu train: error: {str(out / 'p4cnn' / 'checkpoint.pt')!r} holds a 'z2cnn' model, not 'p4cnn': "
        "train 'z2cnn' to resume it, or write to another folder")


def test_the_demo_pipeline_on_a_few_digits(tmp_path):
    summary = run_demo(tmp_path, upright_epochs=1, rotated_epochs=1, angle_step=120, curve_digits=10,
                       animation=False, train_digits=32, test_digits=20)
    assert [(r["model"], r["trained_on"]) for r in summary["results"]] == [
        ("Z2CNN", "upright"), ("P4CNN", "upright"), ("Z2CNN", "rotated"), ("P4CNN", "rotated")]
    for row in summary["results"]:
        if row["model"] == "P4CNN":  # invariant to quarter turns, so exactly as good on them
            assert row["test_accuracy"]["rotated90"] == row["test_accuracy"]["upright"]
    assert Path(tmp_path / "accuracy_vs_angle.png").exists() and (tmp_path / "demo_results.json").exists()
    table = format_table(summary["results"])
    assert "P4CNN" in table and "24,680" in table and "turned by any angle" in table


def test_draw_accuracy_vs_angle_draws_each_curve_as_given():
    from matplotlib.figure import Figure

    from gcnn_edu.training import draw_accuracy_vs_angle

    curves = {"Z2CNN, trained upright": {0.0: 0.9, 90.0: 0.2}, "P4CNN, trained rotated": {90.0: 0.8, 0.0: 0.8}}
    ax = draw_accuracy_vs_angle(curves, Figure().subplots(), title="t")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["Z2CNN, trained upright"].get_xdata()) == [0.0, 90.0]
    assert list(lines["Z2CNN, trained upright"].get_ydata()) == [90.0, 20.0]
    assert lines["Z2CNN, trained upright"].get_linestyle() == "--"
    assert lines["P4CNN, trained rotated"].get_linestyle() == "-"
    assert ax.get_title() == "t"


# --------------------------------------------------------------------------------------------
# Keeping freed memory (gcnn_edu._allocator): faster steps, the same bits
# --------------------------------------------------------------------------------------------

def _bench_allocator():
    """benchmarks/bench_allocator.py, whose child processes train the same seeded steps with and
    without keep_freed_memory(): the test compares the bits of the runs that the benchmark times."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_allocator.py"
    spec = importlib.util.spec_from_file_location("bench_allocator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not _allocator._is_glibc(), reason="keep_freed_memory() needs glibc (Linux)")
def test_keeping_freed_memory_changes_no_weight():
    bench = _bench_allocator()
    default, kept = (bench.one_process("p4cnn-rotation-pooling", keep, steps=3, warmup=0) for keep in (False, True))
    assert not default["kept"] and kept["kept"]
    assert kept["weights"] == default["weights"]


def test_keeping_freed_memory_does_nothing_without_glibc(monkeypatch):
    def unknown_name(name):
        raise ValueError(f"unrecognized configuration name {name!r}")

    for confstr in (lambda name: None, unknown_name):  # a name with no value; a name unknown here (musl, macOS)
        monkeypatch.setattr(_allocator.os, "confstr", confstr)
        assert _allocator.keep_freed_memory() is False
