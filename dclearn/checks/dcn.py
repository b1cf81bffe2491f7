"""Check for chapter 02's DCN: the running-mean centroid update (``dcn_centroid_update``)."""

from __future__ import annotations

import numpy as np
import torch

from ._base import _fail, _np, _passed, _same_shape

__all__ = ["check_dcn_centroid_update"]


# --- DCN --------------------------------------------------------------------------------------
def check_dcn_centroid_update(fn, n_cases: int = 10, seed: int = 0) -> None:
    """``fn(centroids, counts, z, assignments) -> (centroids, counts)``: DCN's centroid step.

    Some cases hold a cluster with no sample in the batch, and some a cluster whose count
    is 0 (never assigned before); the reference (``dcn.dcn_centroid_update``) leaves a
    centroid without samples where it is, and moves a count-0 centroid that receives
    samples onto their mean (its first step has size 1/1).
    """
    from ..methods.autoencoder.dcn import dcn_centroid_update

    what = "dcn_centroid_update"
    g = torch.Generator().manual_seed(seed)
    for case in range(n_cases):
        k, d, b = 4, 3, 12
        M = torch.randn(k, d, generator=g, dtype=torch.float64)
        counts = torch.randint(1, 20, (k,), generator=g).to(torch.float64)
        z = torch.randn(b, d, generator=g, dtype=torch.float64)
        s = torch.randint(0, k - (case % 2), (b,), generator=g)  # odd cases: k-1 gets none
        if case % 3 == 1:
            counts[k - 1] = 0.0  # never assigned before, and (odd case) none in this batch
        if case % 3 == 2:
            counts[0] = 0.0  # never assigned before, with samples in this batch
            s[0] = 0
        want_M, want_c = dcn_centroid_update(M.clone(), counts.clone(), z, s)
        out = fn(M.clone(), counts.clone(), z.clone(), s.clone())
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            _fail(what, "should return a pair (new_centroids, new_counts).")
        got_M, got_c = _np(out[0], "centroids", what), _np(out[1], "counts", what)
        _same_shape(got_c, want_c.numpy(), "counts", what)
        if not np.allclose(got_c, want_c.numpy()):
            _fail(what, "each count must grow by the number of samples assigned to that "
                        "cluster in the batch.")
        _same_shape(got_M, want_M.numpy(), "centroids", what)
        if not np.isfinite(got_M).all():
            bad = sorted(set(np.where(~np.isfinite(got_M))[0].tolist()))
            _fail(what, f"case {case}: centroid(s) {bad} became NaN or inf. A cluster with "
                        "count c_k = 0 and no sample in the batch divides 0 by 0: it has "
                        "nothing to average, so leave its centroid unchanged.")
        if not np.allclose(got_M, want_M.numpy(), atol=1e-6):
            empty = [j for j in range(k) if not (s == j).any()]
            moved = [j for j in empty if not np.allclose(got_M[j], M[j].numpy())]
            if moved:
                _fail(what, f"case {case}: centroid {moved[0]} has no sample in the batch but "
                            "moved; a centroid with no sample in the batch must not move.")
            fresh = [j for j in range(k) if counts[j] == 0 and (s == j).any()]
            if fresh and not np.allclose(got_M[fresh[0]], want_M[fresh[0]].numpy(), atol=1e-6):
                _fail(what, f"case {case}: cluster {fresh[0]} had count 0 and receives "
                            "samples: its first step is 1/c_k = 1/1, so it jumps onto its "
                            "first sample, and after the batch it sits at the mean of its "
                            "batch samples.")
            _fail(what, f"case {case}: centroids differ by up to "
                        f"{np.abs(got_M - want_M.numpy()).max():.3g}. With step 1/c_k (c_k "
                        "counted after adding the sample) the update is a running mean.")
    _passed(what, n_cases)
