"""Train and test the models on digits: a Python API and the ``gcnn-edu train`` command.

    history = train(model, train_set, test_set, epochs=5)        # Adam, cross-entropy, tqdm bars
    evaluate(model, test_set)                                     # accuracy in [0, 1]
    accuracy_vs_angle(model, test_set, angles=range(0, 361, 15))  # {angle: accuracy}

Reproducible and resumable by construction:

* the shuffling and the dropout masks of epoch ``e`` come from the seed ``(seed, e)``, reset at
  the start of every epoch, so an epoch does the same thing whether or not the run was
  interrupted before it;
* after every epoch the model, the optimizer and the history go to a checkpoint, written to a
  temporary file in the same folder and renamed over the old one with ``os.replace``. A rename
  is atomic, so an interrupted run leaves the previous checkpoint or the new one, never half
  a file. ``resume=True`` loads it and carries on: 2 epochs straight and 1 epoch, stop,
  1 more epoch give identical weights (on the same device and number of threads).
* a checkpoint holds only tensors, numbers, strings and plain containers, and is read with
  ``torch.load(..., weights_only=True)``: a file that asks for any other Python object (whose
  unpickling could run code) is refused, and nothing in it runs.

Command line::

    gcnn-edu train --model z2cnn p4cnn --train-data rotated --epochs 10 --out runs/rot
    gcnn-edu train --model z2cnn p4cnn --train-data rotated --epochs 20 --out runs/rot --resume

writes ``runs/rot/<model>/checkpoint.pt``, ``runs/rot/metrics.json`` and
``runs/rot/accuracy_vs_angle.png`` (every model on one plot).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ._allocator import keep_freed_memory  # public here: call it before training in a script
from ._arguments import data_source, one_of, positive_float, positive_int, random_seed
from .data import DATASETS, Digits, digit_sets, load_amat, rotate
from .errors import GcnnEduError
from .models import MODELS, build_model, count_parameters
from .viz.accuracy import draw_accuracy_vs_angle, plot_accuracy_vs_angle  # the plot lives in the viz

__all__ = ["train", "evaluate", "accuracy_vs_angle", "resolve_device", "write_atomically", "save_checkpoint",
           "load_checkpoint", "check_writable", "draw_accuracy_vs_angle", "plot_accuracy_vs_angle", "DEFAULT_ANGLES",
           "keep_freed_memory", "add_arguments", "run"]

DEFAULT_ANGLES = tuple(range(0, 361, 15))
CHECKPOINT_FORMAT = 1


# --------------------------------------------------------------------------------------------
# Devices, folders and checkpoints
# --------------------------------------------------------------------------------------------

def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """'auto' (CUDA when available, else CPU), 'cpu', 'cuda' or 'cuda:N', checked."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise GcnnEduError(f"unknown device {device!r}: expected 'auto', 'cpu' or 'cuda'") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GcnnEduError("device 'cuda' was asked for but no CUDA GPU is available: use --device cpu or auto")
    if device.type not in ("cpu", "cuda"):
        raise GcnnEduError(f"unsupported device {str(device)!r}: expected 'auto', 'cpu' or 'cuda'")
    return device


def check_writable(folder: str | Path) -> Path:
    """Create ``folder`` if needed and make sure files can be written there, before any work."""
    if not str(folder).strip():  # Path("") would silently be the current folder
        raise GcnnEduError("the output folder is an empty string: name a folder with --out")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        raise GcnnEduError(f"cannot write to the output folder {str(folder)!r} ({error.strerror or error}): "
                           "choose another folder with --out") from None
    return folder


