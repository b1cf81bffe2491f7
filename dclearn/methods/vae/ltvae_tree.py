"""The latent tree model of LTVAE (Li, Chen, Poon and Zhang, ICLR 2019): prior and ELBO term.

Used by ``ltvae.LTVAE`` (taught in notebook 03). The VAE's latent vector is split into
facets ``z = (z_1, ..., z_B)``, each with a discrete cluster variable ``Y_b``.

Generative model (the paper's section 3.1, eqs. 1-2; here with diagonal Gaussians;
equation numbers as in the ICLR 2019 OpenReview text)::

    p(y_1, ..., y_B) = p(y_1) prod_{b > 1} p(y_b | y_1)          (a star tree rooted at Y_1)
    p(z_b | y_b)     = N(z_b | mu_{b, y_b}, diag sigma^2_{b, y_b})  (one GMM per facet)
    p(x | z)         = decoder (Bernoulli logits or Gaussian means), as in the VAE

so the prior on ``z`` is the latent tree model marginal (the paper's eq. 2 on a star tree)

    p_tree(z) = sum_{y_1} p(y_1) N(z_1 | y_1) prod_{b>1} sum_{y_b} p(y_b | y_1) N(z_b | y_b).

It is computed exactly by message passing (``tree_log_marginal``): each leaf facet
sends ``m_b(y_1) = log sum_{y_b} p(y_b | y_1) N(z_b | y_b)`` to the root, and
``log p_tree(z) = logsumexp_{y_1}(log p(y_1) + log N(z_1 | y_1) + sum_b m_b(y_1))``.
The posteriors ``p(y_b | z)`` (the facets' soft clusterings) come from the same
messages (``tree_posteriors``), as at the end of the paper's section 3.1; they are the
weights of the gradient of ``log p_tree(z)`` with respect to ``z_b`` (eq. 6), which
autograd computes here. ``tree="forest"`` makes the ``Y``'s independent
(``p(y_b | y_1) = p(y_b)``, one CPT row), i.e. the facets are independent GMM priors.
With one facet the model is a VAE with a Gaussian mixture prior (VaDE's model).

Objective, the ELBO with the tree prior (the paper's eq. 3; eq. 4 is its one-sample
estimate):

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || p_tree(z))
            = E_q[log p(x | z)] + H[q(z | x)] + E_q[log p_tree(z)]

with ``H[q] = 1/2 sum_j (1 + log 2 pi + log s_j^2)`` in closed form for
``q(z | x) = N(m, diag s^2)``. The cross term ``E_q[log p_tree(z)]`` has two estimates
(``kl_estimate``):

* ``"analytic"`` (default, VaDE-style): by Jensen,
  ``E_q[log p_tree(z)] >= log sum_y p(y) exp(sum_b E_q[log N(z_b | y_b)])`` with

      E_q[log N(z_b | mu, sigma^2)] = -1/2 sum_{j in b} (log 2 pi + log sigma_j^2
                                      + ((m_j - mu_j)^2 + s_j^2) / sigma_j^2),

  i.e. the same message passing with these expected log-densities as leaf potentials.
  This equals VaDE's bound ``sum_y r(y) (log p(y) + sum_b E_q log N - log r(y))`` at its
  optimal ``r(y)`` (the tree posterior): deterministic given ``q``, a lower bound of
  the ELBO.
* ``"sample"`` (the paper's): ``log p_tree(z)`` at one reparameterised sample
  ``z ~ q(z | x)``, an unbiased estimate of the cross term.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["LatentTreePrior", "facet_log_likelihood", "tree_log_marginal", "tree_posteriors",
           "gaussian_entropy", "ltvae_kl"]

_LOG_2PI = math.log(2.0 * math.pi)


# --- the latent tree prior ------------------------------------------------------------------
def facet_log_likelihood(m: torch.Tensor, means: torch.Tensor, log_vars: torch.Tensor,
                         logvar: torch.Tensor | None = None) -> torch.Tensor:
    """Leaf potentials of one facet: (N, K).

    m : (N, d_b) a point ``z_b`` (or the posterior mean of ``q(z_b | x)``);
    means, log_vars : (K, d_b) the facet's Gaussians. With ``logvar`` (N, d_b) the
    expectation ``E_{N(z | m, exp(logvar))}[log N(z | mu_k, sigma_k^2)]`` (closed form,
    module docstring); without it ``log N(m | mu_k, sigma_k^2)``.
    """
    inv = torch.exp(-log_vars)                                   # (K, d_b)
    sq = (m.unsqueeze(1) - means.unsqueeze(0)).pow(2)            # (N, K, d_b)
    if logvar is not None:
        sq = sq + logvar.exp().unsqueeze(1)
    return -0.5 * (_LOG_2PI + log_vars.unsqueeze(0) + sq * inv.unsqueeze(0)).sum(-1)


def tree_log_marginal(leaves: Sequence[torch.Tensor], log_root: torch.Tensor,
                      log_cpts: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact ``log sum_y p(y) prod_b exp(leaves_b[y_b])`` on a star tree, by message passing.

    leaves : B tensors (N, K_b), the log-potentials of each facet (``log N(z_b | y_b)``
        or its expectation); log_root : (K_1,) ``log p(y_1)``;
        log_cpts : B - 1 tensors (K_1, K_b) ``log p(y_b | y_1)``, or (1, K_b) for an
        independent ``Y_b`` (a forest).
    Returns ``(log p (N,), root joint (N, K_1))`` with
    ``root joint = log p(y_1) + leaves_1 + sum_b m_b(y_1)``.
    """
    joint = log_root.unsqueeze(0) + leaves[0]                     # (N, K_1)
    for leaf, cpt in zip(leaves[1:], log_cpts):
        # message of facet b to the root: log sum_{y_b} p(y_b | y_1) exp(leaf[y_b])
        joint = joint + torch.logsumexp(cpt.unsqueeze(0) + leaf.unsqueeze(1), dim=2)  # (N, K_1)
    return torch.logsumexp(joint, dim=1), joint


