"""RIM: Regularized Information Maximization (Krause, Perona, Gomes, NIPS 2010).

Taught in notebook 01 (feedforward clustering). A discriminative classifier
``p(y | x, W)`` (multinomial logistic regression in the paper; optionally a small
MLP here) is trained without labels to maximise the paper's objective (Sec. 3)

    F(W; X, lambda) = I_W(X; Y) - R(W; lambda),
    I_W(X; Y)       = H(Y) - H(Y | X)
                    = H(p_hat(y)) - 1/N sum_i H(p(y | x_i, W)),
    p_hat(y)        = 1/N sum_i p(y | x_i, W),
    R(W; lambda)    = lambda * sum_k ||w_k||^2   (squared L2 of the weights, biases free).

Maximising the marginal entropy ``H(Y)`` spreads the data over all clusters
(no one-cluster collapse); minimising the conditional entropy ``H(Y | X)`` makes
every decision confident, so the boundaries move to low-density regions; the
weight penalty keeps the boundaries smooth (without it the classifier can split
the data anywhere with arbitrarily large weights). The mutual information is the
empirical estimate over the whole data set, so training here is full batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ...nets import MLP
from ...train import EpochLog, adam, make_generator, predict_in_batches, train_epochs
from ..base import BaseClusterer

__all__ = ["RIM", "mutual_information", "entropy", "weight_penalty"]

_TINY = 1e-12


def entropy(p: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Shannon entropy (natural log) of the distributions along ``dim``; 0 log 0 = 0."""
    return -(p * torch.log(p.clamp_min(_TINY))).sum(dim)