def write_atomically(path: str | Path, write, binary: bool = True) -> None:
    """Call ``write(file)`` on a temporary file in the same folder as ``path``, flush it to disk,
    then rename it over ``path``: a rename is atomic, so ``path`` holds the old content or the
    new, never half a file. If anything fails, ``path`` is left as it was."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | Path, state: dict) -> None:
    """``torch.save(state)`` to ``path`` atomically (:func:`write_atomically`)."""
    write_atomically(path, lambda file: torch.save(state, file))


CHECKPOINT_ENTRIES = {"model_name": str, "model": dict, "optimizer": dict, "epoch": int, "history": dict,
                      "seed": int}
HISTORY_ENTRIES = ("epoch", "loss", "test_accuracy", "seconds")


def load_checkpoint(path: str | Path, model_name: str | None = None) -> dict:
    """Read a checkpoint written by :func:`train`; with ``model_name``, check it holds that model.

    Only tensors, numbers, strings and plain containers are unpickled (``weights_only=True``):
    a file that asks for any other Python object, whose unpickling could run code, raises a
    :class:`GcnnEduError` that names the file, and nothing in it runs. So does a damaged file
    or one that lacks an entry of :data:`CHECKPOINT_ENTRIES`.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as error:
        reason = _unpickler_reason(error)
        if "global" in reason.lower():  # e.g. 'Unsupported global: GLOBAL builtins.open'
            raise GcnnEduError(
                f"{str(path)!r} is not a trusted gcnn-edu checkpoint: it asks to build Python objects ({reason}), "
                "and gcnn-edu unpickles only tensors, numbers and strings, since anything else could run code. "
                "Nothing was loaded: delete the file, or write to another folder with --out") from None
        raise GcnnEduError(f"{str(path)!r} is not a readable checkpoint ({reason}): delete it to start again") from None
    except Exception as error:  # torch raises several types (RuntimeError, EOFError, OSError...) for a damaged file
        raise GcnnEduError(f"{str(path)!r} is not a readable checkpoint ({_one_line(error)}): "
                           "delete it to start again") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise GcnnEduError(f"{str(path)!r} is not a gcnn-edu training checkpoint")
    for key, kind in CHECKPOINT_ENTRIES.items():
        if not isinstance(state.get(key), kind) or isinstance(state.get(key), bool):
            raise GcnnEduError(f"{str(path)!r} is a damaged gcnn-edu checkpoint: its entry {key!r} is missing or "
                               f"not a {kind.__name__}: delete it to start again")
    history = state["history"]
    if (set(history) != set(HISTORY_ENTRIES) or not all(isinstance(v, list) for v in history.values())
            or len({len(v) for v in history.values()}) != 1):
        raise GcnnEduError(f"{str(path)!r} is a damaged gcnn-edu checkpoint: its history is not four lists "
                           f"{', '.join(HISTORY_ENTRIES)} of one length: delete it to start again")
    if model_name is not None and state["model_name"] != model_name:
        raise GcnnEduError(f"{str(path)!r} holds a {state['model_name']!r} model, not {model_name!r}: "
                           f"train {state['model_name']!r} to resume it, or write to another folder")
    return state


def _unpickler_reason(error: Exception) -> str:
    """torch's own reason in a weights-only unpickling error, e.g. 'Unsupported global: GLOBAL io.open'."""
    found = re.search(r"WeightsUnpickler error:\s*(.+?)(?: was not an allowed global|\n|$)", str(error))
    return found.group(1).strip() if found else _one_line(error)


def _one_line(error: Exception, limit: int = 200) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _restore(model: nn.Module, optimizer: torch.optim.Optimizer, state: dict, path) -> None:
    """Load a checkpoint's weights and optimizer state, or say which file does not fit the model."""
    def unfit(reason: str) -> GcnnEduError:
        return GcnnEduError(f"{str(path)!r} says it holds a {state['model_name']!r} model, but its weights do not fit "
                            f"{type(model).__name__} ({reason}): the file was edited or damaged; delete it to "
                            "start again")

    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        raise unfit(_one_line(error)) from None
    for parameter in model.parameters():
        for name, value in optimizer.state.get(parameter, {}).items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != parameter.shape:
                raise unfit(f"optimizer entry {name!r} of shape {tuple(value.shape)} for a parameter of shape "
                            f"{tuple(parameter.shape)}")


# --------------------------------------------------------------------------------------------
# Training and testing
# --------------------------------------------------------------------------------------------

def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch


