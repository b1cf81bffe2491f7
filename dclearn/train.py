"""Training utilities shared by every method: device, seeding, batches, loops, guards.

Taught in notebook 00 (setup) and used by every chapter. Data that fits in memory
lives on the device as one tensor; a batch is an index slice of a random
permutation, so there is no DataLoader and no per-sample Python in the hot loop.
The epoch loop saves and restores its phases through ``dclearn.checkpoint``;
``checkpointing`` is imported here as well, where notebooks and docs look for it.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterator

import numpy as np
import torch

from .checkpoint import (
    CHECKPOINTS,
    checkpointing,
    load_state,
    open_fit_file,
    set_rng_state,
    warn_unsaved,
)

__all__ = [
    "get_device", "seed_everything", "make_generator", "batch_indices", "minibatches",
    "autocast", "TrainingDivergedError", "check_finite", "EpochLog", "progress",
    "train_epochs", "predict_in_batches", "configure_backend", "adam", "flush_denormals",
    "INTERRUPT", "interruptible", "checkpointing", "checkpointed_fit", "BatchStream",
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
                 callback: Callable[[int, dict], bool | None] | None = None,
                 state: dict | None = None) -> list[dict]:
    """Run ``epoch_fn(epoch) -> dict of mean losses`` for ``n_epochs`` epochs.

    One progress bar for the phase with the losses in its postfix; every epoch's
    dict (plus ``phase`` and ``epoch``) is appended to ``history``; a NaN or inf
    loss stops training with ``TrainingDivergedError``. ``callback(epoch, entry)``
    may add entries (e.g. metrics) and returns True to stop early. Runs under
    ``flush_denormals()`` (faster CPU training, same results). Inside ``interruptible()``
    (every estimator's ``fit``), a KeyboardInterrupt ends the phase with an entry
    ``{"phase", "epoch", "interrupted": True}`` and skips the fit's later phases.

    ``state`` (name -> module, optimiser, scheduler, generator, ``BatchStream``, tensor or
    dict of plain values) is everything that the epochs change and later epochs or phases
    read. With it, a fit run under ``checkpointing`` saves the phase (every
    ``CHECKPOINTS.every_s`` seconds and when the phase ends) and a later fit with the same
    settings and data restores it: a finished phase is skipped, an unfinished one goes on
    from the epoch after the saved one. Without it the phase is not saved and reruns.
    """
    history = [] if history is None else history
    if INTERRUPT.active:  # an earlier phase of this fit was interrupted
        return history
    ck = CHECKPOINTS.current
    key, start, phase_hist = None, 0, []
    if ck is not None:
        key = ck.next_key(desc)
        if state is None:
            ck.unsaved.append(desc)
        else:
            rec = ck.saved.get(key)
            if rec is not None and rec["n_epochs"] == int(n_epochs):
                load_state(state, rec["state"])
                set_rng_state(rec["rng"])
                phase_hist = list(rec["history"])
                history.extend(phase_hist)
                ck.records[key] = rec
                if rec["done"]:
                    return history
                start = rec["epoch"] + 1
    epoch = start
    finished = False
    try:
        with progress(n_epochs, desc, verbose) as bar, flush_denormals():
            bar.update(start)
            for epoch in range(start, n_epochs):
                losses = epoch_fn(epoch)
                check_finite(losses, epoch, desc)
                entry = {"phase": desc, "epoch": epoch, **losses}
                stop = bool(callback(epoch, entry)) if callback is not None else False
                history.append(entry)
                phase_hist.append(entry)
                bar.set_postfix({k: f"{v:.4g}" for k, v in entry.items()
                                 if isinstance(v, float)}, refresh=False)
                bar.update(1)
                if stop:
                    break
                if key is not None and state is not None and ck.due():
                    ck.save(key, state, phase_hist, epoch, int(n_epochs), done=False)
            finished = True
    except KeyboardInterrupt:
        if INTERRUPT.depth == 0:
            raise
        INTERRUPT.phase, INTERRUPT.epoch = desc, epoch
        history.append({"phase": desc, "epoch": epoch, "interrupted": True})
    if finished and key is not None and state is not None:
        ck.save(key, state, phase_hist, epoch, int(n_epochs), done=True)
    return history


@torch.inference_mode()
def predict_in_batches(fn: Callable[[torch.Tensor], torch.Tensor], X: torch.Tensor,
                       batch_size: int = 4096) -> torch.Tensor:
    """Apply ``fn`` to ``X`` in large batches under inference mode and concatenate."""
    return torch.cat([fn(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)])


# --- batches a checkpoint can save, and the checkpoint of a fit ---------------------------
class BatchStream:
    """An endless stream of batches (index slices of fresh random permutations) that a
    checkpoint can save and restore in the middle of a permutation.

    ``next(stream)`` gives the same batches as ``while True: yield from batch_indices(n,
    batch_size, generator, device)``; ``state_dict`` records the generator's state before the
    current permutation and how many of its batches were taken, which is enough to rebuild
    it, and the generator's current state (the generator may serve other draws too).
    """

    def __init__(self, n: int, batch_size: int, generator: torch.Generator,
                 device: torch.device | str, drop_last: bool = False) -> None:
        self.n, self.batch_size, self.generator = int(n), int(batch_size), generator
        self.device, self.drop_last = device, drop_last
        self._it: Iterator[torch.Tensor] | None = None
        self._start: torch.Tensor | None = None
        self._taken = 0

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> torch.Tensor:
        while True:
            if self._it is None:
                self._start = self.generator.get_state()
                self._taken = 0
                self._it = batch_indices(self.n, self.batch_size, self.generator, self.device,
                                         drop_last=self.drop_last)
            try:
                idx = next(self._it)
            except StopIteration:
                self._it = None
                continue
            self._taken += 1
            return idx

    def state_dict(self) -> dict:
        out = {"generator": self.generator.get_state(), "active": self._it is not None}
        if self._it is not None:
            out.update(start=self._start.clone(), taken=self._taken)
        return out

    def load_state_dict(self, state: dict) -> None:
        self._it = None
        if state["active"]:
            self.generator.set_state(state["start"])
            next(self)  # draws the permutation and takes its first batch
            for _ in range(int(state["taken"]) - 1):
                next(self)
        # the generator as it was saved (others may have drawn from it since the permutation)
        self.generator.set_state(state["generator"])


@contextlib.contextmanager
def checkpointed_fit(name: str, settings: dict, data: str):
    """Open the checkpoint of one fit (``BaseClusterer.fit``); yields None when off.

    ``settings`` (the estimator's parameters) and ``data`` (a fingerprint of X) are saved
    with the state; a file saved with other settings or data raises ``ValueError`` naming
    the difference instead of being used. A fit inside another fit is part of the outer one.
    The file is deleted when the fit ends without an interrupt (``dclearn.checkpoint`` holds
    the file itself).
    """
    folder, every = CHECKPOINTS.settings()
    if folder is None or CHECKPOINTS.depth > 0:
        CHECKPOINTS.depth += 1
        try:
            yield None
        finally:
            CHECKPOINTS.depth -= 1
        return
    ckfile = open_fit_file(folder, every, name, settings, data)
    CHECKPOINTS.depth += 1
    CHECKPOINTS.current = ckfile
    try:
        yield ckfile
        if not INTERRUPT.active:
            ckfile.path.unlink(missing_ok=True)
            if ckfile.unsaved or not ckfile.counts:
                warn_unsaved(name, ckfile)
    finally:
        CHECKPOINTS.depth -= 1
        CHECKPOINTS.current = None
