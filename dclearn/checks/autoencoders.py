"""Checks for chapter 02 (autoencoders), gathered: DEC, IDEC, DCN and DEPICT, and ``use_solved``.

The checks live one module per method: ``dec.py`` (DEC's q, p and KL, the target without f,
IDEC's loss), ``dcn.py`` (the centroid update), ``depict.py`` (objective and targets) and
``dec_loop.py`` (DEC's training loop); this module imports and lists them, as the chapter's
notebooks use it (``from dclearn.checks import autoencoders as ae_checks``).

Each ``check_xxx`` compares a learner's function with dclearn's (or with the formula
it names) on random inputs, recognises the usual mistakes by computing them, and says
in words what differs. ``use_solved`` lets a notebook run on with the learner's
functions where they pass their checks and with the reference where they do not.
"""

from __future__ import annotations

import contextlib
import io
from types import SimpleNamespace

import torch

from .dcn import check_dcn_centroid_update
from .dec import (
    _kl_pq,
    check_idec_loss,
    check_kl_clustering_loss,
    check_soft_assignment,
    check_target_distribution,
    check_target_without_f,
)
from .dec_loop import check_dec_training_loop
from .depict import _depict_objective, check_depict_objective, check_depict_targets

__all__ = [
    "check_soft_assignment",
    "check_target_distribution",
    "check_kl_clustering_loss",
    "check_target_without_f",
    "check_idec_loss",
    "check_dcn_centroid_update",
    "check_depict_objective",
    "check_depict_targets",
    "check_dec_training_loop",
    "use_solved",
]


# --- running on with the solved functions -----------------------------------------------------
_CHECKS = {
    "soft_assignment": check_soft_assignment,
    "target_distribution": check_target_distribution,
    "kl_clustering_loss": check_kl_clustering_loss,
    "dcn_centroid_update": check_dcn_centroid_update,
    "idec_loss": check_idec_loss,
    "depict_objective": check_depict_objective,
    "depict_targets": check_depict_targets,
    "fit_dec": check_dec_training_loop,
}


def _idec_reference(x_hat, x, p, q, gamma=0.1):
    from ..methods.autoencoder.reconstruction import reconstruction_loss

    return reconstruction_loss(x_hat, x) + gamma * _kl_pq(p, q)


def _fit_dec_reference(X, encoder, centroids, q_fn, p_fn, kl_fn, n_updates=10,
                       steps_per_update=20, batch_size=64, lr=0.01, generator=None):
    mu = torch.nn.Parameter(centroids.detach().clone())
    opt = torch.optim.SGD(list(encoder.parameters()) + [mu], lr=lr, momentum=0.9)
    history = []
    for _ in range(n_updates):
        with torch.no_grad():
            P = p_fn(q_fn(encoder(X), mu))
        total = torch.zeros(())
        for _ in range(steps_per_update):
            idx = torch.randint(0, len(X), (batch_size,), generator=generator)
            loss = kl_fn(P[idx], q_fn(encoder(X[idx]), mu))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total = total + loss.detach().cpu()
        history.append(float(total) / steps_per_update)
    return mu.detach(), history


def _reference(name: str):
    from ..methods.autoencoder import dcn, dec
    from ..methods.autoencoder.depict_objective import balanced_target_distribution

    return {
        "soft_assignment": dec.soft_assignment,
        "target_distribution": dec.target_distribution,
        "kl_clustering_loss": dec.kl_clustering_loss,
        "dcn_centroid_update": dcn.dcn_centroid_update,
        "idec_loss": _idec_reference,
        "depict_objective": _depict_objective,
        "depict_targets": balanced_target_distribution,
        "fit_dec": _fit_dec_reference,
    }[name]


def use_solved(**functions) -> SimpleNamespace:
    """Your functions where they pass their checks, dclearn's where they do not.

    ``use_solved(soft_assignment=soft_assignment, ...)`` runs each function's check
    quietly and returns a namespace holding, under the same names, yours if it passes
    and the reference otherwise, printing which was taken.
    """
    chosen = {}
    for name, fn in functions.items():
        if name not in _CHECKS:
            raise ValueError(f"unknown exercise function {name!r}; known: {sorted(_CHECKS)}")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                _CHECKS[name](fn)
            chosen[name] = fn
            print(f"{name}: yours")
        except Exception:  # a failed check, the stub's NotImplementedError, any bug
            chosen[name] = _reference(name)
            print(f"{name}: dclearn's (yours does not pass its check yet)")
    return SimpleNamespace(**chosen)