def train(model: nn.Module, train_set: Digits, test_set: Digits | None = None, epochs: int = 5,
          batch_size: int = 64, lr: float = 3e-3, lr_decay: float = 0.8, weight_decay: float = 0.0,
          seed: int = 0, device: str | torch.device = "auto", checkpoint: str | Path | None = None,
          resume: bool = False, model_name: str | None = None, progress: bool = True) -> dict:
    """Train ``model`` with Adam on cross-entropy for ``epochs`` epochs in all.

    The learning rate of epoch e is ``lr * lr_decay**e``; torch's global generator is reseeded
    from ``(seed, e)`` at the start of every epoch (it drives the dropout masks). After each epoch the test accuracy
    is measured (if ``test_set``) and, with ``checkpoint``, everything is saved atomically.
    With ``resume=True`` and an existing ``checkpoint``, training continues after its last
    epoch. Returns the history: ``{"epoch": [...], "loss": [...], "test_accuracy": [...],
    "seconds": [...]}`` (one entry per epoch, from the first epoch of the run on).
    """
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    device = resolve_device(device)
    model_name = model_name or type(model).__name__.lower()
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = {"epoch": [], "loss": [], "test_accuracy": [], "seconds": []}
    start = 0
    if checkpoint is not None and resume and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, model_name)
        if state["seed"] != seed:
            raise GcnnEduError(f"{str(checkpoint)!r} was trained with seed {state['seed']}, not {seed}: resume it "
                               f"with the same seed (--seed {state['seed']}), or write to another folder")
        _restore(model, optimizer, state, checkpoint)
        history, start = state["history"], state["epoch"]
    images, labels = train_set.images.to(device), train_set.labels.to(device)
    for epoch in range(start, epochs):
        began = time.perf_counter()
        torch.manual_seed(_epoch_seed(seed, epoch))  # dropout masks of this epoch
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(_epoch_seed(seed, epoch)))
        for group in optimizer.param_groups:
            group["lr"] = lr * lr_decay**epoch
        model.train()
        total, seen = 0.0, 0
        bar = tqdm(range(0, len(order), batch_size), desc=f"{model_name} epoch {epoch + 1}/{epochs}",
                   disable=not progress, leave=False, unit="batch")
        for first in bar:
            batch = order[first:first + batch_size].to(device)
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            seen += len(batch)
            bar.set_postfix(loss=f"{total / seen:.3f}")
        history["epoch"].append(epoch + 1)
        history["loss"].append(total / max(seen, 1))
        history["test_accuracy"].append(
            None if test_set is None else evaluate(model, test_set, device=device))
        history["seconds"].append(time.perf_counter() - began)
        if progress:
            accuracy = history["test_accuracy"][-1]
            tqdm.write(f"{model_name} epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.3f}"
                       + ("" if accuracy is None else f", test accuracy {100 * accuracy:.1f} %"))
        if checkpoint is not None:
            save_checkpoint(checkpoint, {"format": CHECKPOINT_FORMAT, "model_name": model_name,
                                         "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                         "epoch": epoch + 1, "history": history, "seed": seed})
    return history


# Digits per forward pass when evaluating. Small enough that no activation of the package's
# models passes 32 MiB, glibc's largest threshold for serving an allocation with mmap: above
# it, every batch maps fresh pages, which the kernel faults in and zeroes. On 800 digits, one
# CPU thread, 500 digits a batch took 1.3 to 2.0 times as long as 64 for every model of the
# study (the UvA G-CNN 2.67 s against 1.84 s): benchmarks/bench_evaluate.py.
EVAL_BATCH_SIZE = 64


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = EVAL_BATCH_SIZE,
            device: str | torch.device | None = None) -> torch.Tensor:
    """The predicted labels (N,) of images (N, 1, H, W), in eval mode, in batches."""
    device = next(model.parameters()).device if device is None else resolve_device(device)
    model.to(device).eval()
    return torch.cat([model(images[i:i + batch_size].to(device)).argmax(1).cpu()
                      for i in range(0, len(images), batch_size)])


def evaluate(model: nn.Module, digits: Digits, batch_size: int = EVAL_BATCH_SIZE,
             device: str | torch.device | None = None) -> float:
    """The fraction of ``digits`` that ``model`` labels correctly (eval mode: no dropout)."""
    if len(digits) == 0:
        raise ValueError("cannot evaluate on an empty set of digits")
    return (predict(model, digits.images, batch_size, device) == digits.labels).float().mean().item()


def accuracy_vs_angle(model: nn.Module, digits: Digits, angles=DEFAULT_ANGLES, batch_size: int = EVAL_BATCH_SIZE,
                      device: str | torch.device | None = None, progress: bool = False,
                      desc: str = "angles") -> dict[float, float]:
    """The accuracy on ``digits`` all rotated by each angle (degrees, bilinear): ``{angle: accuracy}``.

    A P4CNN's curve repeats every 90 degrees exactly; a planar CNN trained upright falls away
    from 0 degrees.
    """
    curve = {}
    for angle in tqdm(list(angles), desc=desc, disable=not progress, leave=False, unit="angle"):
        turned = Digits(rotate(digits.images, float(angle)), digits.labels, digits.name)
        curve[float(angle)] = evaluate(model, turned, batch_size, device)
    return curve


# --------------------------------------------------------------------------------------------
# gcnn-edu train
# --------------------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("--model", nargs="+", type=one_of(MODELS, "model"), default=["z2cnn", "p4cnn"],
                        metavar="NAME", help=f"one or more of: {', '.join(MODELS)} (default: z2cnn p4cnn)")
    parser.add_argument("--train-data", type=data_source(DATASETS), default="rotated", metavar="DATA",
                        help=f"{', '.join(DATASETS)}, or an MNIST-rot .amat file (default: rotated)")
    parser.add_argument("--test-data", type=data_source(DATASETS), default="rotated", metavar="DATA",
                        help=f"{', '.join(DATASETS)}, or an MNIST-rot .amat file (default: rotated)")
    parser.add_argument("--epochs", type=positive_int, default=10,
                        help="epochs in all, counting resumed ones (default: 10)")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--lr", type=positive_float, default=3e-3, help="Adam's learning rate (default: 0.003)")
    parser.add_argument("--lr-decay", type=positive_float, default=0.8,
                        help="learning-rate factor per epoch (default: 0.8)")
    parser.add_argument("--train-digits", type=positive_int, default=None, help="use only this many training digits")
    parser.add_argument("--test-digits", type=positive_int, default=None, help="use only this many test digits")
    parser.add_argument("--seed", type=random_seed, default=0, help="seed of the split, the rotations and the training")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--angle-step", type=positive_float, default=15.0,
                        help="degrees between the test angles of the accuracy curve (default: 15)")
    parser.add_argument("--out", default="runs/train", help="output folder (default: runs/train)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoints in --out")