def tree_posteriors(leaves: Sequence[torch.Tensor], log_root: torch.Tensor,
                    log_cpts: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Posterior marginals ``p(y_b | z)`` of every facet, each (N, K_b), rows summing to 1.

    ``p(y_1 | z) = softmax(root joint)``; for a leaf facet
    ``p(y_b | z) = sum_{y_1} p(y_1 | z) p(y_b | y_1, z_b)`` with
    ``p(y_b | y_1, z_b) ~ p(y_b | y_1) exp(leaves_b[y_b])``.
    """
    _, joint = tree_log_marginal(leaves, log_root, log_cpts)
    root = torch.softmax(joint, dim=1)                            # (N, K_1)
    out = [root]
    for leaf, cpt in zip(leaves[1:], log_cpts):
        cond = torch.softmax(cpt.unsqueeze(0) + leaf.unsqueeze(1), dim=2)  # (N, K_1 or 1, K_b)
        out.append(torch.einsum("nk,nkj->nj", root, cond.expand(root.shape[0], root.shape[1],
                                                                -1)))
    return out


def gaussian_entropy(logvar: torch.Tensor) -> torch.Tensor:
    """``H[N(m, diag exp(logvar))] = 1/2 sum_j (1 + log 2 pi + logvar_j)`` per row: (N,)."""
    return 0.5 * (1.0 + _LOG_2PI + logvar.float()).sum(1)


class LatentTreePrior(nn.Module):
    """The latent tree model over the facets: GMM leaves and a star (or forest) of ``Y``'s.

    groups : B index lists (the latent dimensions of each facet); ks : B numbers of states;
    tree : ``"star"`` (``p(y_b | y_1)`` CPTs) or ``"forest"`` (independent ``Y``'s).
    Parameters: ``means[b]``, ``log_vars[b]`` (K_b, d_b); ``root_logits`` (K_1,);
    ``cpt_logits[b-1]`` (K_1, K_b) or (1, K_b).
    """

    def __init__(self, groups: Sequence[Sequence[int]], ks: Sequence[int],
                 tree: str = "star") -> None:
        super().__init__()
        self.groups = [list(map(int, g)) for g in groups]
        self.ks = [int(k) for k in ks]
        self.tree = tree
        for b, g in enumerate(self.groups):
            self.register_buffer(f"idx{b}", torch.tensor(g, dtype=torch.long), persistent=False)
        self.means = nn.ParameterList([nn.Parameter(torch.zeros(k, len(g)))
                                       for g, k in zip(self.groups, self.ks)])
        self.log_vars = nn.ParameterList([nn.Parameter(torch.zeros(k, len(g)))
                                          for g, k in zip(self.groups, self.ks)])
        self.root_logits = nn.Parameter(torch.zeros(self.ks[0]))
        rows = self.ks[0] if tree == "star" else 1
        self.cpt_logits = nn.ParameterList([nn.Parameter(torch.zeros(rows, k))
                                            for k in self.ks[1:]])

    def index(self, b: int) -> torch.Tensor:
        return getattr(self, f"idx{b}")

    def log_params(self) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(log p(y_1) (K_1,), [log p(y_b | y_1) (K_1 or 1, K_b)])``."""
        return (torch.log_softmax(self.root_logits, 0),
                [torch.log_softmax(c, 1) for c in self.cpt_logits])

    def leaves(self, m: torch.Tensor, logvar: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Leaf potentials (N, K_b) of every facet for points / posteriors (N, latent)."""
        out = []
        for b in range(len(self.groups)):
            idx = self.index(b)
            lv = None if logvar is None else logvar[:, idx]
            out.append(facet_log_likelihood(m[:, idx], self.means[b], self.log_vars[b], lv))
        return out

    def log_prob(self, z: torch.Tensor, logvar: torch.Tensor | None = None) -> torch.Tensor:
        """``log p_tree(z)`` (N,), or its Jensen bound under ``q`` when ``logvar`` is given."""
        return tree_log_marginal(self.leaves(z, logvar), *self.log_params())[0]

    def posteriors(self, z: torch.Tensor) -> list[torch.Tensor]:
        """``p(y_b | z)`` for every facet, each (N, K_b)."""
        return tree_posteriors(self.leaves(z), *self.log_params())


def ltvae_kl(mu: torch.Tensor, logvar: torch.Tensor, prior: LatentTreePrior,
             z: torch.Tensor | None = None) -> torch.Tensor:
    """``KL(q(z | x) || p_tree(z))`` per sample (N,): ``-H[q] - E_q[log p_tree(z)]``.

    Without ``z``: the analytic (Jensen, VaDE-style) estimate of the cross term, an upper
    bound of the KL; with a sample ``z ~ q`` (N, latent): ``log p_tree(z)`` at the sample.
    """
    mu, logvar = mu.float(), logvar.float()
    cross = prior.log_prob(mu, logvar) if z is None else prior.log_prob(z.float())
    return -gaussian_entropy(logvar) - cross


# --- structure learning ---------------------------------------------------------------------
