"""DBN + NMMC: deep belief network features clustered by maximum margin (Chen, arXiv 1501.03084).

Taught in notebook 06, the survey's fifth kind of deep clustering. Three stages, as in the
paper's abstract:

1. a DBN, a stack of Bernoulli RBMs trained greedily by CD-1 (``rbm.py``), maps the pixels
   (grey levels used as Bernoulli probabilities) to its top layer's mean-field probabilities;
2. the maximum-margin clustering of ``nmmc.py`` labels that code, from k-means;
3. the DBN is fine-tuned: its up-pass, read as a sigmoid network, and the clusters' linear
   classifiers are trained together by backpropagation of the multiclass hinge on the
   current labels, and the labels are re-chosen from the network's scores (under the balance
   constraint, or the CRP prior) every ``relabel_interval`` epochs.

Stage 3 is the paper's refinement of the DBN by the clustering; the way it is scheduled here
(alternating fixed-label epochs and relabelling) is this module's choice. ``nmmc.py`` says which
parts of the nonparametric model are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...train import EpochLog, adam, batch_indices, make_generator, train_epochs
from ..base import BaseClusterer
from .nmmc import balanced_assign, crp_assign, max_margin_loss, nmmc
from .rbm import train_dbn

__all__ = ["DBNNMMC", "MNIST_SETTINGS"]

# MNIST-scale settings: the standard DBN recipe of Hinton, Osindero and Teh (2006)
# (784-500-500-2000 Bernoulli RBMs, CD-1, batches of 100, lr 0.1, momentum 0.5 then
# 0.9, weight decay 2e-4, 50 epochs per layer); the clustering and fine-tuning keep the
# digits defaults, with larger fine-tuning batches. Not the paper's exact table: its
# per-experiment settings are not reproduced here.
MNIST_SETTINGS = dict(hidden=(500, 500, 2000), rbm_epochs=50, rbm_batch_size=100, rbm_lr=0.1,
                      momentum=0.9, weight_decay=2e-4, batch_size=256)


class DBNNMMC(BaseClusterer):
    """Deep belief network with (nonparametric) maximum-margin clustering.

    Parameters
    ----------
    n_clusters : K (with ``alpha`` set: the most clusters allowed, a truncation level).
    hidden : RBM layer sizes, bottom to top; the last is the feature size.
    rbm_epochs, rbm_batch_size, rbm_lr, momentum, weight_decay : CD-1 training of each RBM
        (Hinton's recipe: momentum 0.5 for 5 epochs then ``momentum``, L2 decay on W).
    reg : L2 penalty of the clusters' linear classifiers (relative to the mean hinge).
    balance : every cluster keeps at least ``balance * N / K`` samples (parametric mode).
    alpha : None for K clusters under the balance constraint; a positive CRP concentration
        for the nonparametric mode (clusters may empty and be dropped, or be opened).
    margin_weight : c in the nonparametric relabelling ``argmax_k c s_ik + log n_k`` (the
        constant of the paper's margin pseudo-likelihood ``exp(c * margin)``); unused when
        ``alpha`` is None. Measured on digits (truncation 20, seed 0, no labels read): c = 1
        lets the CRP prior merge everything into one cluster, c = 10 keeps all 20.
    mm_iter, mm_steps, mm_lr : rounds of the alternating clustering, Adam steps per
        classifier fit and their learning rate.
    finetune_epochs, relabel_interval, finetune_lr, batch_size : stage 3 (0 epochs skips it).
    random_state, device, verbose : as every dclearn estimator.

    Attributes
    ----------
    labels_, layers_ (list of ``(W, b_vis, b_hid)``, fine-tuned), W_, b_ (the classifiers),
    n_clusters_found_, history_ (per-epoch ``recon`` and ``free_energy`` of each RBM, then
    per-epoch ``loss`` and ``changed`` of the fine-tuning; metrics only when ``y`` is given).

    ``transform`` returns the top-layer features, ``predict`` the classifiers' argmax.
    """

    def __init__(self, n_clusters: int = 10, hidden: Sequence[int] = (256,),
                 rbm_epochs: int = 30, rbm_batch_size: int = 100, rbm_lr: float = 0.1,
                 momentum: float = 0.9, weight_decay: float = 2e-4, reg: float = 1e-3,
                 balance: float = 0.5, alpha: float | None = None,
                 margin_weight: float = 10.0, mm_iter: int = 30,
                 mm_steps: int = 100, mm_lr: float = 0.01, finetune_epochs: int = 20,
                 relabel_interval: int = 2, finetune_lr: float = 1e-3, batch_size: int = 100,
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.hidden = hidden
        self.rbm_epochs = rbm_epochs
        self.rbm_batch_size = rbm_batch_size
        self.rbm_lr = rbm_lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.reg = reg
        self.balance = balance
        self.alpha = alpha
        self.margin_weight = margin_weight
        self.mm_iter = mm_iter
        self.mm_steps = mm_steps
        self.mm_lr = mm_lr
        self.finetune_epochs = finetune_epochs
        self.relabel_interval = relabel_interval
        self.finetune_lr = finetune_lr
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        lo, hi = float(X.min()), float(X.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"X must lie in [0, 1] (Bernoulli visible units read each value as "
                             f"a probability); got values in [{lo:.4g}, {hi:.4g}]. Rescale, "
                             f"e.g. X / X.max().")
        if len(self.hidden) < 1 or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden must list at least one layer size >= 1, got "
                             f"{self.hidden!r}.")
        for name in ("rbm_epochs", "rbm_batch_size", "mm_iter", "mm_steps", "batch_size",
                     "relabel_interval"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}.")
        if int(self.finetune_epochs) < 0:
            raise ValueError(f"finetune_epochs must be >= 0, got {self.finetune_epochs!r}.")
        self._check_positive(rbm_lr=self.rbm_lr, mm_lr=self.mm_lr, finetune_lr=self.finetune_lr,
                             margin_weight=self.margin_weight)
        self._check_nonnegative(reg=self.reg, weight_decay=self.weight_decay)
        self._check_rate(momentum=self.momentum)
        if not 0.0 <= float(self.balance) <= 1.0:
            raise ValueError(f"balance must be in [0, 1], got {self.balance!r}.")
        if self.alpha is not None:
            self._check_positive(alpha=self.alpha)

    def _fit(self, X, y):
        Xf = X.reshape(X.shape[0], -1)
        g = make_generator(self.seed_, X.device)
        self.layers_ = train_dbn(
            Xf, self.hidden, n_epochs=int(self.rbm_epochs), batch_size=int(self.rbm_batch_size),
            lr=float(self.rbm_lr), momentum=float(self.momentum),
            weight_decay=float(self.weight_decay), generator=g, verbose=self.verbose,
            history=self.history_)
        with torch.no_grad():
            res = nmmc(self._features(Xf), int(self.n_clusters), reg=float(self.reg),
                       balance=float(self.balance), alpha=self.alpha,
                       margin_weight=float(self.margin_weight),
                       max_iter=int(self.mm_iter), n_steps=int(self.mm_steps),
                       lr=float(self.mm_lr), generator=g, verbose=self.verbose)
        labels, self.W_, self.b_ = res["labels"], res["W"], res["b"]
        self.history_.append({"phase": "NMMC", "loss": res["loss"], "n_iter": res["n_iter"],
                              "n_found": res["n_found"], **self._metrics(labels)})
        if int(self.finetune_epochs) > 0:
            labels = self._finetune(Xf, labels, g)
        self.n_clusters_found_ = int(torch.unique(labels).numel())
        return labels

    def _finetune(self, Xf, labels, g):
        params = [p.clone().requires_grad_() for W, _, b in self.layers_ for p in (W, b)]
        W = self.W_.clone().requires_grad_()
        b = self.b_.clone().requires_grad_()
        opt = adam([*params, W, b], lr=float(self.finetune_lr))
        n, reg = Xf.shape[0], float(self.reg)
        min_size = int(float(self.balance) * n / int(self.n_clusters))
        state = {"labels": labels}

        def up(x):
            for i in range(0, len(params), 2):
                x = torch.sigmoid(torch.addmm(params[i + 1], x, params[i]))
            return x

        def relabel():
            with torch.no_grad():
                scores = torch.addmm(b, up(Xf), W)
                old = state["labels"]
                if self.alpha is None:
                    return balanced_assign(scores, min_size)
                # the CRP prior over the current clusters (none opened during fine-tuning)
                counts = torch.bincount(old, minlength=W.shape[1])
                return crp_assign(scores, counts, float(self.alpha), allow_new=False,
                                  margin_weight=float(self.margin_weight))

        def epoch(e):
            log, changed = EpochLog(), None
            if e > 0 and e % int(self.relabel_interval) == 0:  # relabel the whole data set
                new = relabel()
                changed = (new != state["labels"]).sum()
                state["labels"] = new
            target = state["labels"]
            for idx in batch_indices(n, int(self.batch_size), g, Xf.device):
                loss = max_margin_loss(up(Xf[idx]), target[idx], W, b, reg)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                log.add(loss=loss)
            out = log.means()
            if changed is not None:
                out["changed"] = float(changed)
            return out

        train_epochs(epoch, int(self.finetune_epochs), desc="fine-tune", verbose=self.verbose,
                     history=self.history_,
                     state={"optimizer": opt, "W": W, "b": b, "batches": g, "labels": state,
                            **{f"layer{i}": p for i, p in enumerate(params)}})
        with torch.no_grad():
            self.layers_ = [(params[i].detach(), vis, params[i + 1].detach())
                            for i, (_, vis, _) in zip(range(0, len(params), 2), self.layers_)]
            self.W_, self.b_ = W.detach(), b.detach()
        labels = relabel()  # the labels of the fine-tuned network, under the constraint
        self.history_.append({"phase": "final", **self._metrics(labels)})
        return labels

    def _features(self, Xf):
        for W, _, b_hid in self.layers_:
            Xf = torch.sigmoid(torch.addmm(b_hid, Xf, W))
        return Xf

    def _predict(self, X):
        Z = self._features(X.reshape(X.shape[0], -1))
        return torch.addmm(self.b_, Z, self.W_).argmax(1)

    def _transform(self, X):
        return self._features(X.reshape(X.shape[0], -1))
