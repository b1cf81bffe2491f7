"""Check for chapter 02's DEC training loop (``check_dec_training_loop``).

It checks that the loop computes P over all the data at every update and holds it fixed,
and that it trains both the encoder and the centroids.
"""

from __future__ import annotations

import torch

from ._base import _fail, _np

__all__ = ["check_dec_training_loop"]


# --- DEC's training loop ----------------------------------------------------------------------
def check_dec_training_loop(fn, seed: int = 0) -> None:
    """``fn(X, encoder, centroids, q_fn, p_fn, kl_fn, n_updates, steps_per_update,
    batch_size, lr, generator) -> (centroids, kl_history)``: DEC's self-training loop.

    Runs the learner's loop on a small two-blob problem with instrumented versions of
    dclearn's q, p and KL, and checks what the loop does with them: P over the whole data
    at every update and held fixed, the encoder and the centroids both trained, the
    loss going down.
    """
    from ..methods.autoencoder.dec import (
        kl_clustering_loss,
        soft_assignment,
        target_distribution,
    )

    what = "dec_training_loop"
    g = torch.Generator().manual_seed(seed)
    n, d = 120, 5
    X = torch.cat([torch.randn(n // 2, d, generator=g) + 2.0,
                   torch.randn(n // 2, d, generator=g) - 2.0])
    torch.manual_seed(seed)
    encoder = torch.nn.Linear(d, 2)
    with torch.no_grad():
        centroids = encoder(X[[0, n - 1]]).clone()
    start_w = encoder.weight.detach().clone()
    start_c = centroids.clone()
    log = {"p_rows": [], "p_grad": False, "kl_p_grad": False, "kl_calls": 0, "P0": None,
           "last_mu": None, "train_mu": None, "stale": None}
    with torch.no_grad():
        q0 = soft_assignment(encoder(X), start_c)

    def q_fn(z, mu, *args, **kwargs):
        log["last_mu"] = mu  # the tensor itself: a trained Parameter shows its current values
        return soft_assignment(z, mu, *args, **kwargs)

    def p_fn(q):
        log["p_rows"].append(q.shape[0])
        log["p_grad"] = log["p_grad"] or q.requires_grad
        if log["train_mu"] is not None and log["stale"] is None and q.shape[0] == n:
            # after the first steps, P must come from the encoder and centroids as they are now
            with torch.no_grad():
                now = soft_assignment(encoder(X), log["train_mu"].detach())
            if not torch.allclose(q.detach().float(), now.float(), atol=1e-5):
                with torch.no_grad():
                    same_mu = soft_assignment(encoder(X), log["last_mu"].detach())
                log["stale"] = ("centroids" if torch.allclose(q.detach().float(),
                                                              same_mu.float(), atol=1e-5)
                                else "embedding")
        p = target_distribution(q)
        if log["P0"] is None:
            log["P0"] = p.detach().clone()
        return p

    def kl_fn(p, q):
        log["kl_calls"] += 1
        log["kl_p_grad"] = log["kl_p_grad"] or p.requires_grad
        log["train_mu"] = log["last_mu"]  # the centroids the training step used
        return kl_clustering_loss(p, q)

    n_updates, steps, bs = 4, 5, 16
    out = fn(X, encoder, centroids, q_fn, p_fn, kl_fn, n_updates=n_updates,
             steps_per_update=steps, batch_size=bs, lr=0.05,
             generator=torch.Generator().manual_seed(seed))
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        _fail(what, "should return a pair (centroids, kl_history).")
    new_c, history = out
    if len(log["p_rows"]) != n_updates:
        _fail(what, f"the target P was computed {len(log['p_rows'])} times for n_updates="
                    f"{n_updates}: compute it once per update, before its steps.")
    if any(r != n for r in log["p_rows"]):
        _fail(what, f"P was computed on {min(log['p_rows'])} points, not on all {n}: f_j is a "
                    "sum over the whole data set, so compute q for every point, then P, and "
                    "take the batch's rows of P afterwards.")
    if log["p_grad"] or log["kl_p_grad"]:
        _fail(what, "P carries a gradient: it is a fixed target between two updates, so "
                    "compute q and P under torch.no_grad() (or detach P).")
    if log["stale"] == "centroids":
        _fail(what, "P was computed from the centroids the loop started with, not from the "
                    "ones it trains: after the first update, q for the target must use the "
                    "trained centroids (the same tensor as in the training steps).")
    if log["stale"] == "embedding":
        _fail(what, "P was computed from an embedding of the data taken before training: "
                    "encode X again with the current encoder at every update (the target "
                    "follows the network as it learns).")
    if log["kl_calls"] != n_updates * steps:
        _fail(what, f"the loss was computed {log['kl_calls']} times; expected one per step, "
                    f"{n_updates} x {steps} = {n_updates * steps}.")
    if torch.allclose(encoder.weight.detach(), start_w):
        _fail(what, "the encoder's weights did not change: give its parameters to the "
                    "optimiser and step it after loss.backward().")
    new_c = torch.as_tensor(_np(new_c, "centroids", what))
    if new_c.shape != start_c.shape:
        _fail(what, f"centroids have shape {tuple(new_c.shape)}, expected {tuple(start_c.shape)}.")
    if torch.allclose(new_c.float(), start_c):
        _fail(what, "the centroids did not move: DEC optimises them together with the "
                    "encoder (make them an nn.Parameter given to the optimiser).")
    hist = _np(history, "kl_history", what).ravel()
    if hist.size != n_updates:
        _fail(what, f"kl_history has {hist.size} values; it should hold one mean loss per "
                    f"update ({n_updates}).")
    with torch.no_grad():
        P0 = log["P0"] if log["P0"].shape == q0.shape else target_distribution(q0)
        before = float(kl_clustering_loss(P0, q0))
        after = float(kl_clustering_loss(P0, soft_assignment(encoder(X), new_c.float())))
    if not after < before:
        _fail(what, f"KL(P || Q) against the first target went from {before:.4f} to "
                    f"{after:.4f} instead of down: is the optimiser descending the loss's "
                    "gradient (zero_grad, loss.backward(), step)?")
    print(f"OK: {what} recomputes P over all {n} points at each of the {n_updates} updates, "
          "holds it fixed, and trains the encoder and the centroids.")
