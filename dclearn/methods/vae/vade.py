"""VaDE: Variational Deep Embedding (Jiang, Zheng, Tan, Tang and Zhou, IJCAI 2017).

"Variational Deep Embedding: An Unsupervised and Generative Approach to Clustering",
taught in notebook 03. VaDE is a VAE whose prior is a Gaussian mixture, so that the
latent space is organised in clusters while the model stays generative:

    c ~ Cat(pi),   z | c ~ N(mu_c, diag sigma_c^2),   x | z ~ Bernoulli(f_theta(z))   (eqs. 1-3)

with an encoder ``q(z | x) = N(mu~, diag sigma~^2)`` (eq. 9) and the mean-field
posterior ``q(z, c | x) = q(z | x) q(c | x)``. For Bernoulli data the paper's eq. 10
estimates the evidence lower bound: the reconstruction term at one sample
``z = mu~ + sigma~ eps`` (L = 1; gamma is evaluated at the same z), the prior and entropy
terms in closed form (their ``log 2 pi`` constants cancel):

    ELBO(x) =   sum_i x_i log mu_x,i + (1 - x_i) log(1 - mu_x,i)                  (rec)
              - 1/2 sum_c gamma_c sum_j ( log sigma_cj^2 + sigma~_j^2 / sigma_cj^2
                                          + (mu~_j - mu_cj)^2 / sigma_cj^2 )        (z_prior)
              + sum_c gamma_c log(pi_c / gamma_c)                                  (c_prior)
              + 1/2 sum_j (1 + log sigma~_j^2)                                     (z_entropy)

where ``gamma_c = q(c | x)`` is approximated by the responsibilities of the sample
``z`` under the mixture prior (eq. 16):

    gamma_c = pi_c N(z | mu_c, sigma_c^2) / sum_c' pi_c' N(z | mu_c', sigma_c'^2)

computed stably in log space with ``logsumexp``. At prediction time ``z`` is the
posterior mean ``mu~`` (no noise), and the cluster of ``x`` is ``argmax_c gamma_c``.

Implementation choices (each documented where it is made):

* ``pi`` is kept on the simplex as ``softmax(pi_logits)``, starting at the GMM's
  weights (``pi_init="gmm"``) or uniform (``pi_init="uniform"``, the authors' code,
  which clips and renormalises instead); ``sigma_c^2`` is parameterised by its log.
* Pretraining reuses ``pretrain_autoencoder`` (its in-process cache is shared with any
  estimator asking for the same configuration, e.g. DGG), with ``loss="bce"`` for the
  Bernoulli likelihood: that decoder's final sigmoid has no weights, so its linear
  layers copied into the VAE decoder output exactly the pretrained logits (``"mse"``
  for ``likelihood="gaussian"``). The encoder trunk and the ``mu~`` half of the last
  layer are copied; the ``log sigma~^2`` half starts with zero weights and a bias of
  ``logvar_init`` (small posterior variance), so the first steps do not drown the
  pretrained embedding in noise. The authors' code (github.com/slim1017/VaDE,
  ``VaDE.py``) leaves that head Glorot-initialised (``logvar_init=None``): on the
  paper-scale MNIST pretraining its log-variances then start at 0.8 +- 3.0.
* The prior (pi, mu_c, sigma_c^2) starts from a diagonal GMM fitted by EM (k-means
  initialised, float64) on the pretrained embedding: the paper's initialisation,
  the step that decides whether VaDE succeeds.
* A collapse guard warns (``ClusterCollapseWarning``) when the labels use fewer than
  two clusters or, for K >= 3, one cluster holds more than ``collapse_fraction`` of
  the points, after the GMM initialisation and after training.
* The whole fit (pretraining, GMM, training) is repeated ``n_restarts`` times from
  independent seeds and the fit with the highest mean ELBO on the training data is
  kept. The paper reports single fits; which local optimum one fit reaches depends
  mostly on the pretrained embedding, and picking the best of several by the model's
  own objective is how EM for mixtures is run in practice (``GaussianMixture(n_init)``).

The equations above (eq. 16's ``responsibilities``, eq. 10's ``vade_elbo_terms``), the GMM
initialisation and the collapse check are functions of tensors in ``mixture_prior.py``;
the transfer of the pretrained weights into the VAE (and the start of its log-variance
head) is in ``vae_transfer.py``; the fitted model and its inference
methods (gamma, sampling, ELBO per sample) are in ``vade_model.py``, the restarts in
``restarts.py``; this file holds the estimator.
"""

