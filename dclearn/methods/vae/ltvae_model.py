"""LTVAE's inference and generation, once fitted: facet posteriors, labels, samples.

``_FacetModelMixin`` gives ``ltvae.LTVAE`` (taught in notebook 03) its methods beyond
fitting, all from the latent tree prior in ``ltvae_tree.py``: the facets' posteriors
``p(y_b | z)`` at the posterior mean, the ELBO per sample, and ancestral sampling from
the tree with one facet's state clamped (the grids of notebook 03, in the spirit of the
survey's Figure 5). The estimator itself is in ``ltvae.py``.
"""

from __future__ import annotations

import numpy as np
import torch

from ...train import make_generator
from ..base import _to_numpy_labels
from .ltvae_tree import ltvae_kl
from .vae import log_likelihood

__all__ = ["_FacetModelMixin"]


class _FacetModelMixin:
    """Inference and sampling of a fitted LTVAE (``net_``, ``prior_``, ``facet_groups_``...)."""

    def _facet_posteriors(self, X: torch.Tensor) -> list[torch.Tensor]:
        """``p(y_b | z = m(x))`` for every facet, each (N, K_b)."""
        self.net_.eval()
        mu = self._encode_mean(X)
        with torch.inference_mode():
            return self.prior_.posteriors(mu)

    def _predict(self, X):
        return self._facet_posteriors(X)[int(self.facet)].argmax(1)

    def predict(self, X, facet: int | None = None) -> np.ndarray:
        """Cluster labels of new samples on facet ``facet`` (default: the ``facet`` parameter)."""
        return self.predict_proba(X, facet).argmax(1).astype(np.int64)

    def predict_proba(self, X, facet: int | None = None) -> np.ndarray:
        """Posterior ``p(y_b | z = m(x))`` (N, K_b) of facet ``b = facet`` (numpy)."""
        Xt = self._check_fitted_input(X)
        b = self._check_facet(self.facet if facet is None else facet, len(self.facet_groups_))
        return self._facet_posteriors(Xt)[b].float().cpu().numpy()

    def predict_facets(self, X) -> list[np.ndarray]:
        """Labels of new samples on every facet: a list of B int64 arrays."""
        Xt = self._check_fitted_input(X)
        return [_to_numpy_labels(p.argmax(1)) for p in self._facet_posteriors(Xt)]

    def score_samples(self, X) -> np.ndarray:
        """The ELBO bound per sample (nats) with the analytic cross term and the mean decoding
        replaced by one reparameterised sample (seed 0)."""
        Xt = self._check_fitted_input(X)
        g = make_generator(0, self.device_)
        self.net_.eval()
        with torch.inference_mode():
            out, _, mu, logvar = self.net_(Xt, g)
            return (log_likelihood(Xt, out, self.likelihood)
                    - ltvae_kl(mu, logvar, self.prior_)).cpu().numpy()

    # --- generation -------------------------------------------------------------------------
    def sample(self, n: int, facet: int | None = None, cluster: int | None = None,
               random_state: int | None = None) -> np.ndarray:
        """Draw ``n`` images (numpy, the input's shape, decoder means) from the tree prior.

        With ``facet=b`` and ``cluster=c`` the facet's state is clamped, ``Y_b = c``, and the
        other ``Y``'s are drawn from the tree given it (``p(y_1 | y_b = c)`` for the root,
        then the CPTs), so the images vary in every facet but ``b``.
        """
        self._check_fitted()
        if isinstance(n, bool) or int(n) != n or int(n) < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        n = int(n)
        prior = self.prior_
        if (facet is None) != (cluster is None):
            raise ValueError("give both facet and cluster, or neither.")
        if facet is not None:
            facet = self._check_facet(facet, len(prior.ks))
            kb = prior.ks[facet]
            if isinstance(cluster, bool) or int(cluster) != cluster or not 0 <= int(cluster) < kb:
                raise ValueError(f"cluster must be an integer in [0, {kb}) for facet {facet}, "
                                 f"got {cluster!r}.")
            cluster = int(cluster)
        g = make_generator(0 if random_state is None else int(random_state), "cpu")
        with torch.inference_mode():
            log_root, log_cpts = prior.log_params()
            log_root = log_root.float().cpu()
            log_cpts = [c.float().cpu() for c in log_cpts]
            if facet == 0:
                y0 = torch.full((n,), cluster, dtype=torch.long)
            else:
                logits = log_root.clone()
                if facet is not None:  # condition the root on Y_b = c
                    logits = logits + log_cpts[facet - 1][:, cluster]
                y0 = torch.multinomial(torch.softmax(logits, 0), n, replacement=True,
                                       generator=g)
            ys = [y0]
            for b, cpt in enumerate(log_cpts, start=1):
                if b == facet:
                    ys.append(torch.full((n,), cluster, dtype=torch.long))
                else:
                    rows = cpt.exp()[y0] if cpt.shape[0] > 1 else cpt.exp().expand(n, -1)
                    ys.append(torch.multinomial(rows, 1, generator=g).squeeze(1))
            z = torch.empty(n, int(self.latent))
            for b, yb in enumerate(ys):
                m = prior.means[b].float().cpu()[yb]              # (n, d_b)
                s = (0.5 * prior.log_vars[b].float().cpu()[yb]).exp()
                eps = torch.randn(m.shape, generator=g)
                z[:, prior.index(b).cpu()] = m + s * eps
        return self._decode_mean(z.to(self.device_))

    def sample_grid(self, facet: int = 0, n_per_cluster: int = 8,
                    random_state: int | None = None) -> np.ndarray:
        """Images (K_b, n_per_cluster, *input_shape): row c is ``sample(..., facet, c)``."""
        self._check_fitted()
        b = self._check_facet(facet, len(self.prior_.ks))
        seed = 0 if random_state is None else int(random_state)
        return np.stack([self.sample(n_per_cluster, b, c, seed + c)
                         for c in range(self.prior_.ks[b])])