def _named_data(name: str, split_role: str, seed: int) -> Digits:
    if name in DATASETS:
        train, test = digit_sets(name, name, seed=seed)
        return train if split_role == "train" else test
    if name.endswith(".amat"):
        try:
            return load_amat(name)
        except (OSError, ValueError) as error:  # load_amat names the file, the line and the fix
            raise GcnnEduError(f"{split_role} data: {error}") from None
    raise GcnnEduError(f"unknown {split_role} data {name!r}: expected one of {', '.join(DATASETS)} "
                       "or the path of an MNIST-rot .amat file")


def run(args) -> int:
    names = list(dict.fromkeys(args.model))  # checked and lower-cased by argparse; each once
    device = resolve_device(args.device)
    out = check_writable(args.out)
    train_set = _named_data(args.train_data, "train", args.seed).subset(args.train_digits)
    test_set = _named_data(args.test_data, "test", args.seed).subset(args.test_digits)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"training {', '.join(names)} on {len(train_set)} {args.train_data} digits, testing on "
          f"{len(test_set)} {args.test_data} digits, {device}, {torch.get_num_threads()} threads")
    upright_test = digit_sets("upright", "upright", seed=args.seed)[1].subset(args.test_digits)  # for the curve
    angles = [float(a) for a in torch.arange(0, 360 + 1e-9, args.angle_step)]
    metrics = {"train_data": args.train_data, "test_data": args.test_data, "models": {}}
    for name in names:
        torch.manual_seed(args.seed)  # the same initial weights on every run
        model = build_model(name)
        folder = check_writable(out / name)
        history = train(model, train_set, test_set, epochs=args.epochs, batch_size=args.batch_size,
                        lr=args.lr, lr_decay=args.lr_decay, seed=args.seed, device=device,
                        checkpoint=folder / "checkpoint.pt", resume=args.resume, model_name=name)
        curve = accuracy_vs_angle(model, upright_test, angles, device=device, progress=True, desc=f"{name} angles")
        metrics["models"][name] = {"parameters": count_parameters(model), "history": history,
                                   "test_accuracy": history["test_accuracy"][-1] if history["epoch"] else None,
                                   "accuracy_vs_angle": {str(a): acc for a, acc in curve.items()}}
        print(f"{name}: {count_parameters(model):,} parameters, test accuracy "
              f"{100 * evaluate(model, test_set, device=device):.2f} %")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    curves = {f"{name} ({m['parameters']:,} parameters)": {float(a): acc for a, acc in m["accuracy_vs_angle"].items()}
              for name, m in metrics["models"].items()}
    plot = plot_accuracy_vs_angle(curves, out / "accuracy_vs_angle.png",
                                  title=f"Trained on {args.train_data} digits, tested on {args.test_data} digits")
    print(f"wrote {out / 'metrics.json'} and {plot}")
    return 0
