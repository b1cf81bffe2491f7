import numpy as np
import pytest
import torch

from dclearn._validation import as_tensor, check_n_clusters


def test_accepts_numpy_torch_and_images():
    a = as_tensor(np.ones((4, 3), dtype=np.float64))
    b = as_tensor(torch.ones(4, 1, 8, 8, dtype=torch.uint8))
    assert a.dtype == torch.float32 and a.shape == (4, 3)
    assert b.dtype == torch.float32 and b.shape == (4, 1, 8, 8)


@pytest.mark.parametrize("X,match", [
    (np.array([[1.0, np.nan], [0.0, 1.0]]), "1 NaN"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), "1 infinite"),
    (np.zeros((0, 3)), "0 samples"),
    (np.zeros((3, 0)), "0 feature"),
    (np.zeros(5), "must be 2-D"),
    (np.zeros((5, 8, 8)), "add a channel axis"),
    (np.array([["a", "b"]]), "real numbers"),
    (torch.zeros(3, 2, dtype=torch.bool), "real numbers"),
    (torch.zeros(3, 2, dtype=torch.complex64), "real numbers"),
])
def test_rejects_bad_input_with_named_problem(X, match):
    with pytest.raises(ValueError, match=match):
        as_tensor(X)


@pytest.mark.parametrize("k,match", [(1, r"\[2, n_samples=10\]"), (11, "got 11"),
                                     (2.5, "integer"), ("3", "integer"), (True, "integer")])
def test_n_clusters_range(k, match):
    with pytest.raises(ValueError, match=match):
        check_n_clusters(k, 10)
    assert check_n_clusters(np.int64(3), 10) == 3
