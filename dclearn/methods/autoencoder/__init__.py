"""Chapter 02 (notebooks/02_autoencoders.ipynb): clustering in the embedding of an autoencoder.

Files, in reading order:

- ``reconstruction.py``: the reconstruction error (squared error or cross-entropy).
- ``pretrain.py``: the autoencoder pretraining shared by every method of the chapter (and by
  VaDE and DGG in chapter 03), and the mixin that hands it to an estimator.
- ``layerwise.py``: DEC's greedy layer-wise denoising stage that runs before it.
- ``pretrain_store.py``: the pretraining's caches, in memory and optionally on disk.
- ``aekmeans.py``: AE + k-means, the chapter's first baseline.
- ``dec.py``: DEC, soft assignments sharpened into a target distribution.
- ``idec.py``: IDEC, DEC that keeps the decoder's reconstruction term.
- ``dcn.py``: DCN, k-means and reconstruction trained jointly.
- ``n2d.py``: N2D, the autoencoder's embedding mapped by t-SNE (or Isomap), then a GMM.
- ``den.py``: DEN, an embedding shaped by locality and group-sparsity constraints.
- ``depict_net.py``, ``depict_objective.py``, ``depict.py``: DEPICT's network, its balanced
  targets and losses, and the estimator.
"""

from .aekmeans import AEKMeans
from .dcn import DCN
from .dec import DEC
from .den import DEN
from .depict import DEPICT
from .idec import IDEC
from .n2d import N2D
from .pretrain import pretrain_autoencoder

__all__ = ["pretrain_autoencoder", "AEKMeans", "DEC", "IDEC", "DCN", "DEN", "DEPICT", "N2D"]
