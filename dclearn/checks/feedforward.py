"""Checks for chapter 01 (feedforward clustering), gathered: mutual information, VAT, DAC's pairs.

The checks live one module per method group: ``rim.py`` (RIM's mutual information and
IMSAT's VAT perturbation) and ``dac.py`` (DAC's pair selection and share of positive
pairs); this module imports and lists them, as the chapter's notebooks use it
(``from dclearn.checks import feedforward as feedforward_checks``).
"""

from __future__ import annotations

from .dac import check_positive_fraction, check_select_pairs
from .rim import check_mutual_information, check_vat_perturbation

__all__ = ["check_mutual_information", "check_vat_perturbation", "check_select_pairs",
           "check_positive_fraction"]
