"""Small random rotations and shifts of a batch of images, vectorised (notebook 05).

DCFAE's second stage trains on augmented images: the authors' code passes each batch
through Keras' ``ImageDataGenerator(rotation_range=10, width_shift_range=2,
height_shift_range=2)`` on 32 x 32 images, i.e. a rotation uniform in +-10 degrees and,
because an integer shift range is sampled as ``choice(2) * (+-1)``, a shift of -1, 0 or
+1 pixel along each axis (1/32 of the side). Here one affine map per image, built for
the whole batch at once and applied with ``affine_grid`` / ``grid_sample`` (bilinear,
zero padding: the background of digit images is 0); the shift is a fraction of the side
drawn uniformly, so one setting means the same on 8 x 8 and 32 x 32 images.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["random_rotate_shift"]


def random_rotate_shift(x: torch.Tensor, max_degrees: float = 10.0, max_shift: float = 1 / 32,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate each image of ``x`` (N, C, H, W) by U(-max_degrees, max_degrees) degrees and
    shift it by U(-max_shift, max_shift) of its side along each axis. Same shape as ``x``."""
    n = x.shape[0]
    u = torch.rand((n, 3), generator=generator, device=x.device) * 2.0 - 1.0  # (N, 3) in [-1, 1)
    angle = u[:, 0] * math.radians(float(max_degrees))
    shift = u[:, 1:] * 2.0 * float(max_shift)  # normalised coordinates span 2 per side
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
