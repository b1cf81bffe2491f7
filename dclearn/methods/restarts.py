"""Independent restarts of a whole fit, the one with the best training objective kept.

A likelihood model trained from a random start ends in one of many local optima; the
usual remedy, which scikit-learn's ``GaussianMixture(n_init=...)`` applies to EM, is to
fit several times from independent starts and keep the fit whose objective (there the
log-likelihood bound) is highest. ``RestartMixin`` does that for a whole deep fit:
pretraining, initialisation and training are repeated with independent seeds and the
estimator keeps the fitted state of the restart with the highest value of
``_restart_objective`` (for VaDE the mean ELBO of the training data). The labels are
never read.

A subclass sets ``n_restarts`` and implements ``_fit_once(X, seed) -> labels`` (which
sets the fitted attributes, ``history_`` included, from ``seed`` alone) and
``_restart_objective(X) -> float`` (higher is better). Restart 0 uses the estimator's
own seed, so ``n_restarts=1`` is exactly one fit.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..train import INTERRUPT

__all__ = ["RestartMixin", "restart_seed"]


def restart_seed(seed: int, restart: int) -> int:
    """The seed of restart ``restart``: ``seed`` itself for restart 0, else a hash of both."""
    if restart == 0:
        return int(seed)
    state = np.random.SeedSequence([int(seed), int(restart)]).generate_state(1)[0]
    return int(state % (2**31 - 1))


class RestartMixin:
    """``_fit`` as the best of ``n_restarts`` independent ``_fit_once`` runs (see above).

    Adds the fitted attributes ``restart_objectives_`` (one value per restart, in order)
    and ``best_restart_`` (the index kept). Warnings raised inside a restart (e.g. the
    collapse guard's) are replayed for the kept restart only.
    """

    def _check_restarts(self) -> None:
        r = self.n_restarts
        if isinstance(r, bool) or r is None or int(r) != r or int(r) < 1:
            raise ValueError(f"n_restarts must be a positive integer, got {r!r}.")

    def _fit(self, X, y):
        best_value, best_state, objectives = -np.inf, None, []
        for r in range(int(self.n_restarts)):
            self.history_ = []
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                labels = self._fit_once(X, restart_seed(self.seed_, r))
                value = float(self._restart_objective(X))
            objectives.append(value)
            if int(self.n_restarts) > 1 and self.verbose:
                print(f"{type(self).__name__} restart {r}: objective {value:.4f}")
            if best_state is None or value > best_value:
                # a shallow copy is enough: each restart binds new objects to the attributes
                best_value, best_state = value, (r, labels, dict(vars(self)), caught)
            if INTERRUPT.active:  # stopped by the user: no further restart
                break
        r, labels, state, caught = best_state
        vars(self).update(state)
        self.restart_objectives_, self.best_restart_ = objectives, r
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return labels
