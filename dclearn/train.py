"""Training utilities shared by every method: device, seeding, batches, loops, guards.

Taught in notebook 00 (setup) and used by every chapter. Data that fits in memory
lives on the device as one tensor; a batch is an index slice of a random
permutation, so there is no DataLoader and no per-sample Python in the hot loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "get_device", "seed_everything", "make_generator", "batch_indices", "minibatches",
    "autocast", "TrainingDivergedError", "check_finite", "EpochLog", "progress",
    "train_epochs", "predict_in_batches", "save_checkpoint", "load_checkpoint",
    "configure_backend", "adam", "flush_denormals", "INTERRUPT", "interruptible",
]


def get_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; other names are checked and returned."""
    if isinstance(device, torch.device):
        return device
    name = str(device).lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} asked for, but CUDA is not available here.")
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError("device='mps' asked for, but MPS is not available here.")
    if not (name == "cpu" or name == "mps" or name.startswith("cuda")):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'mps', got {device!r}.")
    return torch.device(name)


def configure_backend(device: torch.device) -> None:
    """Fast defaults for the device (cudnn autotuning and TF32 on CUDA)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def adam(params, lr: float, **kwargs) -> torch.optim.Adam:
    """Adam with the fused kernel where torch has one (CPU and CUDA, float32 weights).

    One fused update instead of a dozen elementwise passes: on the course's CPU the
    optimiser step of a small MLP drops from about 1.2 ms to 0.45 ms (measured), which
    is a third of a pretraining step. Falls back to the multi-tensor (``foreach``)
    implementation on other devices (MPS) and dtypes.
    """
    params = list(params)
    fusable = all(
        (p["params"] if isinstance(p, dict) else [p]) and all(
            t.dtype == torch.float32 and t.device.type in ("cpu", "cuda")
            for t in (p["params"] if isinstance(p, dict) else [p]))
        for p in params)
    if fusable:
        return torch.optim.Adam(params, lr=lr, fused=True, **kwargs)
    return torch.optim.Adam(params, lr=lr, foreach=True, **kwargs)


def seed_everything(seed: int | None) -> int:
    """Seed Python, numpy and torch (all devices); returns the seed used."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    return seed


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator for ``device`` seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(int(seed))


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu", shuffle: bool = True,
                  drop_last: bool = False) -> Iterator[torch.Tensor]:
    """Index tensors of one epoch: slices of a random permutation of ``range(n)``."""
    if shuffle:
        gdev = generator.device if generator is not None else device
        order = torch.randperm(n, generator=generator, device=gdev).to(device)
    else:
        order = torch.arange(n, device=device)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def minibatches(*tensors: torch.Tensor, batch_size: int,
                generator: torch.Generator | None = None,
                shuffle: bool = True) -> Iterator[tuple[torch.Tensor, ...]]:
    """Shuffled batches of on-device tensors sharing their first axis."""
    n = tensors[0].shape[0]
    for idx in batch_indices(n, batch_size, generator, tensors[0].device, shuffle):
        yield tuple(t[idx] for t in tensors)


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA; a no-op context elsewhere (CPU training stays float32)."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class TrainingDivergedError(FloatingPointError):
    """A loss became NaN or infinite; the message names the phase, epoch and loss."""


def check_finite(losses: dict, epoch: int, phase: str = "training") -> None:
    """Raise ``TrainingDivergedError`` if any value in ``losses`` is NaN or inf."""
    bad = {k: v for k, v in losses.items() if not np.isfinite(v)}
    if bad:
        names = ", ".join(f"{k}={v}" for k, v in bad.items())
        raise TrainingDivergedError(
            f"{phase}: loss became non-finite at epoch {epoch} ({names}). Try a smaller "
            f"learning rate, check the input scaling, or change the seed."
        )


