"""The adversarial half of a GAN fine-tune (recipe `adv_weight > 0`, DDR factor 2).

A U-Net discriminator with spectral normalisation after Real-ESRGAN's
UNetDiscriminatorSN (Wang et al. 2021): it returns one logit per pixel, so
the generator is told *where* its output looks fake rather than getting one
verdict per crop, which suits SR's local textures. Spectral normalisation
keeps the discriminator 1-Lipschitz-ish, so its gradients to the generator
stay bounded and the fine-tune does not blow up (Real-ESRGAN's reason to use
it). Losses are the vanilla (non-saturating) GAN ones on logits.

Needs only torch (runs on the GPU machine).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm


def _sn_conv(cin: int, cout: int, kernel: int, stride: int) -> nn.Module:
    """A bias-free conv whose weight is divided by its largest singular value
    (one power iteration per training forward)."""
    return spectral_norm(nn.Conv2d(cin, cout, kernel, stride, padding=1, bias=False))


class UNetDiscriminatorSN(nn.Module):
    """Per-pixel real/fake logits for an RGB image whose sides are multiples of 8.

    conv0 (3x3, 3 -> F, no SN: the input layer sees raw pixels), three 4x4
    stride-2 SN convs down to F*2/F*4/F*8 at 1/8 resolution, then three steps
    back up (bilinear x2, SN 3x3 conv, plus the encoder feature of that size:
    the skips let fine detail reach the output), two more SN 3x3 convs and a
    plain 3x3 conv to 1 channel. LeakyReLU(0.2) everywhere but the output.
    """

    def __init__(self, num_in_ch: int = 3, num_feat: int = 64, skip_connection: bool = True) -> None:
        super().__init__()
        f = num_feat
        self.skip_connection = skip_connection
        self.conv0 = nn.Conv2d(num_in_ch, f, 3, 1, 1)
        self.down1 = _sn_conv(f, 2 * f, 4, 2)
        self.down2 = _sn_conv(2 * f, 4 * f, 4, 2)
        self.down3 = _sn_conv(4 * f, 8 * f, 4, 2)
        self.up1 = _sn_conv(8 * f, 4 * f, 3, 1)
        self.up2 = _sn_conv(4 * f, 2 * f, 3, 1)
        self.up3 = _sn_conv(2 * f, f, 3, 1)
        self.extra1 = _sn_conv(f, f, 3, 1)
        self.extra2 = _sn_conv(f, f, 3, 1)
        self.conv_out = nn.Conv2d(f, 1, 3, 1, 1)

    def sn_modules(self) -> list[nn.Module]:
        return [m for m in self.modules() if parametrize.is_parametrized(m, "weight")]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 8 or x.shape[-2] % 8:
            raise ValueError(f"UNetDiscriminatorSN needs sides divisible by 8, got {tuple(x.shape[-2:])}")
        # The normalised weights are computed once per forward, in fp32 even under
        # autocast: torch's power iteration mixes a bf16 mv with fp32 u/v otherwise.
        with parametrize.cached():
            with torch.autocast(device_type=x.device.type, enabled=False):
                for m in self.sn_modules():
                    m.weight  # noqa: B018 (fills the cache)
            return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        def act(t: torch.Tensor) -> torch.Tensor:
            return F.leaky_relu(t, 0.2)

        def up(t: torch.Tensor) -> torch.Tensor:
            return F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)

        x0 = act(self.conv0(x))
        x1 = act(self.down1(x0))
        x2 = act(self.down2(x1))
        x3 = act(self.down3(x2))
        y = act(self.up1(up(x3)))
        if self.skip_connection:
            y = y + x2
        y = act(self.up2(up(y)))
        if self.skip_connection:
            y = y + x1
        y = act(self.up3(up(y)))
        if self.skip_connection:
            y = y + x0
        y = act(self.extra1(y))
        y = act(self.extra2(y))
        return self.conv_out(y)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """BCE of real pixels against 1 plus fake pixels against 0 (each a mean):
    2 log 2 for a discriminator that cannot tell them apart, 0 for a perfect one."""
    real, fake = real_logits.float(), fake_logits.float()
    return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def generator_adv_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: BCE of fake pixels against 1 (-log D(G(x))),
    which keeps useful gradients while the discriminator still wins easily."""
    fake = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
