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


# --- property-based: any array in, a float32 tensor or a named ValueError out -------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from dclearn._validation import check_distinct, check_unit_interval, count_distinct  # noqa: E402

_DTYPES = st.one_of(hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(),
                    hnp.boolean_dtypes(), hnp.complex_number_dtypes(),
                    hnp.unicode_string_dtypes(max_len=3), st.just(np.dtype(object)))
_SHAPES = hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4)
_ARRAYS = _DTYPES.flatmap(lambda dt: hnp.arrays(dt, _SHAPES))
_PROBLEMS = ("real numbers", "sparse", "must be 2-D", "0 samples", "0 feature", "NaN",
             "too large for float32", "could not be read")
_FAST = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])


def _valid(arr: np.ndarray) -> bool:
    """What as_tensor accepts: real numbers, 2-D or 4-D, samples and features, all finite."""
    if arr.dtype.kind not in "iuf" or arr.ndim not in (2, 4) or arr.size == 0:
        return False
    values = arr.astype(np.float64)
    return bool(np.isfinite(values).all() and np.isfinite(values.astype(np.float32)).all())


def _check(X, arr: np.ndarray) -> None:
    if _valid(arr):
        t = as_tensor(X)
        assert t.dtype == torch.float32 and tuple(t.shape) == arr.shape
        assert np.allclose(t.numpy(), arr.astype(np.float32), equal_nan=False)
    else:
        with pytest.raises(ValueError) as err:
            as_tensor(X)
        assert any(p in str(err.value) for p in _PROBLEMS), str(err.value)


@_FAST
@given(_ARRAYS)
def test_any_numpy_array_gives_a_tensor_or_a_named_value_error(arr):
    _check(arr, arr)


@_FAST
@given(_ARRAYS)
def test_the_same_holds_for_nested_lists(arr):
    if arr.dtype == object or arr.ndim == 0:
        return  # a list of Python objects is tested through the array above
    _check(arr.tolist(), np.asarray(arr.tolist()))


_TORCH = {np.dtype(d): t for d, t in [("float16", torch.float16), ("float32", torch.float32),
                                      ("float64", torch.float64), ("int8", torch.int8),
                                      ("int16", torch.int16), ("int32", torch.int32),
                                      ("int64", torch.int64), ("uint8", torch.uint8),
                                      ("bool", torch.bool), ("complex64", torch.complex64)]}


@_FAST
@given(st.sampled_from(sorted(_TORCH, key=str)).flatmap(lambda dt: hnp.arrays(dt, _SHAPES)))
def test_any_tensor_gives_a_tensor_or_a_named_value_error(arr):
    _check(torch.from_numpy(np.ascontiguousarray(arr)), arr)


@_FAST
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 30), st.integers(1, 4)),
                  elements=st.sampled_from([0.0, 1.0, 0.5, np.nan, np.inf, -np.inf])))
def test_nan_and_inf_are_counted(arr):
    n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    if n_nan + n_inf == 0:
        assert as_tensor(arr).shape == arr.shape
        return
    with pytest.raises(ValueError, match=f"contains {n_nan} NaN and {n_inf} infinite values"):
        as_tensor(arr)


@_FAST
@given(st.one_of(st.integers(-5, 40), st.floats(allow_nan=True), st.text(max_size=2),
                 st.booleans(), st.none()), st.integers(0, 30))
def test_n_clusters_is_an_integer_in_range_or_a_named_value_error(k, n):
    ok = isinstance(k, int) and not isinstance(k, bool) and n >= 2 and 2 <= k <= n
    if ok:
        assert check_n_clusters(k, n) == k
    else:
        with pytest.raises(ValueError, match="n_clusters|sample"):
            check_n_clusters(k, n)


@_FAST
@given(hnp.arrays(np.float32, st.tuples(st.integers(2, 25), st.integers(1, 3)),
                  elements=st.sampled_from([0.0, 1.0, 2.0])), st.integers(2, 6))
def test_distinct_samples_counted_exactly(arr, k):
    exact = len(np.unique(arr, axis=0))
    t = torch.from_numpy(arr)
    assert count_distinct(t) == exact
    assert count_distinct(t, at_least=k) >= min(exact, k)
    if exact < k:
        with pytest.raises(ValueError, match=f"n_samples distinct points \\({exact}\\)|identical"):
            check_distinct(t, k)
    else:
        assert check_distinct(t, k) >= k


@_FAST
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 10), st.integers(1, 4)),
                  elements=st.floats(-2, 2, width=32)))
def test_unit_interval(arr):
    t = torch.from_numpy(arr)
    if arr.min() >= 0 and arr.max() <= 1:
        check_unit_interval(t, "a test needs it")
    else:
        with pytest.raises(ValueError, match="must lie in \\[0, 1\\] because a test needs it"):
            check_unit_interval(t, "a test needs it")
