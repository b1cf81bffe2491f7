"""The estimators by short name, and the settings ``bench`` uses for them at paper scale.

``python -m dclearn bench``, ``tools/stability.py`` and the tests look methods up here. A new
method adds one line to ``METHODS`` (and, when its paper's MNIST settings differ from its
digits defaults, an entry in ``PAPER_SCALE``).
"""

from __future__ import annotations

import importlib

from .dbn.dbn_nmmc import MNIST_SETTINGS as _DBN_MNIST
from .gan.vaegan import VAEGAN_MNIST_SETTINGS as _VAEGAN_MNIST

__all__ = ["METHODS", "PAPER_SCALE", "PAPER_SCALE_DATASETS", "TITLES", "PAPER_MNIST_ACC",
           "available_methods",
           "make_estimator", "bench_overrides"]

# name -> (module, class, default kwargs). Chapters add their methods here.
METHODS: dict[str, tuple[str, str, dict]] = {
    "kmeans": ("dclearn.methods.classic.kmeans", "KMeans", {}),
    "gmm": ("dclearn.methods.classic.gmm", "GMM", {}),
    "spectral": ("dclearn.methods.classic.spectral", "Spectral", {}),
    "tsne_gmm": ("dclearn.methods.classic.tsne_gmm", "TSNEGMM", {}),
    # chapter 01: feedforward
    "rim": ("dclearn.methods.feedforward.rim", "RIM", {}),
    "imsat": ("dclearn.methods.feedforward.imsat", "IMSAT", {}),
    "dac": ("dclearn.methods.feedforward.dac", "DAC", {}),
    # chapter 02: autoencoders
    "aekmeans": ("dclearn.methods.autoencoder.aekmeans", "AEKMeans", {}),
    "dec": ("dclearn.methods.autoencoder.dec", "DEC", {}),
    "idec": ("dclearn.methods.autoencoder.idec", "IDEC", {}),
    "dcn": ("dclearn.methods.autoencoder.dcn", "DCN", {}),
    "depict": ("dclearn.methods.autoencoder.depict", "DEPICT", {}),
    "den": ("dclearn.methods.autoencoder.den", "DEN", {}),
    "n2d": ("dclearn.methods.autoencoder.n2d", "N2D", {}),
    # chapter 03: variational autoencoders
    "vae": ("dclearn.methods.vae.vae", "VAE", {}),
    "vade": ("dclearn.methods.vae.vade", "VaDE", {}),
    "dgg": ("dclearn.methods.vae.dgg", "DGG", {}),
    "ltvae": ("dclearn.methods.vae.ltvae", "LTVAE", {}),
    # chapter 04: GANs (the plain GAN and DiscoGAN are not clusterers)
    "catgan": ("dclearn.methods.gan.catgan", "CatGAN", {}),
    "infogan": ("dclearn.methods.gan.infogan", "InfoGAN", {}),
    "clustergan": ("dclearn.methods.gan.clustergan", "ClusterGAN", {}),
    "vaegan": ("dclearn.methods.gan.vaegan", "VAEGAN", {}),
    # chapter 05: the capstone
    "dcfae": ("dclearn.methods.dcfae.dcfae", "DCFAE", {}),
    # chapter 06: the survey's fifth kind
    "dbn_nmmc": ("dclearn.methods.dbn.dbn_nmmc", "DBNNMMC", {}),
}

# Paper-scale settings for the 28x28 datasets (the papers' d-500-500-2000-10 autoencoder,
# batches of 256, P updated every 140 iterations as in DEC's and IDEC's MNIST runs).
# The pretraining is DEC's reference recipe, which IDEC's MNIST figures also start from
# (its authors load DEC's pretrained weights): greedy layer-wise denoising stage of 50,000
# steps per layer (183 epochs of 70,000 images), fine-tuning for 100,000 steps (366
# epochs), SGD with momentum 0.9 at lr 0.1 divided by 10 every 20,000 steps, pixels
# scaled by 5. About 70 minutes on two CPU threads. Applied by ``bench`` only.
_PAPER_AE = dict(hidden=(500, 500, 2000), batch_size=256, pretrain_layerwise_epochs=183,
                 pretrain_epochs=366, pretrain_solver="sgd", pretrain_lr=0.1,
                 pretrain_input_scale=5.0)
_PAPER_VAE = dict(hidden=(500, 500, 2000), pretrain_batch_size=256,
                  pretrain_layerwise_epochs=183, pretrain_epochs=366, pretrain_solver="sgd",
                  pretrain_lr=0.1, pretrain_input_scale=5.0, batch_size=100, epochs=300,
                  n_restarts=1)
