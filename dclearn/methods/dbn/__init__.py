"""Chapter 06 (notebooks/06_comparison.ipynb): deep belief networks with nonparametric
maximum-margin clustering, the survey's fifth kind of deep clustering.

Chen, "Deep learning with nonparametric clustering", arXiv 1501.03084 (2015). Files in
reading order:

- ``rbm.py``: the Bernoulli RBM (free energy, CD-1 gradients, ``train_rbm``) and its greedy
  stacking into a DBN (``train_dbn``, ``dbn_features``);
- ``nmmc.py``: the maximum-margin clustering of the DBN code (Crammer-Singer hinge, the
  class-balance constraint, the CRP-weighted nonparametric mode) and what it keeps of the
  paper's model;
- ``dbn_nmmc.py``: the estimator ``DBNNMMC``: DBN, clustering, then the DBN fine-tuned with
  the clusters' classifiers.
"""

from .dbn_nmmc import DBNNMMC
from .nmmc import (
    balanced_assign,
    crp_assign,
    fit_max_margin,
    max_margin_loss,
    multiclass_hinge,
    nmmc,
)
from .rbm import (
    cd1_gradients,
    dbn_features,
    free_energy,
    hidden_probs,
    init_rbm,
    train_dbn,
    train_rbm,
    visible_probs,
)

__all__ = ["DBNNMMC", "free_energy", "hidden_probs", "visible_probs", "cd1_gradients",
           "init_rbm", "train_rbm", "train_dbn", "dbn_features", "multiclass_hinge",
           "max_margin_loss", "fit_max_margin", "balanced_assign", "crp_assign", "nmmc"]
