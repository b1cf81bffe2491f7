"""LTVAE, the latent tree variational autoencoder (Li, Chen, Poon and Zhang, ICLR 2019).

"Learning Latent Superstructures in Variational Autoencoders for Deep Multidimensional
Clustering", taught in notebook 03. High-dimensional data can be partitioned in more
than one meaningful way (digit identity, stroke width, slant ...). LTVAE splits the
VAE's latent vector ``z`` into *facets* ``z = (z_1, ..., z_B)`` (disjoint groups of
latent dimensions) and puts a discrete cluster variable ``Y_b`` above each facet; the
``Y``'s are linked by a tree (the "superstructure"). Each ``Y_b`` gives one clustering
of the data.

The latent tree prior, its message passing and the ELBO's cross term are in
``ltvae_tree.py`` (the model); the structure search in ``ltvae_structure.py``; the
fitted estimator's inference and sampling in ``ltvae_model.py``; this module holds the
estimator that trains them.

Learning alternates, as in the paper's Algorithm 1 (section 3.3), but CPU-sized:

1. *Pretraining*: the encoder's mean head and the decoder as a deterministic
   autoencoder (``pretrain_epochs``), as VaDE and the authors' code do.
2. *Structure learning* once, on the pretrained embedding (``learn_structure``):
   the paper runs a hill-climbing search scored by BIC with seven operators (node
   introduction / deletion / relocation, state introduction / deletion, pouching /
   unpouching) over the whole latent tree, repeatedly during training. Included here:
   (a) the grouping of latent dimensions into facets (what pouching/unpouching and
   node relocation decide), by a greedy average-linkage agglomeration of dimensions on
   their pairwise mutual information (quantile-binned estimate) until ``n_facets``
   groups remain; (b) the number of clusters of each facet (state introduction /
   deletion) by the BIC ``log L - (#params / 2) log N`` of a diagonal GMM over
   ``2..max_facet_clusters`` states; facet 0 (``n_clusters`` states) is the group for
   which that choice gives the highest total BIC of the structure; (c) node relocation:
   hill climbing that moves single dimensions between facets while the total BIC
   rises. Not
   included: the number of facets is fixed (``n_facets``; no node introduction /
   deletion), the tree over the ``Y``'s is fixed to a star rooted at facet 0 (for two
   facets it is the only tree), the search is not repeated during training, and
   within-facet covariances are diagonal (the paper's pouch nodes are full Gaussians).
   ``structure_search=False`` uses contiguous groups of dimensions.
3. *Parameter learning*: each facet's GMM is initialised by EM on its dimensions of
   the embedding and the CPTs ``p(y_b | y_1)`` from the co-occurrence of the facets'
   GMM labels; then the networks and the tree's parameters (means, log-variances,
   logits of ``p(y_1)`` and of the CPTs) are trained jointly by Adam on the ELBO (the
   paper updates the tree's parameters by stepwise EM instead, its eq. 8).

``labels_`` is the clustering of facet ``facet`` (default 0, the one with
``n_clusters`` states); ``facet_labels_`` holds every facet's ``argmax_y p(y_b | z=m(x))``.

On digits the digit facet scores under k-means on pixels (docs/results.md has the seeds):
the Gaussian-mixture VAE at this size is the limit, not the facets (with ``n_facets=1``,
VaDE's model, the mean is lower still); the EM start on the embedding sets the clusters and
the ELBO moves them little, as for VaDE. The second facet is a style variable.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...train import (
    EpochLog,
    adam,
    autocast,
    batch_indices,
    make_generator,
    train_epochs,
)
from ..base import BaseClusterer, _to_numpy_labels
from ..classic.gmm import gmm_responsibilities
from .ltvae_model import _FacetModelMixin
from .ltvae_structure import (
    fit_diag_gmm,
    learn_structure,
)
from .ltvae_tree import (
    LatentTreePrior,
    ltvae_kl,
)
from .vae import VAENet, _VAEMixin, log_likelihood

__all__ = ["LTVAE"]


class LTVAE(_FacetModelMixin, _VAEMixin, BaseClusterer):
    """Latent tree VAE (Li et al. 2019): several clusterings, one per facet of the latent space.

    See the module docstring for the model, the ELBO and what of the paper's structure
    search is included. ``fit`` pretrains the networks as an autoencoder, learns the
    facets and their state counts on the embedding, initialises every facet's GMM by
    EM and the CPTs from label co-occurrence, then maximises the ELBO with Adam.

    Parameters
    ----------
    n_clusters : states of facet 0 (the clustering reported in ``labels_`` by default).
    n_facets : number of facets B (1 <= B <= latent).
    facet_clusters : tuple of B state counts (each >= 2, the first equal to
        ``n_clusters``); None lets BIC choose the other facets' counts (with the search).
    latent, hidden, arch, likelihood : the networks (``VAENet``), as in ``VAE``.
    tree : ``"star"`` (``p(y_b | y_1)`` linking every facet to facet 0) or ``"forest"``
        (independent facets).
    structure_search : learn the facets from the embedding (MI grouping and BIC); False
        splits the latent dimensions into contiguous groups.
    max_facet_clusters : largest state count BIC may choose for the other facets.
    kl_estimate : ``"analytic"`` (Jensen / VaDE-style) or ``"sample"`` (one sample).
    pretrain_epochs, epochs, batch_size, lr : autoencoder pretraining, then ELBO training
        (Adam on the networks and the tree's parameters).
    facet : which facet's clustering ``labels_`` and ``predict`` report.

    Defaults (chosen without labels, for seconds on one CPU thread on digits):
    ``d-128-128-512-10`` networks, 2 facets, 100 + 60 epochs of batches of 128, Adam 2e-3.

    Fitted attributes: ``net_``, ``prior_`` (``LatentTreePrior``), ``facet_groups_``
    (B arrays of latent indices), ``facet_clusters_`` (B ints), ``structure_`` (the
    search's MI matrix and BIC table), ``facet_labels_`` (B label arrays), ``labels_``,
    ``history_`` (per epoch ``elbo``, ``rec``, ``kl``; ``acc``/``nmi`` of ``facet`` when
    ``fit`` got ``y``; a last entry with every facet's metrics).
    """

    def __init__(self, n_clusters: int = 10, n_facets: int = 2,
                 facet_clusters: tuple | None = None, latent: int = 10,
                 hidden: tuple = (128, 128, 512), arch: str = "mlp",
                 likelihood: str = "bernoulli", tree: str = "star",
                 structure_search: bool = True, max_facet_clusters: int = 5,
                 kl_estimate: str = "analytic", pretrain_epochs: int = 100,
                 epochs: int = 60, batch_size: int = 128, lr: float = 2e-3, facet: int = 0,
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.n_facets = n_facets
        self.facet_clusters = facet_clusters
        self.latent = latent
        self.hidden = hidden
        self.arch = arch
        self.likelihood = likelihood
        self.tree = tree
        self.structure_search = structure_search
        self.max_facet_clusters = max_facet_clusters
        self.kl_estimate = kl_estimate
        self.pretrain_epochs = pretrain_epochs
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.facet = facet
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # --- validation ---------------------------------------------------------------------
    def _validate_params(self, X):
        self._validate_vae_params(X)
        latent = int(self.latent)
        nf = self.n_facets
        if isinstance(nf, bool) or int(nf) != nf or not 1 <= int(nf) <= latent:
            raise ValueError(f"n_facets must be an integer in [1, latent={latent}], got {nf!r}.")
        nf = int(nf)
        if self.facet_clusters is not None:
            fc = tuple(self.facet_clusters)
            if len(fc) != nf:
                raise ValueError(f"facet_clusters must have n_facets={nf} entries, got {fc!r}.")
            if any(int(k) != k or int(k) < 2 or int(k) > X.shape[0] for k in fc):
                raise ValueError(f"facet_clusters must hold integers in [2, n_samples], got "
                                 f"{fc!r}.")
            if int(fc[0]) != int(self.n_clusters):
                raise ValueError(f"facet_clusters[0]={fc[0]} must equal n_clusters="
                                 f"{self.n_clusters} (facet 0 is the n_clusters facet).")
        self._check_facet(self.facet, nf)
        if self.tree not in ("star", "forest"):
            raise ValueError(f"tree must be 'star' or 'forest', got {self.tree!r}.")
        if self.kl_estimate not in ("analytic", "sample"):
            raise ValueError(f"kl_estimate must be 'analytic' or 'sample', got "
                             f"{self.kl_estimate!r}.")
        mfc = self.max_facet_clusters
        if isinstance(mfc, bool) or int(mfc) != mfc or int(mfc) < 2:
            raise ValueError(f"max_facet_clusters must be an integer >= 2, got {mfc!r}.")
        pe = self.pretrain_epochs
        if pe is None or int(pe) != pe or int(pe) < 0:
            raise ValueError(f"pretrain_epochs must be an integer >= 0, got {pe!r}.")

    @staticmethod
    def _check_facet(facet, n_facets: int) -> int:
        if isinstance(facet, bool) or int(facet) != facet or not 0 <= int(facet) < n_facets:
            raise ValueError(f"facet must be an integer in [0, n_facets={n_facets}), got "
                             f"{facet!r}.")
        return int(facet)

    # --- training -------------------------------------------------------------------------
    def _fit(self, X, y):
        dev = self.device_
        torch.manual_seed(self.seed_)
        self.net_ = net = VAENet(X.shape[1:], int(self.latent), tuple(self.hidden),
                                 self.arch).to(dev)
        g = make_generator(self.seed_, "cpu")
        g_eps = make_generator(self.seed_ + 1, dev)
        n, bs = X.shape[0], int(self.batch_size)

        # 1. pretraining: the mean head and the decoder as an autoencoder
        opt = adam(net.parameters(), lr=float(self.lr))

        def pretrain_epoch(epoch: int) -> dict:
            log = EpochLog()
            for idx in batch_indices(n, bs, g, dev):
                xb = X[idx]
                with autocast(dev):
                    rec = log_likelihood(xb, net.decode(net.encode(xb)[0]),
                                         self.likelihood).mean()
                opt.zero_grad(set_to_none=True)
                (-rec).backward()
                opt.step()
                log.add(rec=rec)
            return log.means()

        net.train()
        train_epochs(pretrain_epoch, int(self.pretrain_epochs), desc="LTVAE pretrain",
                     verbose=self.verbose, history=self.history_,
                     state={"model": net, "optimizer": opt, "batches": g})

        # 2. structure learning on the embedding, 3a. EM initialisation of the tree
        Z = self._encode_mean(X)                                  # (N, latent)
        nf = int(self.n_facets)
        st = learn_structure(Z, nf, int(self.n_clusters), self.facet_clusters,
                             int(self.max_facet_clusters), bool(self.structure_search), g)
        self.structure_ = st
        self.facet_groups_ = [np.asarray(grp, dtype=np.int64) for grp in st["groups"]]
        self.facet_clusters_ = tuple(int(k) for k in st["ks"])
        self.prior_ = prior = LatentTreePrior(st["groups"], st["ks"], self.tree).to(dev)
        self._init_prior(Z, g)
        self._init_logvar_head()
        self.history_.append({"phase": "structure",
                              "groups": [grp.tolist() for grp in self.facet_groups_],
                              "ks": list(self.facet_clusters_)})

        # 3b. the ELBO, networks and tree parameters jointly
        opt = adam([*net.parameters(), *prior.parameters()], lr=float(self.lr))
        sample_kl = self.kl_estimate == "sample"

        def epoch_fn(epoch: int) -> dict:
            log = EpochLog()
            for idx in batch_indices(n, bs, g, dev):
                xb = X[idx]
                with autocast(dev):
                    out, z, mu, logvar = net(xb, g_eps)
                rec = log_likelihood(xb, out, self.likelihood).mean()
                kl = ltvae_kl(mu, logvar, prior, z if sample_kl else None).mean()
                loss = kl - rec
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                log.add(elbo=rec - kl, rec=rec, kl=kl)
            return log.means()

        def report(epoch: int, entry: dict) -> None:
            if self._y_eval is not None:
                entry.update(self._metrics(self._facet_posteriors(X)[self.facet].argmax(1)))
                net.train()

        net.train()
        train_epochs(epoch_fn, int(self.epochs), desc="LTVAE", verbose=self.verbose,
                     history=self.history_, callback=report,
                     state={"model": net, "prior": prior, "optimizer": opt, "batches": g,
                            "noise": g_eps})
        net.eval()
        post = self._facet_posteriors(X)
        self.facet_labels_ = [_to_numpy_labels(p.argmax(1)) for p in post]
        final = {"phase": "facets"}
        for b, lab in enumerate(self.facet_labels_):
            final.update({f"{k}_facet{b}": v for k, v in self._metrics(lab).items()})
        self.history_.append(final)
        return self.facet_labels_[int(self.facet)]

    @torch.no_grad()
    def _init_prior(self, Z: torch.Tensor, g: torch.Generator) -> None:
        """Each facet's GMM by EM on its dimensions; CPTs from label co-occurrence."""
        prior = self.prior_
        labels = []
        for b, (grp, k) in enumerate(zip(prior.groups, prior.ks)):
            w, mu, var, _ = fit_diag_gmm(Z[:, grp], k, g, n_init=5, reg_covar=1e-3,
                                           select="likelihood")
            prior.means[b].copy_(mu.float())
            prior.log_vars[b].copy_(var.float().log())
            if b == 0:
                prior.root_logits.copy_(w.float().log())
            gamma, _ = gmm_responsibilities(Z[:, grp].double(), w, mu, var)
            labels.append(gamma.argmax(1))
        for b in range(1, len(prior.ks)):
            k0, kb = prior.ks[0], prior.ks[b]
            counts = torch.ones(k0, kb, dtype=torch.float64, device=Z.device)  # add-one
            counts.index_put_((labels[0], labels[b]),
                              torch.ones_like(labels[b], dtype=torch.float64), accumulate=True)
            if prior.tree == "forest":
                counts = counts.sum(0, keepdim=True)
            prior.cpt_logits[b - 1].copy_((counts / counts.sum(1, keepdim=True)).log().float())

    @torch.no_grad()
    def _init_logvar_head(self) -> None:
        """Start ``q(z | x)`` narrow: the pretraining left the log-variance head untrained,
        and its random outputs (variances near 1) would scatter the samples across the
        clusters in the first epochs. Its weights are zeroed and its bias set to
        ``log(0.1 * mean prior variance)`` of each dimension (training takes over from there).
        """
        lin = [m for m in self.net_.encoder.modules() if isinstance(m, nn.Linear)]
        latent = int(self.latent)
        if not lin or lin[-1].out_features != 2 * latent:
            return
        head = lin[-1]
        prior_var = torch.empty(latent, device=head.bias.device)
        for b in range(len(self.prior_.ks)):
            prior_var[self.prior_.index(b)] = self.prior_.log_vars[b].exp().mean(0)
        head.weight[latent:].zero_()
        head.bias[latent:].copy_((0.1 * prior_var).log())