def mutual_information(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Empirical ``I(X; Y) = H(Y) - H(Y | X)`` of soft assignments (RIM, Sec. 3).

    ``probs``: (N, K) rows of ``p(y | x_i)`` (softmax outputs). Returns the scalars
    ``(mi, marginal_entropy, conditional_entropy)`` in nats, where
    ``marginal_entropy = H(mean_i probs_i)`` and
    ``conditional_entropy = mean_i H(probs_i)``. One-hot rows spread evenly over K
    clusters give ``(log K, log K, 0)``; identical rows give ``mi = 0``.
    """
    if probs.ndim != 2:
        raise ValueError(f"probs must be (N, K), got shape {tuple(probs.shape)}.")
    marginal = probs.mean(0)  # (K,) p_hat(y)
    h_y = entropy(marginal)  # H(Y)
    h_y_x = entropy(probs).mean()  # H(Y | X)
    return h_y - h_y_x, h_y, h_y_x


def weight_penalty(model: nn.Module) -> torch.Tensor:
    """``sum ||W||^2`` over the weight matrices of ``model`` (biases are not penalised)."""
    total = None
    for p in model.parameters():
        if p.ndim >= 2:
            s = (p * p).sum()
            total = s if total is None else total + s
    return total if total is not None else torch.zeros(())


class RIM(BaseClusterer):
    """Regularized Information Maximization (Krause et al. 2010).

    Parameters
    ----------
    n_clusters : number of clusters K.
    hidden : hidden layer sizes; ``()`` is the paper's multinomial logistic
        regression ``p(y | x) = softmax(W x + b)``, e.g. ``(100,)`` a small MLP.
    reg : lambda of the weight penalty ``R(W) = lambda * sum ||w_k||^2``,
        relative to the (mean) mutual information term.
    n_epochs : number of full-batch gradient steps (Adam).
    lr : learning rate.
    n_init : number of random restarts, trained side by side (batched weights);
        the one with the highest objective F (an unsupervised criterion, as
        k-means keeps its lowest inertia) is kept.
    random_state, device, verbose : as every dclearn estimator.

    Attributes
    ----------
    labels_ : (N,) int64, ``argmax_k p(y=k | x_i)``.
    model_ : the trained classifier (logits).
    history_ : per-epoch ``loss``, ``mi``, ``h_y``, ``h_y_x`` (and metrics when
        ``y`` was given to ``fit``, for reporting only).

    ``transform(X)`` returns the (N, K) cluster probabilities.
    """

    def __init__(self, n_clusters: int = 10, hidden: Sequence[int] = (), reg: float = 1e-3,
                 n_epochs: int = 300, lr: float = 0.05, n_init: int = 30,
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.n_clusters = n_clusters
        self.hidden = hidden
        self.reg = reg
        self.n_epochs = n_epochs
        self.lr = lr
        self.n_init = n_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _validate_params(self, X):
        self._check_nonnegative(reg=self.reg)
        self._check_positive(lr=self.lr)
        if int(self.n_epochs) < 1 or int(self.n_init) < 1:
            raise ValueError(f"n_epochs and n_init must be >= 1, got {self.n_epochs}, "
                             f"{self.n_init}.")
        if any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden sizes must be >= 1, got {self.hidden}.")

    def _fit(self, X, y):
        Xf = X.reshape(X.shape[0], -1)  # (N, D)
        g = make_generator(self.seed_)
        r = int(self.n_init)
        dims = [Xf.shape[1], *[int(h) for h in self.hidden], self.n_clusters]
        # the n_init restarts train side by side: one stack of weights per restart
        weights = [(torch.randn(r, a, b, generator=g) * (1.0 / a) ** 0.5).to(X.device)
                   .requires_grad_() for a, b in zip(dims[:-1], dims[1:])]  # (R, a, b)
        biases = [torch.zeros(r, 1, b, device=X.device, requires_grad=True) for b in dims[1:]]
        opt = adam([*weights, *biases], lr=self.lr)

        def objective():
            # the first layer sees the same X in every restart: one wide (N, D) x (D, R*b)
            # product instead of R thin ones (several times faster at MNIST's size)
            w0, b0 = weights[0], biases[0]
            h = (Xf @ w0.permute(1, 0, 2).reshape(w0.shape[1], -1)).view(Xf.shape[0], r, -1)
            h = h.permute(1, 0, 2) + b0  # (R, N, b)
            for w, b in zip(weights[1:], biases[1:]):
                h = torch.baddbmm(b, torch.relu(h), w)  # (R, N, b)
            probs = torch.softmax(h, -1)  # (R, N, K) p(y | x_i) of every restart
            h_y = entropy(probs.mean(1))  # (R,) H(Y)
            h_y_x = entropy(probs).mean(1)  # (R,) H(Y | X)
            mi = h_y - h_y_x
            penalty = sum((w * w).sum((1, 2)) for w in weights)  # (R,) sum ||W||^2
            return mi - self.reg * penalty, mi, h_y, h_y_x  # F of Sec. 3, per restart

        def epoch(_):
            log = EpochLog()
            f, mi, h_y, h_y_x = objective()
            loss = -f.sum()  # restarts are independent: the sum trains each one
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            best = f.detach().argmax()
            log.add(loss=-f[best], mi=mi[best], h_y=h_y[best], h_y_x=h_y_x[best])
            return log.means()

        train_epochs(epoch, int(self.n_epochs), desc="RIM", verbose=self.verbose,
                     history=self.history_,
                     state={"optimizer": opt, **{f"weight{i}": w for i, w in enumerate(weights)},
                            **{f"bias{i}": b for i, b in enumerate(biases)}})
        with torch.no_grad():
            f = objective()[0]
            best = int(f.argmax())
            self.objective_ = float(f[best])
            self.model_ = MLP(dims).to(X.device)
            linears = [m for m in self.model_ if isinstance(m, nn.Linear)]
            for lin, w, b in zip(linears, weights, biases):
                lin.weight.copy_(w[best].T)
                lin.bias.copy_(b[best, 0])
        labels = self._predict(X)
        self.history_.append({"phase": "RIM", "objective": self.objective_,
                              **self._metrics(labels)})
        return labels

    def _logits(self, X):
        return predict_in_batches(self.model_, X.reshape(X.shape[0], -1))

    def _predict(self, X):
        return self._logits(X).argmax(1)

    def _transform(self, X):
        return torch.softmax(self._logits(X), 1)  # (N, K) cluster probabilities
