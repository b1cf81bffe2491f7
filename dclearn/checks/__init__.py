"""Checks for the exercise notebooks, one module per chapter or per method.

Chapter 01's checks live in ``rim`` and ``dac``, gathered by ``feedforward``; chapter
02's in ``dec``, ``dec_loop``, ``dcn`` and ``depict``, gathered by ``autoencoders`` with
``use_solved``: the notebooks import those two modules.

Each ``check_xxx(fn)`` runs a learner's function on random inputs, compares the
result with dclearn's own implementation and, on a mismatch, raises an
``ExerciseCheckError`` (an ``AssertionError``) that says in words what is wrong
(wrong shape, rows that do not sum to one, a classic mistake recognised by name, ...).
On success it prints one line. Notebooks call them as ``checks.check_xxx(fn)``.
"""

from ._base import ExerciseCheckError
from .basics import check_cluster_acc, check_gmm_responsibilities, check_kmeans_step
from .catgan import check_catgan_losses
from .dac import check_positive_fraction, check_select_pairs
from .dcfae import (
    check_fused_loss,
    check_pairwise_cross_entropy,
    check_student_t_similarities,
)
from .dcn import check_dcn_centroid_update
from .dec import (
    check_idec_loss,
    check_kl_clustering_loss,
    check_soft_assignment,
    check_target_distribution,
    check_target_without_f,
)
from .dec_loop import check_dec_training_loop
from .depict import check_depict_objective, check_depict_targets
from .gan import check_gan_losses, check_infogan_mi
from .rim import check_mutual_information, check_vat_perturbation
from .vae import (
    check_gaussian_kl,
    check_graph_counterexample,
    check_graph_term,
    check_reparameterize,
    check_vade_elbo,
    check_vade_responsibilities,
)

__all__ = [
    "ExerciseCheckError",
    # chapter 00
    "check_cluster_acc", "check_kmeans_step", "check_gmm_responsibilities",
    # chapter 01
    "check_mutual_information", "check_vat_perturbation", "check_select_pairs",
    "check_positive_fraction",
    # chapter 02
    "check_soft_assignment", "check_target_distribution", "check_kl_clustering_loss",
    "check_dcn_centroid_update", "check_target_without_f", "check_idec_loss",
    "check_depict_objective", "check_depict_targets", "check_dec_training_loop",
    # chapter 03
    "check_reparameterize", "check_gaussian_kl", "check_vade_responsibilities",
    "check_vade_elbo", "check_graph_term", "check_graph_counterexample",
    # chapter 04
    "check_gan_losses", "check_catgan_losses", "check_infogan_mi",
    # chapter 05
    "check_student_t_similarities", "check_pairwise_cross_entropy", "check_fused_loss",
]
