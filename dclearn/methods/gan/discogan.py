"""DiscoGAN (Kim, Cha, Kim, Lee and Kim, ICML 2017), taught in notebook 04.

"Learning to Discover Cross-Domain Relations with Generative Adversarial Networks".
Two unpaired image sets, domain A and domain B. A generator ``G_AB`` translates A
into B and ``G_BA`` translates back; a discriminator per domain, ``D_A`` and ``D_B``,
tells real images of its domain from translated ones. Section 2 of the paper builds
the loss in steps: for one direction,

    x_AB  = G_AB(x_A),    x_ABA = G_BA(x_AB)                 (translate, translate back)
    L_CONST_A = d(x_ABA, x_A)                                 (reconstruction; d = MSE)
    L_GAN_B   = -E_{x_A} log D_B(G_AB(x_A))                   (x_AB must look like B)

and DiscoGAN couples two such GANs, one per direction (section 2.3):

    L_G = L_GAN_B + L_CONST_A + L_GAN_A + L_CONST_B          (both generators)
    L_D = L_D_A + L_D_B,   L_D_B = -E_{x_B} log D_B(x_B) - E_{x_A} log(1 - D_B(G_AB(x_A)))

The two reconstruction terms make each translation invertible, so two images of A
cannot land on the same image of B (no mode collapse onto a few B images). They do
not say *which* invertible mapping to learn: any bijection between the domains
that fools the discriminators is a minimum. What the networks find is the mapping
that is easiest for them to represent, which is why DiscoGAN's translations keep
attributes such as orientation or identity. Three knobs beyond the paper's sum:

* ``rec_weight`` multiplies both ``L_CONST`` (1 is the paper's sum). ``d`` is a mean
  over pixels, so on 8x8 digits it is small next to ``L_GAN``. Measured on the
  digit domains: with MLP generators and weights 1 to 10 the adversarial terms won
  and the cycle was lost (``L_CONST`` rising to 0.15); with the conv generators,
  weight 10 kept the cycle but fewer translations kept their class than weight 100
  (the default, ``L_CONST`` near 0.01).
* ``feature_matching``, the official code's option: a share of each ``L_GAN``
  replaced by matching the batch means of the discriminator's features
  (Salimans et al. 2016). Off by default.
* ``instance_noise``: Gaussian noise of this standard deviation added to every image
  a discriminator sees (real or translated; Sonderby et al. 2017). Digits have
  exactly 0 (or, inverted, 1) backgrounds that a sigmoid output never reaches; the
  noise hides that giveaway, so the discriminators judge shapes instead.

For clustering, the figure that matters is how often a translation keeps its class
(``discogan_digits.class_kept``). Nothing in the losses asks for it: the labels are
never seen, and sending every 3 of A to the 5s of B and back is as good a cycle as
keeping it a 3. A high score says that the simplest bijection the networks can
represent between the two data distributions maps the clusters of A onto the
matching clusters of B: the cluster structure is shared, found from the data's
shapes alone, and a clustering of one domain carries over to the other through
``G_AB``. A score near chance (0.1 for ten classes) would say that the clusters
were matched up in some other way, which the GAN cannot tell apart. On digits the
conv-deconv generator keeps the layout of its input, so a change of drawing that
is local (bolder strokes, inverted colours) is found with the classes kept; a
quarter turn on top (``make_digit_domains(..., rotate=True)``) is a global change,
and the translations kept their class at chance level only (see the measured
figures in ``discogan_digits``): the cycle and the discriminators were satisfied
by a mapping that shuffles the digits.

``DiscoGAN`` is not a clusterer (no ``n_clusters``, no ``labels_``): it subclasses
scikit-learn's ``BaseEstimator`` and not ``BaseClusterer``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from torch import nn

from ..._validation import as_tensor
from ...train import (
    EpochLog,
    adam,
    batch_indices,
    configure_backend,
    get_device,
    make_generator,
    predict_in_batches,
    seed_everything,
    train_epochs,
)
from .discogan_nets import DomainDiscriminator, Translator
from .gan import discriminator_loss, generator_loss

__all__ = ["DiscoGAN", "const_loss",
           "feature_matching_loss", "discogan_losses", "DISCOGAN_MNIST_SETTINGS"]

#: Settings for 28x28 MNIST-like domains at the paper's scale (not measured on MNIST
#: here): the paper's Adam (learning rate 2e-4, betas 0.5, 0.999) and batch 64, a
#: three-stage conv-deconv generator, about 19k updates (the official code's
#: curriculum spans the first 10k).
DISCOGAN_MNIST_SETTINGS = dict(arch="conv", channels=(64, 128, 256),
                               dis_channels=(64, 128, 256), rec_weight=100.0,
                               feature_matching=0.0, instance_noise=0.1, epochs=20,
                               batch_size=64, lr=2e-4)


def const_loss(x: torch.Tensor, x_cycle: torch.Tensor) -> torch.Tensor:
    """``L_CONST = d(G_BA(G_AB(x)), x)`` with ``d`` the mean squared error (a 0-d tensor)."""
    return F.mse_loss(x_cycle.float(), x.float())


def feature_matching_loss(f_real: torch.Tensor, f_fake: torch.Tensor) -> torch.Tensor:
    """Mean over features of ``(E f(real) - E f(fake))^2``, batch means (Salimans et al. 2016)."""
    return (f_real.float().mean(0) - f_fake.float().mean(0)).pow(2).mean()


def discogan_losses(nets: dict[str, nn.Module], xa: torch.Tensor, xb: torch.Tensor,
                    rec_weight: float = 1.0, feature_matching: float = 0.0,
                    instance_noise: float = 0.0, generator: torch.Generator | None = None
                    ) -> dict[str, torch.Tensor]:
    """``L_G`` (``generator``) and ``L_D`` (``discriminator``) on a batch of each domain.

    ``nets`` holds ``G_AB``, ``G_BA``, ``D_A``, ``D_B``. Each ``L_GAN`` term is the
    non-saturating generator loss (``gan.generator_loss``), its share
    ``feature_matching`` replaced by feature matching; ``L_G = sum of L_GAN +
    rec_weight * (L_CONST_A + L_CONST_B)``; each ``L_D`` is ``gan.discriminator_loss``.
    ``instance_noise`` (drawn with ``generator``) is added to the discriminators' inputs.
    Also returns the parts. ``L_D`` depends on the generators too: train each
    player on its own loss only (``backward(inputs=...)``, as ``DiscoGAN.fit`` does).
    """
    x_ab, x_ba = nets["G_AB"](xa), nets["G_BA"](xb)  # translations
    x_aba, x_bab = nets["G_BA"](x_ab), nets["G_AB"](x_ba)  # and back
    const_a, const_b = const_loss(xa, x_aba), const_loss(xb, x_bab)
    fm = float(feature_matching)
    out = {"const_a": const_a, "const_b": const_b}
    gen = float(rec_weight) * (const_a + const_b)
    dis = 0.0
    for dom, real, fake in (("a", xa, x_ba), ("b", xb, x_ab)):
        D = nets["D_" + dom.upper()]
        n = real.shape[0]
        both = torch.cat([real, fake])  # (n + m, ...)
        if instance_noise > 0:
            both = both + float(instance_noise) * torch.randn(
                both.shape, generator=generator, device=both.device, dtype=both.dtype)
        f, s = D(both)  # (n + m, F), (n + m,)
        out["d_" + dom] = discriminator_loss(s[:n].float(), s[n:].float())
        adv = generator_loss(s[n:].float())
        out["gan_" + dom] = adv
        if fm > 0:
            adv = (1.0 - fm) * adv + fm * feature_matching_loss(f[:n].detach(), f[n:])
        gen = gen + adv
        dis = dis + out["d_" + dom]
    out["generator"], out["discriminator"] = gen, dis
    return out


class DiscoGAN(BaseEstimator):
    """DiscoGAN (Kim et al. 2017): unpaired translation between two image domains.

    ``fit(XA, XB)`` trains ``G_AB``, ``G_BA``, ``D_A``, ``D_B`` on the losses of the
    module docstring with Adam (betas 0.5, 0.999; both players updated from the
    same batch). ``XA`` and ``XB`` need not have the same number of images, nor
    any pairing; their images must have the same shape, values in [0, 1].

    Parameters
    ----------
    arch : ``"conv"`` (images) or ``"mlp"`` (any shape).
    hidden : width of an MLP generator's hidden layer (``arch="mlp"``).
    channels, dis_channels : conv widths of generators and discriminators (None:
        32, 64 for images up to 16x16, else 64, 128, 256 for the generators;
        ``nets.ConvEncoder``'s default for the discriminators); MLP widths for the
        discriminators when ``arch="mlp"`` (None: 256, 256).
    rec_weight : weight of the two reconstruction terms ``L_CONST``.
    feature_matching : share of each ``L_GAN`` replaced by feature matching, in [0, 1].
    instance_noise : standard deviation of the noise on the discriminators' inputs.
    epochs, batch_size, lr : training; an epoch is one pass over the smaller domain.

    Fitted attributes: ``G_AB_``, ``G_BA_``, ``D_A_``, ``D_B_``, ``input_shape_``,
    ``history_`` (per epoch: ``gan_a``, ``gan_b``, ``const_a``, ``const_b``, ``d_a``, ``d_b``).
    """

    def __init__(self, arch: str = "conv", hidden: int = 256, channels: tuple | None = None,
                 dis_channels: tuple | None = None, rec_weight: float = 100.0,
                 feature_matching: float = 0.0, instance_noise: float = 0.1,
                 epochs: int = 40, batch_size: int = 64, lr: float = 2e-3,
                 random_state: int | None = None, device: str = "auto",
                 verbose: bool = True) -> None:
        self.arch = arch
        self.hidden = hidden
        self.channels = channels
        self.dis_channels = dis_channels
        self.rec_weight = rec_weight
        self.feature_matching = feature_matching
        self.instance_noise = instance_noise
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # --- validation -----------------------------------------------------------------
    def _validate(self, XA: torch.Tensor, XB: torch.Tensor) -> None:
        if self.arch not in ("conv", "mlp"):
            raise ValueError(f"arch must be 'conv' or 'mlp', got {self.arch!r}.")
        if tuple(XA.shape[1:]) != tuple(XB.shape[1:]):
            raise ValueError(f"XA and XB must hold images of the same shape; got samples of "
                             f"shape {tuple(XA.shape[1:])} (A) and {tuple(XB.shape[1:])} (B).")
        if self.arch == "conv" and (XA.ndim != 4 or XA.shape[2] != XA.shape[3]):
            raise ValueError("arch='conv' needs square images (N x C x H x W); got samples of "
                             f"shape {tuple(XA.shape[1:])}. Use arch='mlp' for vectors.")
        for name, X in (("XA", XA), ("XB", XB)):
            lo, hi = float(X.min()), float(X.max())
            if lo < 0 or hi > 1:
                raise ValueError(f"{name} must have values in [0, 1] (the generators end in "
                                 f"a sigmoid); got [{lo:.3g}, {hi:.3g}].")
            if X.shape[0] < 2:
                raise ValueError(f"{name} needs at least 2 images, got {X.shape[0]}.")
        for name in ("hidden", "epochs", "batch_size"):
            v = getattr(self, name)
            low = 0 if name == "epochs" else 1
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}.")
        for name in ("lr", "rec_weight"):
            v = getattr(self, name)
            if v is None or not np.isfinite(v) or v < 0 or (name == "lr" and v == 0):
                raise ValueError(f"{name} must be a {'positive' if name == 'lr' else '>= 0'} "
                                 f"number, got {v!r}.")
        fm = self.feature_matching
        if fm is None or not 0.0 <= float(fm) <= 1.0:
            raise ValueError(f"feature_matching must be in [0, 1], got {fm!r}.")
        noise = self.instance_noise
        if noise is None or not np.isfinite(noise) or noise < 0:
            raise ValueError(f"instance_noise must be a number >= 0, got {noise!r}.")

    # --- training -------------------------------------------------------------------
    def fit(self, XA, XB):
        """Train on unpaired images ``XA`` (domain A) and ``XB`` (domain B); returns self."""
        XA, XB = as_tensor(XA, "XA"), as_tensor(XB, "XB")
        self._validate(XA, XB)
        self.input_shape_ = shape = tuple(XA.shape[1:])
        self.device_ = dev = get_device(self.device)
        configure_backend(dev)
        self.seed_ = seed_everything(self.random_state)
        XA, XB = XA.to(dev), XB.to(dev)
        arch, hidden = self.arch, int(self.hidden)
        self.G_AB_ = Translator(shape, hidden, self.channels, arch).to(dev)
        self.G_BA_ = Translator(shape, hidden, self.channels, arch).to(dev)
        self.D_A_ = DomainDiscriminator(shape, self.dis_channels, arch).to(dev)
        self.D_B_ = DomainDiscriminator(shape, self.dis_channels, arch).to(dev)
        nets = {"G_AB": self.G_AB_, "G_BA": self.G_BA_, "D_A": self.D_A_, "D_B": self.D_B_}
        g_params = [*self.G_AB_.parameters(), *self.G_BA_.parameters()]
        d_params = [*self.D_A_.parameters(), *self.D_B_.parameters()]
        opt = adam([{"params": g_params}, {"params": d_params}], lr=float(self.lr),
                   betas=(0.5, 0.999))
        g_order = make_generator(self.seed_, "cpu")
        g_noise = make_generator(self.seed_ + 1, dev)
        bs = int(self.batch_size)
        self.history_: list[dict] = []

        def epoch_fn(epoch: int) -> dict:
            log = EpochLog()
            batches_a = batch_indices(XA.shape[0], bs, g_order, dev, drop_last=True)
            batches_b = batch_indices(XB.shape[0], bs, g_order, dev, drop_last=True)
            for ia, ib in zip(batches_a, batches_b):
                losses = discogan_losses(nets, XA[ia], XB[ib], self.rec_weight,
                                         self.feature_matching, self.instance_noise, g_noise)
                opt.zero_grad(set_to_none=True)
                losses["generator"].backward(inputs=g_params, retain_graph=True)
                losses["discriminator"].backward(inputs=d_params)
                opt.step()
                log.add(**{k: losses[k] for k in ("gan_a", "gan_b", "const_a", "const_b",
                                                  "d_a", "d_b")})
            return log.means()

        for m in nets.values():
            m.train()
        train_epochs(epoch_fn, int(self.epochs), desc="DiscoGAN", verbose=self.verbose,
                     history=self.history_)
        for m in nets.values():
            m.eval()
        return self

    # --- translation ----------------------------------------------------------------
    def _input(self, X, name: str) -> torch.Tensor:
        if not hasattr(self, "G_AB_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. "
                                 "Call 'fit' with XA and XB first.")
        Xt = as_tensor(X, name)
        if tuple(Xt.shape[1:]) != self.input_shape_:
            raise ValueError(f"{name} has sample shape {tuple(Xt.shape[1:])}, but DiscoGAN was "
                             f"fitted on samples of shape {self.input_shape_}.")
        return Xt.to(self.device_)

    def _apply(self, G: nn.Module, X: torch.Tensor) -> np.ndarray:
        G.eval()
        return predict_in_batches(G, X).float().cpu().numpy()

    def translate_ab(self, X) -> np.ndarray:
        """``G_AB(X)``: images of domain A translated into domain B (numpy, in [0, 1])."""
        Xt = self._input(X, "X")
        return self._apply(self.G_AB_, Xt)

    def translate_ba(self, X) -> np.ndarray:
        """``G_BA(X)``: images of domain B translated into domain A (numpy, in [0, 1])."""
        Xt = self._input(X, "X")
        return self._apply(self.G_BA_, Xt)

    def cycle_a(self, X) -> np.ndarray:
        """``G_BA(G_AB(X))``: images of A there and back (numpy), to see ``L_CONST_A``."""
        Xt = self._input(X, "X")
        return self._apply(nn.Sequential(self.G_AB_, self.G_BA_), Xt)

    def cycle_b(self, X) -> np.ndarray:
        """``G_AB(G_BA(X))``: images of B there and back (numpy), to see ``L_CONST_B``."""
        Xt = self._input(X, "X")
        return self._apply(nn.Sequential(self.G_BA_, self.G_AB_), Xt)
