"""Chapter 01 (notebooks/01_feedforward.ipynb): clustering with a feedforward network trained by a
clustering loss alone, no decoder.

Files, in reading order:

- ``rim.py``: RIM, a classifier trained to maximise the mutual information between inputs and
  cluster labels; its entropy terms are shared by the chapter.
- ``imsat.py``: IMSAT, RIM plus self-augmentation (VAT, random and affine perturbations).
- ``dac.py``: DAC, pairwise similar/dissimilar decisions on cluster-probability features.
"""

from .dac import DAC
from .imsat import IMSAT
from .rim import RIM

__all__ = ["RIM", "IMSAT", "DAC"]