PAPER_SCALE: dict[str, dict] = {
    "aekmeans": _PAPER_AE,
    "dec": {**_PAPER_AE, "update_interval": 140, "max_iter": 20000},
    "idec": {**_PAPER_AE, "update_interval": 140, "max_iter": 20000},
    "dcn": _PAPER_AE,
    # N2D: the chapter's paper-scale autoencoder (the N2D paper's is the same d-500-500-2000-K)
    "n2d": _PAPER_AE,
    # DEN: the family's paper-scale autoencoder (its layer-wise stage, then 50 + 50 epochs)
    "den": dict(hidden=(500, 500, 2000), batch_size=256),
    # DEPICT: its defaults are already the paper's (two conv layers of 50 maps, batches
    # of 100, dropout 0.1); no entry.
    # IMSAT: the authors' MNIST settings (Hu et al. 2017, section 4 and their code)
    "imsat": dict(lam=0.1, xi=10.0, eps_scale=0.25, n_epochs=50),
    # VaDE / DGG: the network VaDE shares with DEC, pretrained by the same DEC recipe (its
    # Bernoulli decoder trained by cross-entropy against the unscaled pixels), then the
    # paper's batches of 100 for 300 epochs, one fit (no restarts: a fit takes hours on a
    # CPU, and the paper reports single fits). VaDE also takes the authors' MNIST code's
    # optimiser and start (github.com/slim1017/VaDE, VaDE.py): Adam's epsilon 1e-4, the
    # decayed lr floored at 0.0002, a Glorot-initialised log-variance head, uniform pi.
    "vade": {**_PAPER_VAE, "adam_eps": 1e-4, "lr_min": 2e-4, "logvar_init": None,
             "pi_init": "uniform"},
    "dgg": _PAPER_VAE,
    # GANs on 28x28: the networks take the papers' widths by themselves. CatGAN: batches of
    # 100, 128-d noise; InfoGAN: about the 5,000 updates of 128 of the authors' MNIST script;
    # ClusterGAN: the standard GAN with InfoGAN's rates (its paper: WGAN-GP at 1e-4)
    "catgan": dict(latent_dim=128, batch_size=100, n_epochs=100),
    "infogan": dict(batch_size=128, n_epochs=10),
    "clustergan": dict(n_epochs=100),
    "vaegan": _VAEGAN_MNIST,
    # DCFAE: the authors' code's widths (chosen by image size), weights, batch and rate
    "dcfae": dict(grouper_hidden=(2048, 512, 512), adversarial_weight=100.0, batch_size=256,
                  lr=1e-4, pretrain_epochs=100, epochs=100, image_size=32),
    # DBN + NMMC: the standard DBN recipe (Hinton, Osindero and Teh 2006; see dbn_nmmc.py)
    "dbn_nmmc": _DBN_MNIST,
}
PAPER_SCALE_DATASETS = ("mnist", "mnist_test", "fashion_mnist")


def available_methods() -> list[str]:
    """Registered methods whose module can be imported."""
    out = []
    for name, (mod, cls, _) in METHODS.items():
        try:
            getattr(importlib.import_module(mod), cls)
        except (ImportError, AttributeError):
            continue
        out.append(name)
    return out


def make_estimator(name: str, n_clusters: int, seed: int, device: str = "auto",
                   verbose: bool = False, **overrides):
    """A registered estimator with its benchmark defaults."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(available_methods())}.")
    mod, cls, defaults = METHODS[name]
    est_cls = getattr(importlib.import_module(mod), cls)
    kwargs = {**defaults, **overrides}
    return est_cls(n_clusters=n_clusters, random_state=seed, device=device, verbose=verbose,
                   **kwargs)


def bench_overrides(name: str, dataset: str) -> dict:
    """Settings ``bench`` changes from a method's defaults for ``dataset`` (paper scale)."""
    return dict(PAPER_SCALE.get(name, {})) if dataset in PAPER_SCALE_DATASETS else {}


# How the tables name each method, its chapter, and its paper's MNIST accuracy (the figure
# each paper reports for its own method on MNIST's 70,000 images; blank where the paper
# reports none on MNIST). Read by tools/make_tables.py and notebook 06.
TITLES: dict[str, tuple[str, str]] = {
    "kmeans": ("k-means (raw pixels)", "00"),
    "gmm": ("GMM, diagonal (raw pixels)", "00"),
    "spectral": ("spectral clustering, 10-NN graph (raw pixels)", "06"),
    "tsne_gmm": ("t-SNE + GMM (raw pixels)", "06"),
    "rim": ("RIM", "01"),
    "imsat": ("IMSAT (VAT)", "01"),
    "dac": ("DAC", "01"),
    "aekmeans": ("AE + k-means", "02"),
    "dec": ("DEC", "02"),
    "idec": ("IDEC", "02"),
    "dcn": ("DCN", "02"),
    "depict": ("DEPICT", "02"),
    "den": ("DEN", "02"),
    "n2d": ("N2D (AE + t-SNE + GMM)", "06"),
    "vae": ("VAE + k-means", "03"),
    "vade": ("VaDE (4 restarts)", "03"),
    "dgg": ("DGG (4 restarts)", "03"),
    "ltvae": ("LTVAE (digit facet)", "03"),
    "catgan": ("CatGAN", "04"),
    "infogan": ("InfoGAN", "04"),
    "clustergan": ("ClusterGAN", "04"),
    "vaegan": ("VAE-GAN + k-means", "04"),
    "dcfae": ("DCFAE", "05"),
    "dbn_nmmc": ("DBN + NMMC", "06"),
}
PAPER_MNIST_ACC: dict[str, float] = {
    "imsat": 0.984,   # Hu et al. 2017 (IMSAT with VAT)
    "dac": 0.978,     # Chang et al. 2017
    "dec": 0.843,     # Xie et al. 2016
    "idec": 0.881,    # Guo et al. 2017
    "dcn": 0.830,     # Yang et al. 2017
    "depict": 0.965,  # Ghasedi Dizaji et al. 2017
    "n2d": 0.979,     # McConville et al. 2020 (with UMAP)
    "vade": 0.945,    # Jiang et al. 2017
    "infogan": 0.95,  # Chen et al. 2016 (5% error with the categorical code)
    "clustergan": 0.95,  # Mukherjee et al. 2019 (0.91 +- 0.04 over 10 runs in its repository)
}
