"""The caches of ``pretrain_autoencoder``: in memory, and optionally on disk.

In memory: the last few results, keyed by a cheap fingerprint of the data, the whole
configuration, the seed and the device, handed out as deep copies (DEC, IDEC and DCN
fitted in one notebook share one pretraining, and fine-tuning one never alters what
the next starts from).

On disk (``DCLEARN_PRETRAIN_CACHE``): a memory cache lives as long as its process. A
paper-scale pretraining takes more than an hour on a CPU, and is lost with the process
when a long benchmark is stopped; with the environment variable
``DCLEARN_PRETRAIN_CACHE`` set to a folder, each result is also written there, named by a
hash of the same key as the in-memory cache (a fingerprint of the data, the whole
configuration, the seed and the device), and read back by the next process that asks
for the same pretraining. Unset (the default), nothing is written.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

__all__ = ["fingerprint", "recall", "remember", "clear_pretrain_cache", "store_path",
           "load_pretrained", "save_pretrained", "ENV_VAR"]

ENV_VAR = "DCLEARN_PRETRAIN_CACHE"
_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


def fingerprint(X: torch.Tensor) -> str:
    """A cheap content hash: shape, dtype and a strided sample of at most 65,536 values."""
    flat = X.detach().reshape(-1)
    step = max(1, flat.numel() // 65536)
    sample = flat[::step].float().cpu().contiguous().numpy()
    h = hashlib.sha1(sample.tobytes())
    h.update(repr((tuple(X.shape), str(X.dtype), float(flat.double().sum()))).encode())
    return h.hexdigest()


def recall(key: tuple) -> tuple[nn.Module, nn.Module, list[dict]] | None:
    """Deep copies of the in-memory result for ``key``, or None."""
    if key not in _CACHE:
        return None
    _CACHE.move_to_end(key)
    enc, dec, hist = _CACHE[key]
    return copy.deepcopy(enc), copy.deepcopy(dec), copy.deepcopy(hist)


def remember(key: tuple, enc: nn.Module, dec: nn.Module, history: list[dict]) -> None:
    """Keep deep copies in memory (the least recently used dropped beyond 8)."""
    _CACHE[key] = (copy.deepcopy(enc), copy.deepcopy(dec), copy.deepcopy(history))
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)


def clear_pretrain_cache() -> None:
    """Forget every pretraining kept in memory (the next call trains again, or reads
    the disk store when ``DCLEARN_PRETRAIN_CACHE`` is set)."""
    _CACHE.clear()


def store_path(key: tuple) -> Path | None:
    """The file for ``key`` in the folder ``$DCLEARN_PRETRAIN_CACHE``, or None when unset."""
    folder = os.environ.get(ENV_VAR, "").strip()
    if not folder:
        return None
    root = Path(folder).expanduser()
    if root.exists() and not root.is_dir():
        raise ValueError(f"{ENV_VAR}={folder!r} is not a folder.")
    root.mkdir(parents=True, exist_ok=True)
    return root / f"ae-{hashlib.sha1(repr(key).encode()).hexdigest()[:20]}.pt"


def load_pretrained(path: Path, enc: nn.Module, dec: nn.Module) -> list[dict]:
    """Load the weights stored at ``path`` into ``enc`` and ``dec``; return the history."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    enc.load_state_dict(state["encoder"])
    dec.load_state_dict(state["decoder"])
    return list(state["history"])


def save_pretrained(path: Path, enc: nn.Module, dec: nn.Module, history: list[dict]) -> None:
    """Write ``enc``, ``dec`` and ``history`` to ``path`` (through a temporary file)."""
    tmp = path.with_suffix(".tmp")
    torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict(),
                "history": history}, tmp)
    os.replace(tmp, path)
