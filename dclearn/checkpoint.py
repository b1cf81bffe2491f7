"""Checkpoints: of single models (``save_checkpoint``) and of long fits (``checkpointing``).

A fit under ``checkpointing(folder, every_s)`` (or with ``DCLEARN_CHECKPOINT_DIR`` and
``DCLEARN_CHECKPOINT_EVERY`` set) saves the state of its training phases to
``folder/<Estimator>.pt``; a later fit with the same settings and data resumes from it.
This module holds the settings (``CHECKPOINTS``), the file of the fit in progress
(``_CheckpointFile``: what it read, what it writes, atomically), the checks that refuse the
file of another fit, and the capture and restoration of training states and RNG states.
The epoch loop that calls it (``train.train_epochs``) and the span of a fit that opens the
file (``train.checkpointed_fit``) live in ``dclearn.train``; this module imports nothing
from dclearn.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import warnings
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "save_checkpoint", "load_checkpoint", "CheckpointWarning", "CHECKPOINTS", "checkpointing",
    "open_fit_file", "warn_unsaved", "load_state", "set_rng_state",
]


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


# --- checkpoints of long fits -----------------------------------------------------------
class CheckpointWarning(UserWarning):
    """A fit under ``checkpointing`` has phases whose state it cannot save."""


class _Checkpoints:
    """Where and how often fits save checkpoints, and the file of the fit in progress."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.every_s: float | None = None
        self.current: _CheckpointFile | None = None
        self.depth = 0

    def settings(self) -> tuple[Path | None, float]:
        """(folder, interval in seconds): ``checkpointing``'s, else the environment's."""
        folder = self.folder
        if folder is None and os.environ.get("DCLEARN_CHECKPOINT_DIR"):
            folder = Path(os.environ["DCLEARN_CHECKPOINT_DIR"])
        every = self.every_s
        if every is None:
            raw = os.environ.get("DCLEARN_CHECKPOINT_EVERY", "300")
            try:
                every = float(raw)
            except ValueError:
                raise ValueError(f"DCLEARN_CHECKPOINT_EVERY must be a number of seconds, got "
                                 f"{raw!r}.") from None
        return folder, every


CHECKPOINTS = _Checkpoints()


@contextlib.contextmanager
def checkpointing(folder: str | os.PathLike, every_s: float = 300.0):
    """Fits inside the block save their training state under ``folder`` and resume from it.

    Every ``every_s`` seconds of training (0: after every epoch) and at the end of each
    phase, a fit writes ``folder/<Estimator>.pt``; a fit of the same estimator with the same
    settings and data that finds the file goes on from it, and deletes it when it ends
    normally. The environment variables ``DCLEARN_CHECKPOINT_DIR`` and
    ``DCLEARN_CHECKPOINT_EVERY`` give the same setting outside such a block.
    """
    every_s = float(every_s)
    if not every_s >= 0:
        raise ValueError(f"every_s must be a number of seconds >= 0, got {every_s!r}.")
    prev = CHECKPOINTS.folder, CHECKPOINTS.every_s
    CHECKPOINTS.folder, CHECKPOINTS.every_s = Path(folder), every_s
    try:
        yield CHECKPOINTS
    finally:
        CHECKPOINTS.folder, CHECKPOINTS.every_s = prev


_FORMAT = 1


class _CheckpointFile:
    """The checkpoint file of one fit: what it read at the start and what it writes."""

    def __init__(self, path: Path, every_s: float, meta: dict, saved: dict,
                 earlier: tuple[float, float] = (0.0, 0.0)) -> None:
        self.path, self.every_s, self.meta, self.saved = path, every_s, meta, saved
        # wall-clock and CPU seconds that the runs this fit resumes had trained up to their
        # last save; this run's are added from the moment it opened the file
        self.earlier = (float(earlier[0]), float(earlier[1]))
        self.opened = (time.monotonic(), time.process_time())
        self.records: dict[str, dict] = {}
        self.counts: dict[str, int] = {}
        self.unsaved: list[str] = []
        self.last = time.monotonic()
        self.seed: int | None = meta.get("seed")

    def next_key(self, desc: str) -> str:
        """``desc`` plus how many phases of that name ran before it in this fit."""
        n = self.counts.get(desc, 0)
        self.counts[desc] = n + 1
        return f"{desc} #{n}"

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s

    def save(self, key: str, state: dict, history: list, epoch: int, n_epochs: int,
             done: bool) -> None:
        self.records[key] = {"state": _state_of(state), "rng": _rng_state(),
                             "history": _plain(history), "epoch": int(epoch),
                             "n_epochs": int(n_epochs), "done": bool(done)}
        blob = {**self.meta, "seed": self.seed, "phases": self.records,
                "seconds": self.earlier[0] + time.monotonic() - self.opened[0],
                "cpu_seconds": self.earlier[1] + time.process_time() - self.opened[1]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save(blob, tmp)
        os.replace(tmp, self.path)
        self.last = time.monotonic()


def open_fit_file(folder: str | os.PathLike, every_s: float, name: str, settings: dict,
                  data: str) -> _CheckpointFile:
    """The checkpoint file of one fit of ``name``: read back when it exists, checked first.

    ``settings`` (the estimator's parameters) and ``data`` (a fingerprint of X) are saved
    with the state; a file saved with other settings or data raises ``ValueError`` naming
    the difference instead of being used.
    """
    path = Path(folder) / f"{name}.pt"
    meta = {"format": _FORMAT, "estimator": name,
            "settings": json.dumps(settings, sort_keys=True, default=repr), "data": data}
    saved: dict = {}
    seed = None
    earlier = (0.0, 0.0)
    if path.exists():
        blob = _read_checkpoint(path)
        _check_same_fit(path, blob, meta)
        saved, seed = blob["phases"], blob.get("seed")
        earlier = (float(blob.get("seconds", 0.0)), float(blob.get("cpu_seconds", 0.0)))
    return _CheckpointFile(path, every_s, {**meta, "seed": seed}, saved, earlier)


def _read_checkpoint(path: Path) -> dict:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"checkpoint {path} could not be read ({type(exc).__name__}: {exc}). "
                         f"Delete it to train from the start.") from None
    if not isinstance(blob, dict) or blob.get("format") != _FORMAT or "phases" not in blob:
        raise ValueError(f"{path} is not a dclearn checkpoint of format {_FORMAT}. Delete it "
                         f"or choose another checkpoint folder.")
    return blob