from __future__ import annotations

import numpy as np
import torch

from ...train import (
    EpochLog,
    adam,
    autocast,
    batch_indices,
    make_generator,
    predict_in_batches,
    train_epochs,
)
from ..autoencoder.layerwise import SOLVERS
from ..autoencoder.pretrain import pretrain_autoencoder
from ..base import BaseClusterer
from ..restarts import RestartMixin
from .mixture_prior import (
    init_mixture,
    responsibilities,
    vade_elbo_terms,
)
from .vade_model import _MixtureModelMixin, _VaDENet
from .vae import VAENet, _VAEMixin
from .vae_transfer import copy_encoder, init_logvar_head

__all__ = ["VaDE"]


# --- the estimator (its fitted model and inference methods: vade_model.py) ------------
class VaDE(RestartMixin, _MixtureModelMixin, _VAEMixin, BaseClusterer):
    """Variational Deep Embedding (Jiang et al., IJCAI 2017): a VAE with a GMM prior.

    Pretrain an autoencoder, fit a diagonal GMM on its embedding to initialise the
    prior, then maximise the ELBO of eq. 10 (see the module docstring) over the
    encoder, the decoder and the prior (pi, mu_c, sigma_c^2) with Adam. ``labels_``
    are ``argmax_c gamma_c`` (eq. 16) at the posterior mean ``mu~``.

    Parameters
    ----------
    n_clusters : number of mixture components K.
    latent, hidden, arch : the networks (``VAENet``): ``d-hidden-2*latent`` encoder,
        mirror decoder; default ``d-128-128-512-10`` as the other chapters on digits
        (the paper's ``hidden=(500, 500, 2000)`` for MNIST).
    likelihood : ``"bernoulli"`` (the paper's, data in [0, 1]) or ``"gaussian"``.
    pretrain_epochs, pretrain_lr : autoencoder pretraining (Adam, batches of
        ``pretrain_batch_size``; ``pretrain_epochs=0`` starts from random networks).
    pretrain_layerwise_epochs : epochs per layer of the greedy layer-wise denoising stage
        that comes before it (DEC's, as in chapter 02; ``arch="mlp"`` only; 0 skips it).
    pretrain_noise, pretrain_layerwise_noise : masking noise (dropout) of the end-to-end
        and the layer-wise stages (0 and DEC's 0.2 by default; ``pretrain_autoencoder``).
    pretrain_solver, pretrain_input_scale : ``"adam"`` and 1 (default), or DEC's
        reference recipe for the d-500-500-2000-10 network VaDE shares with DEC:
        ``"sgd"`` (momentum 0.9, lr divided by 10 every 20,000 steps) on the data scaled
        by 5 (see ``pretrain_autoencoder``; the Bernoulli decoder is then trained against
        the unscaled data and the scale folded into the first encoder layer).
    epochs, batch_size, lr, lr_decay, decay_every : VaDE training with Adam; the
        learning rate is multiplied by ``lr_decay`` every ``decay_every`` epochs
        (the paper: lr 0.002, decay 0.9 every 10 epochs, batch 100, 300 epochs on MNIST).
    lr_min, adam_eps : the floor of that decay and Adam's epsilon (0 and torch's 1e-8 by
        default; the authors' MNIST code: 0.0002 and 1e-4).
    logvar_init : initial bias of the encoder's ``log sigma~^2`` head (its weights
        start at zero), or ``None`` for the authors' code: a fresh Glorot-uniform head
        with zero bias, so the posterior variance starts as a random function of the
        pretrained features.
    pi_init : ``"gmm"`` (pi starts at the GMM's weights) or ``"uniform"`` (1/K, the
        authors' code, which takes only the means and variances from the GMM).
    n_init : k-means restarts of the GMM initialisation.
    n_restarts : independent fits (pretraining, GMM, training, each from its own seed;
        restart 0 from ``random_state``); the one with the highest mean ELBO of the
        training data is kept (``restarts.py``: the selection ``GaussianMixture(n_init)``
        makes for EM, applied to the whole model; no label is read).
    collapse_fraction, on_collapse : the collapse guard (``"warn"`` or ``"raise"``).
 Defaults (chosen without labels, for a 1-thread CPU on digits): pretraining with 20
layer-wise epochs per layer, then 200 end-to-end epochs of batches of 64 (Adam 1e-3, BCE
loss); VaDE training 50 epochs of batches of 64 at lr 2e-3 decayed by 0.9 every 10 epochs; 4
restarts, a count set by time (about 25 s a restart on one thread; notebook 03 must stay
within 3 minutes on two cores). Measured on digits (1 thread), seeds 0-4 (the results
store): ACC 0.845 / NMI 0.836 (0.870 0.870 0.791 0.821 0.870); in the build that set these
defaults 0.865 / 0.844, 100-110 s a fit, and a single fit (``n_restarts=1``) 0.801 (seeds
0-19: 0.74-0.91). The optimum a fit ends in depends mostly on its pretrained embedding;
neither lr 5e-3 nor 300 epochs changed a single fit's result, and started from the true
classes (``tools/vade_oracle.py``, a diagnostic that reads the labels) fits end at 0.948
with the same mean ELBO: the start
    decides. MNIST, and what the paper's 0.945 rests on: docs/results.md.

    Fitted attributes: ``net_`` (``VAENet``), ``weights_`` (pi, K), ``means_`` (K, d),
    ``variances_`` (K, d), ``init_labels_`` (the GMM's labels before training),
    ``collapsed_``, ``labels_``, ``history_`` (per-epoch ``loss`` = -ELBO and its terms),
    ``restart_objectives_`` (mean ELBO of each restart), ``best_restart_`` (the one kept);
    the attributes are the kept restart's.
    Methods beyond the estimator API: ``predict_proba(X)`` (gamma), ``sample(n, cluster)``,
    ``reconstruct(X)``, ``score_samples(X)`` (ELBO per sample).
    """

    def __init__(self, n_clusters: int = 10, latent: int = 10,
                 hidden: tuple = (128, 128, 512), arch: str = "mlp",
                 likelihood: str = "bernoulli", pretrain_epochs: int = 200,
                 pretrain_lr: float = 1e-3, pretrain_batch_size: int = 64,
                 pretrain_layerwise_epochs: int = 20, pretrain_solver: str = "adam",
                 pretrain_input_scale: float = 1.0, pretrain_noise: float = 0.0,
                 pretrain_layerwise_noise: float = 0.2, epochs: int = 50, batch_size: int = 64,
                 lr: float = 2e-3, lr_decay: float = 0.9, decay_every: int = 10,
                 lr_min: float = 0.0, adam_eps: float = 1e-8,
                 logvar_init: float | None = -4.0, pi_init: str = "gmm", n_init: int = 10,
                 n_restarts: int = 4,
                 collapse_fraction: float = 0.9, on_collapse: str = "warn",
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.latent = latent
        self.hidden = hidden
        self.arch = arch
        self.likelihood = likelihood
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_lr = pretrain_lr
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_layerwise_epochs = pretrain_layerwise_epochs
        self.pretrain_solver = pretrain_solver
        self.pretrain_input_scale = pretrain_input_scale
        self.pretrain_noise = pretrain_noise
        self.pretrain_layerwise_noise = pretrain_layerwise_noise
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_decay = lr_decay
        self.decay_every = decay_every
        self.lr_min = lr_min
        self.adam_eps = adam_eps
        self.logvar_init = logvar_init
        self.pi_init = pi_init
        self.n_init = n_init
        self.n_restarts = n_restarts
        self.collapse_fraction = collapse_fraction
        self.on_collapse = on_collapse
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # --- validation -----------------------------------------------------------------------
    def _validate_params(self, X):
        self._validate_vae_params(X)
        self._check_restarts()
        self._check_positive(pretrain_lr=self.pretrain_lr, lr_decay=self.lr_decay,
                             decay_every=self.decay_every, n_init=self.n_init)
        self._check_nonnegative(pretrain_epochs=self.pretrain_epochs,
                                pretrain_layerwise_epochs=self.pretrain_layerwise_epochs)
        self._check_positive(pretrain_batch_size=self.pretrain_batch_size,
                             pretrain_input_scale=self.pretrain_input_scale)
        for name, allowed in (("pretrain_solver", SOLVERS), ("pi_init", ("gmm", "uniform")),
                              ("on_collapse", ("warn", "raise"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")
        self._check_rate(pretrain_noise=self.pretrain_noise,
                         pretrain_layerwise_noise=self.pretrain_layerwise_noise)
        if float(self.pretrain_input_scale) != 1.0 and self.arch != "mlp":
            raise ValueError("pretrain_input_scale != 1 needs arch='mlp'.")
        for name in ("pretrain_epochs", "pretrain_batch_size", "pretrain_layerwise_epochs",
                     "decay_every", "n_init"):
            v = getattr(self, name)
            if int(v) != v:
                raise ValueError(f"{name} must be an integer, got {v!r}.")
        if self.lr_decay > 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}.")
        v = self.logvar_init
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not np.isfinite(v)):
            raise ValueError(f"logvar_init must be a finite number or None, got {v!r}.")
        self._check_nonnegative(lr_min=self.lr_min)
        self._check_positive(adam_eps=self.adam_eps)
        if float(self.lr_min) > float(self.lr):
            raise ValueError(f"lr_min ({self.lr_min!r}) must not exceed lr ({self.lr!r}).")
        if not 0.0 < float(self.collapse_fraction) <= 1.0:
            raise ValueError(f"collapse_fraction must be in (0, 1], got "
                             f"{self.collapse_fraction!r}.")

    # --- pretraining and initialisation -----------------------------------------------------
    def _pretrain_vae(self, X: torch.Tensor, seed: int) -> VAENet:
        """A ``VAENet`` whose encoder (mu~ half) and decoder come from a pretrained autoencoder."""
        net = VAENet(X.shape[1:], int(self.latent), tuple(self.hidden), self.arch)
        init_logvar_head(net.encoder, int(self.latent), self.logvar_init, seed + 2)
        net = net.to(self.device_)
        if int(self.pretrain_epochs) == 0:
            return net
        enc, dec, hist = pretrain_autoencoder(
            X, arch=self.arch, latent=int(self.latent), hidden=tuple(self.hidden),
            epochs=int(self.pretrain_epochs), batch_size=int(self.pretrain_batch_size),
            lr=float(self.pretrain_lr),
            loss="bce" if self.likelihood == "bernoulli" else "mse",
            noise=float(self.pretrain_noise),
            layerwise_epochs=int(self.pretrain_layerwise_epochs) if self.arch == "mlp" else 0,
            layerwise_noise=float(self.pretrain_layerwise_noise),
            solver=self.pretrain_solver, input_scale=float(self.pretrain_input_scale),
            seed=seed, device=self.device_, verbose=self.verbose)
        self.history_.extend(hist)
        copy_encoder(enc, net.encoder, int(self.latent))
        # the pretrained decoder differs at most by a final sigmoid, which has no weights
        net.decoder.load_state_dict(dec.state_dict())
        return net

    def _init_prior(self, X: torch.Tensor, net: VAENet, g: torch.Generator) -> _VaDENet:
        net.eval()
        Z = predict_in_batches(lambda xb: net.encode(xb)[0], X)                 # (N, d)
        w, mu, var = init_mixture(Z, int(self.n_clusters), g, int(self.n_init))
        if self.pi_init == "uniform":  # the authors' code keeps only the GMM's means, variances
            w = torch.full_like(w, 1.0 / int(self.n_clusters))
        model = _VaDENet(net, w, mu, var).to(self.device_)
        with torch.inference_mode():
            labels = responsibilities(Z, *model.prior()).argmax(1)
        self.init_labels_ = labels.cpu().numpy().astype(np.int64)
        self.history_.append({"phase": f"{type(self).__name__} GMM init",
                              **self._metrics(labels)})
        self._guard(labels, "after the GMM initialisation")
        return model

    # --- training -------------------------------------------------------------------------
    def _batch_elbo(self, model: _VaDENet, xb: torch.Tensor, g_eps: torch.Generator
                    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Eq. 10's terms (per sample) and gamma (B, K) for one minibatch, one sample z."""
        out, z, mu, logvar = model.vae(xb, g_eps)
        pi, mu_c, logvar_c = model.prior()
        gamma = responsibilities(z, pi, mu_c, logvar_c)                        # (B, K)
        terms = vade_elbo_terms(xb, out, mu, logvar, gamma, pi, mu_c, logvar_c,
                                self.likelihood)
        return terms, gamma

    def _make_batch_loss(self, X: torch.Tensor, model: _VaDENet):
        """``loss_fn(idx, xb, g_eps) -> (loss, logged means)`` for a minibatch (DGG extends it)."""
        def loss_fn(idx, xb, g_eps):
            terms, _ = self._batch_elbo(model, xb, g_eps)
            means = {k: v.mean() for k, v in terms.items()}
            return -means["elbo"], means
        return loss_fn

    def _fit_once(self, X: torch.Tensor, seed: int):
        dev = self.device_
        name = type(self).__name__
        self.collapsed_ = False
        g = make_generator(seed, "cpu")
        g_eps = make_generator(seed + 1, dev)
        net = self._pretrain_vae(X, seed)
        self.net_ = net
        self.model_ = model = self._init_prior(X, net, g)
        self._store_prior()
        opt = adam(model.parameters(), lr=float(self.lr), eps=float(self.adam_eps))
        decay, every = float(self.lr_decay), int(self.decay_every)
        floor = float(self.lr_min) / float(self.lr)
        sched = torch.optim.lr_scheduler.LambdaLR(  # lr * decay^(epoch // every), >= lr_min
            opt, lambda epoch: max(decay ** (epoch // every), floor))
        loss_fn = self._make_batch_loss(X, model)
        n, bs = X.shape[0], int(self.batch_size)

        def epoch_fn(epoch: int) -> dict:
            model.train()
            log = EpochLog()
            for idx in batch_indices(n, bs, g, dev):
                xb = X[idx]
                with autocast(dev):
                    loss, terms = loss_fn(idx, xb, g_eps)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                log.add(loss=loss, **terms)
            sched.step()
            return log.means()

        callback = None
        if self._y_eval is not None:
            def callback(epoch, entry):
                if epoch % 10 == 9 or epoch == int(self.epochs) - 1:
                    self._store_prior()
                    entry.update(self._metrics(self._proba(X).argmax(1)))

        train_epochs(epoch_fn, int(self.epochs), desc=name, verbose=self.verbose,
                     history=self.history_, callback=callback,
                     state={"model": model, "optimizer": opt, "scheduler": sched,
                            "batches": g, "noise": g_eps})
        model.eval()
        self._store_prior()
        labels = self._proba(X).argmax(1)
        self.history_.append({"phase": f"{name} final", **self._metrics(labels)})
        self._guard(labels, "after training")
        return labels
