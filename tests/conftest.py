"""Shared fixtures: the embedded digits data and the MNIST root when it is configured."""

import os
from pathlib import Path

import pytest
import torch

from dclearn import load_dataset

# two threads on the 2-core CI machine, unless the caller pinned a count (OMP_NUM_THREADS=1 is
# much faster when other jobs share the cores: oversubscribed torch threads slow down badly)
if "OMP_NUM_THREADS" not in os.environ:
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="session")
def mnist_root():
    root = os.environ.get("DCLEARN_DATA")
    if not root or not (Path(root) / "MNIST" / "raw").is_dir():
        pytest.skip("DCLEARN_DATA is not set to a folder holding MNIST/raw/ (real MNIST files)")
    return root