class EpochLog:
    """Sums losses over the batches of one epoch without syncing the device per batch.

    ``add(name=tensor, ...)`` keeps detached running sums on the device; ``means()``
    moves them to the CPU once, at the end of the epoch.
    """

    def __init__(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0

    def add(self, **losses: torch.Tensor) -> None:
        for k, v in losses.items():
            v = v.detach().float()
            self._sums[k] = self._sums[k] + v if k in self._sums else v
        self._count += 1

    def means(self) -> dict[str, float]:
        if not self._sums:
            return {}
        stacked = torch.stack(list(self._sums.values())).cpu() / max(self._count, 1)
        return dict(zip(self._sums.keys(), stacked.tolist()))


def progress(total: int, desc: str, verbose: bool = True):
    """A tqdm.auto progress bar (a widget in Jupyter, text in a terminal); silent if not verbose."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not verbose, leave=True, dynamic_ncols=True)


@contextlib.contextmanager
def flush_denormals():
    """Treat denormal (subnormal) floats as zero on the CPU while the block runs.

    Late in training, weights and gradients of small networks produce values below
    1e-38 whose arithmetic is slow on x86 CPUs: measured on the course machine, 200
    pretraining epochs of the chapter-02 autoencoder take 17.0 s with denormals and
    11.5 s without, with the same losses to every printed digit. Restores torch's
    default (off) on exit; no effect on GPUs.
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


class _Interrupt:
    """Where a fit was stopped by the user (KeyboardInterrupt, a notebook's stop button).

    ``interruptible()`` opens a fit: inside it, ``train_epochs`` catches the interrupt,
    records the phase and epoch here, and returns; every later ``train_epochs`` of the same
    fit returns at once, so the estimator finishes with the networks as they are. Outside
    a fit (set-up, validation, a direct call) the interrupt propagates as usual.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.phase: str | None = None
        self.epoch: int | None = None

    @property
    def active(self) -> bool:
        """True once training in the current fit was interrupted."""
        return self.phase is not None


INTERRUPT = _Interrupt()


@contextlib.contextmanager
def interruptible():
    """The span of one fit in which an interrupt stops training instead of the program.

    Yields the shared ``INTERRUPT`` state; the outermost span resets it on entry.
    """
    if INTERRUPT.depth == 0:
        INTERRUPT.phase = INTERRUPT.epoch = None
    INTERRUPT.depth += 1
    try:
        yield INTERRUPT
    finally:
        INTERRUPT.depth -= 1


def train_epochs(epoch_fn: Callable[[int], dict], n_epochs: int, *, desc: str = "training",
                 verbose: bool = True, history: list | None = None,
                 callback: Callable[[int, dict], bool | None] | None = None) -> list[dict]:
    """Run ``epoch_fn(epoch) -> dict of mean losses`` for ``n_epochs`` epochs.

    One progress bar for the phase with the losses in its postfix; every epoch's
    dict (plus ``phase`` and ``epoch``) is appended to ``history``; a NaN or inf
    loss stops training with ``TrainingDivergedError``. ``callback(epoch, entry)``
    may add entries (e.g. metrics) and returns True to stop early. Runs under
    ``flush_denormals()`` (faster CPU training, same results). Inside ``interruptible()``
    (every estimator's ``fit``), a KeyboardInterrupt ends the phase with an entry
    ``{"phase", "epoch", "interrupted": True}`` and skips the fit's later phases.
    """
    history = [] if history is None else history
    if INTERRUPT.active:  # an earlier phase of this fit was interrupted
        return history
    epoch = 0
    try:
        with progress(n_epochs, desc, verbose) as bar, flush_denormals():
            for epoch in range(n_epochs):
                losses = epoch_fn(epoch)
                check_finite(losses, epoch, desc)
                entry = {"phase": desc, "epoch": epoch, **losses}
                stop = bool(callback(epoch, entry)) if callback is not None else False
                history.append(entry)
                bar.set_postfix({k: f"{v:.4g}" for k, v in entry.items()
                                 if isinstance(v, float)}, refresh=False)
                bar.update(1)
                if stop:
                    break
    except KeyboardInterrupt:
        if INTERRUPT.depth == 0:
            raise
        INTERRUPT.phase, INTERRUPT.epoch = desc, epoch
        history.append({"phase": desc, "epoch": epoch, "interrupted": True})
    return history


@torch.inference_mode()
def predict_in_batches(fn: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor,
                       batch_size: int = 4096) -> torch.Tensor:
    """Apply ``fn`` to ``X`` in large batches under inference mode and concatenate."""
    return torch.cat([fn(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)])


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, config: dict) -> Path:
    """Write ``model.state_dict()`` to ``path`` (.pt) and ``config`` next to it (.json)."""
    path = Path(path).with_suffix(".pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    path.with_suffix(".json").write_text(json.dumps(config, indent=2, sort_keys=True,
                                                    default=str))
    return path


def load_checkpoint(path: str | os.PathLike, model: torch.nn.Module, config: dict,
                    map_location: str | torch.device = "cpu") -> torch.nn.Module:
    """Load weights saved by ``save_checkpoint`` into ``model`` if ``config`` matches.

    The saved JSON config is compared with ``config`` first, so weights of another
    architecture or dataset give a ``ValueError`` that lists what differs. The
    tensors are read with ``weights_only=True`` (no pickled code is executed).
    """
    path = Path(path).with_suffix(".pt")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}.")
    cfg_path = path.with_suffix(".json")
    if not cfg_path.is_file():
        raise FileNotFoundError(f"checkpoint {path} has no config file {cfg_path}.")
    saved = json.loads(cfg_path.read_text())
    wanted = json.loads(json.dumps(config, sort_keys=True, default=str))
    if saved != wanted:
        keys = sorted(set(saved) | set(wanted))
        diff = [f"{k}: saved {saved.get(k)!r}, wanted {wanted.get(k)!r}"
                for k in keys if saved.get(k) != wanted.get(k)]
        raise ValueError(f"checkpoint {path} was saved with another config: "
                         + "; ".join(diff))
    state = torch.load(path, map_location=map_location, weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"checkpoint {path} does not fit the model: {exc}") from None
    return model
