"""An optional on-disk store for pretrained autoencoders (``DCLEARN_PRETRAIN_CACHE``).

``pretrain_autoencoder`` keeps its results in memory for the life of the process. A
paper-scale pretraining takes more than an hour on a CPU, and is lost with the process
when a long benchmark is stopped; with the environment variable
``DCLEARN_PRETRAIN_CACHE`` set to a folder, each result is also written there, named by a
hash of the same key as the in-memory cache (a fingerprint of the data, the whole
configuration, the seed and the device), and read back by the next process that asks
for the same pretraining. Unset (the default), nothing is written.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import nn

__all__ = ["store_path", "load_pretrained", "save_pretrained", "ENV_VAR"]

ENV_VAR = "DCLEARN_PRETRAIN_CACHE"


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