def _check_same_fit(path: Path, blob: dict, meta: dict) -> None:
    problems = []
    if blob.get("estimator") != meta["estimator"]:
        problems.append(f"it was saved by {blob.get('estimator')!r}, not {meta['estimator']!r}")
    saved_s, now_s = json.loads(blob.get("settings", "{}")), json.loads(meta["settings"])
    for k in sorted(set(saved_s) | set(now_s)):
        if saved_s.get(k, "<absent>") != now_s.get(k, "<absent>"):
            problems.append(f"{k}: saved {saved_s.get(k, '<absent>')!r}, now "
                            f"{now_s.get(k, '<absent>')!r}")
    if blob.get("data") != meta["data"]:
        problems.append(f"the data differ (fingerprint saved {str(blob.get('data'))[:12]}..., "
                        f"now {meta['data'][:12]}...)")
    if problems:
        raise ValueError(
            f"checkpoint {path} belongs to another fit: " + "; ".join(problems) + ". Fit with "
            "the saved settings and data to resume it, or delete the file (or use another "
            "checkpoint folder) to train from the start.")


def warn_unsaved(name: str, ckfile: _CheckpointFile) -> None:
    """Warn that a fit ended with phases (or all of its training) left out of its file."""
    if not ckfile.counts:
        msg = (f"{name} does not train through dclearn's epoch loop, so it saved no "
               f"checkpoint: a stopped fit starts again from the beginning.")
    else:
        phases = ", ".join(dict.fromkeys(ckfile.unsaved))
        msg = (f"{name} does not support checkpoints in the phase(s) {phases}: their state "
               f"is not saved, so a resumed fit trains them again from their start.")
    warnings.warn(msg, CheckpointWarning, stacklevel=4)


def _plain(value):
    """``value`` with numpy scalars and arrays made into what ``weights_only`` loads."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    return value


def _state_of(state: dict) -> dict:
    out = {}
    for name, obj in state.items():
        if obj is None:
            out[name] = None
        elif isinstance(obj, torch.Generator):
            out[name] = obj.get_state()
        elif isinstance(obj, torch.Tensor):
            out[name] = obj.detach().clone()
        elif hasattr(obj, "state_dict"):
            out[name] = _plain(obj.state_dict())
        elif isinstance(obj, dict):
            out[name] = _plain(obj)
        else:
            raise TypeError(f"cannot save the training state {name!r} of type "
                            f"{type(obj).__name__}.")
    return out


def load_state(state: dict, saved: dict) -> None:
    """Put the values ``_state_of`` saved back into the objects of ``state``, in place."""
    for name, obj in state.items():
        value = saved.get(name)
        if obj is None:
            continue
        if isinstance(obj, torch.Generator):
            obj.set_state(value)
        elif isinstance(obj, torch.Tensor):
            with torch.no_grad():
                obj.copy_(value)
        elif hasattr(obj, "load_state_dict"):
            obj.load_state_dict(_to_device_like(obj, value))
        else:
            obj.clear()
            obj.update(_to_device_like(obj, value))


def _to_device_like(obj, value):
    """Modules load CPU tensors themselves; plain dicts of tensors go to the tensors' device."""
    if isinstance(obj, dict):
        dev = next((v.device for v in obj.values() if isinstance(v, torch.Tensor)), None)
        return {k: (v.to(dev) if dev is not None and isinstance(v, torch.Tensor) else v)
                for k, v in value.items()}
    return value


def _rng_state() -> dict:
    keys, pos, has_gauss, cached = np.random.get_state()[1:]
    version, inner, gauss = random.getstate()
    out = {"torch": torch.get_rng_state(),
           "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                     "has_gauss": int(has_gauss), "cached": float(cached)},
           "python": {"version": int(version), "state": list(inner), "gauss": gauss},
           "cuda": (torch.cuda.get_rng_state_all() if torch.cuda.is_available()
                    and torch.cuda.is_initialized() else [])}
    return out


def set_rng_state(rng: dict) -> None:
    """Restore the RNG states that ``_rng_state`` captured (torch, numpy, Python, CUDA)."""
    torch.set_rng_state(rng["torch"])
    nps = rng["numpy"]
    np.random.set_state(("MT19937", nps["keys"].numpy().astype(np.uint32), nps["pos"],
                         nps["has_gauss"], nps["cached"]))
    py = rng["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
