"""Chapter 04 (notebooks/04_gan.ipynb): GAN-based clustering.

Files in reading order:

* ``nets.py``: generator and discriminator (InfoGAN's MNIST networks, sized by input shape)
* ``gan.py``: the GAN game (Goodfellow et al. 2014): minimax and non-saturating losses, ``GAN``
* ``health.py``: diagnostics while training: mode collapse, a winning discriminator, NaN
* ``catgan.py``: CatGAN (Springenberg 2016), the discriminator as a K-way clusterer
* ``infogan.py``: InfoGAN (Chen et al. 2016), a categorical code recovered by Q
* ``clustergan.py``: ClusterGAN (Mukherjee et al. 2019), an encoder that inverts G
* ``vaegan_nets.py``, ``vaegan.py``: VAE-GAN (Larsen et al. 2016), a VAE whose reconstruction
  is measured on a discriminator's features; k-means on its codes
* ``discogan_nets.py``, ``discogan.py``, ``discogan_digits.py``: DiscoGAN (Kim et al. 2017),
  two GANs that translate between two unpaired domains, and the course's two domains of digits
  with the class-kept score
"""

from .catgan import CatGAN, catgan_discriminator_loss, catgan_generator_loss
from .clustergan import ClusterGAN, cycle_loss, sample_latent
from .discogan import DISCOGAN_MNIST_SETTINGS, DiscoGAN, const_loss, discogan_losses
from .discogan_digits import class_kept, make_digit_domains, to_domain_b
from .gan import GAN, discriminator_loss, generator_loss, real_fake_accuracy
from .health import GANHealth, GANHealthWarning, category_entropy, entropy
from .infogan import InfoGAN, mutual_information_bound, sample_codes
from .nets import Discriminator, Generator, gan_widths
from .vaegan import VAEGAN, VAEGAN_MNIST_SETTINGS, feature_nll, gan_objective, vaegan_losses

__all__ = [
    "Generator", "Discriminator", "gan_widths",
    "GAN", "discriminator_loss", "generator_loss", "real_fake_accuracy",
    "GANHealth", "GANHealthWarning", "category_entropy", "entropy",
    "CatGAN", "catgan_discriminator_loss", "catgan_generator_loss",
    "InfoGAN", "mutual_information_bound", "sample_codes",
    "ClusterGAN", "cycle_loss", "sample_latent",
    "VAEGAN", "feature_nll", "gan_objective", "vaegan_losses", "VAEGAN_MNIST_SETTINGS",
    "DiscoGAN", "const_loss", "discogan_losses", "DISCOGAN_MNIST_SETTINGS",
    "make_digit_domains", "to_domain_b", "class_kept",
]
