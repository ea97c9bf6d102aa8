"""SwinIR for image SR with SwinIR's own key names, so its published
checkpoints load and spandrel loads ours.

`relative_position_index` and `attn_mask` are persistent buffers (spandrel
reads the window size and `img_size` from them). The input is reflect-padded
to a multiple of the window and the output cropped back, so any size works;
windows are absolute (they start at the top-left corner), so a crop of an
image is processed differently from the same pixels in the full image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sr_demo.models.archs import register_arch


def _layers(m: "SwinIR") -> dict[str, str]:
    """Only the convolutions give feature maps; the Swin stages in between give token sequences."""
    return {"conv_first": "conv_first", "conv_after_body": "conv_after_body"}
from sr_demo.models.archs.edsr import DIV2K_RGB_MEAN, Upsample


def window_partition(x: torch.Tensor, ws: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * H/ws * W/ws, ws*ws, C)."""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def window_reverse(windows: torch.Tensor, ws: int, h: int, w: int) -> torch.Tensor:
    """(B * H/ws * W/ws, ws*ws, C) -> (B, H, W, C)."""
    c = windows.shape[-1]
    x = windows.view(-1, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, w, c)


def shifted_window_mask(h: int, w: int, ws: int, shift: int) -> torch.Tensor:
    """(nW, ws*ws, ws*ws) additive mask (0 or -100) that stops tokens from
    attending across the wrap-around seams of a cyclic shift (Swin)."""
    regions = torch.zeros(1, h, w, 1)
    cuts = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    for i, hs in enumerate(cuts):
        for j, wsl in enumerate(cuts):
            regions[:, hs, wsl, :] = 3 * i + j
    ids = window_partition(regions, ws).squeeze(-1)
    diff = ids[:, None, :] - ids[:, :, None]
    return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)


class DropPath(nn.Module):
    """Stochastic depth per sample (training only)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty(x.shape[0], *(1,) * (x.dim() - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside a ws x ws window with a learned
    relative position bias."""

    def __init__(self, dim: int, ws: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        ys, xs = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
        coords = torch.stack([ys.flatten(), xs.flatten()])  # 2, N
        rel = (coords[:, :, None] - coords[:, None, :]) + (ws - 1)  # 2, N, N
        self.register_buffer("relative_position_index", rel[0] * (2 * ws - 1) + rel[1])
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        bw, n, c = x.shape
        q, k, v = self.qkv(x).view(bw, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(n, n, -1).permute(2, 0, 1).unsqueeze(0)  # 1, heads, N, N
        if mask is not None:  # windows are batch-major: (B*nW) -> (B, nW)
            nw = mask.shape[0]
            bias = (bias.unsqueeze(0) + mask[None, :, None]).expand(bw // nw, -1, -1, -1, -1)
            bias = bias.reshape(bw, self.num_heads, n, n)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class SwinTransformerBlock(nn.Module):
    """LayerNorm -> (shifted) window attention -> + ; LayerNorm -> MLP -> +."""

    def __init__(
        self, dim: int, img_size: int, num_heads: int, ws: int, shift: int, mlp_ratio: float, drop_path: float
    ) -> None:
        super().__init__()
        if img_size <= ws:  # SwinIR's rule: one window covers the training patch
            ws, shift = img_size, 0
        self.ws, self.shift, self.img_size = ws, shift, img_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, num_heads)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        mask = shifted_window_mask(img_size, img_size, ws, shift) if shift else None
        self.register_buffer("attn_mask", mask)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        h, w = hw
        b, _, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        mask = None
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), dims=(1, 2))
            if hw == (self.img_size, self.img_size):
                mask = self.attn_mask
            else:
                mask = shifted_window_mask(h, w, self.ws, self.shift).to(x.device)
        y = window_reverse(self.attn(window_partition(y, self.ws), mask), self.ws, h, w)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), dims=(1, 2))
        x = x + self.drop_path(y.reshape(b, h * w, c))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class BasicLayer(nn.Module):
    def __init__(self, blocks: list[SwinTransformerBlock]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, hw)
        return x


class RSTB(nn.Module):
    """Residual Swin Transformer block: Swin blocks, a 3x3 conv on the
    token map reshaped to an image, and a skip."""

    def __init__(self, dim: int, blocks: list[SwinTransformerBlock]) -> None:
        super().__init__()
        self.residual_group = BasicLayer(blocks)
        self.conv = nn.Conv2d(dim, dim, 3, 1, 1)

    def forward(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        y = self.residual_group(x, hw)
        y = self.conv(y.transpose(1, 2).reshape(x.shape[0], -1, *hw))
        return x + y.flatten(2).transpose(1, 2)


class PatchEmbed(nn.Module):
    """Feature map -> tokens (patch size 1), then LayerNorm (`patch_norm`)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.flatten(2).transpose(1, 2))


@register_arch("swinir", supports_half=False, tiling_ok=False,
               crop_sensitive="self-attention in windows fixed to the image grid", feature_layers=_layers)
class SwinIR(nn.Module):
    """SwinIR (Liang et al., "SwinIR: Image Restoration Using Swin
    Transformer", ICCVW 2021) for SR; defaults are the lightweight model
    (SwinIR-S: embed 60, depths and heads (6,6,6,6), window 8, MLP ratio 2,
    one-step pixel-shuffle upsampler).

    Args:
        scale: upscaling factor (any integer for "pixelshuffledirect";
            2^n or 3 for "pixelshuffle").
        embed_dim: token width.
        depths: Swin blocks per residual Swin Transformer block (RSTB).
        num_heads: attention heads per RSTB.
        window_size: attention window (pixels of the LR feature map).
        mlp_ratio: MLP hidden width / embed_dim.
        img_size: training patch size; only sets the stored `attn_mask`
            buffers (what spandrel reads), not which inputs work. Published
            checkpoints use 64; 16 shrinks the saved masks 16-fold.
        img_range: inputs scaled to [0, img_range] after mean removal.
        upsampler: "pixelshuffledirect" (lightweight: one conv to
            3*scale^2 channels + PixelShuffle) or "pixelshuffle" (classical:
            conv_before_upsample to 64 ch, sub-pixel stages, conv_last).
        drop_path_rate: stochastic depth, linear over blocks up to this.
    """

    def __init__(
        self,
        scale: int = 4,
        embed_dim: int = 60,
        depths: tuple[int, ...] = (6, 6, 6, 6),
        num_heads: tuple[int, ...] = (6, 6, 6, 6),
        window_size: int = 8,
        mlp_ratio: float = 2.0,
        img_size: int = 64,
        img_range: float = 1.0,
        upsampler: str = "pixelshuffledirect",
        drop_path_rate: float = 0.1,
    ) -> None:
        super().__init__()
        if len(depths) != len(num_heads):
            raise ValueError("depths and num_heads must have the same length")
        self.scale = scale
        self.img_range = img_range
        self.window_size = window_size
        self.upsampler = upsampler
        self.register_buffer("mean", torch.tensor(DIV2K_RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.conv_first = nn.Conv2d(3, embed_dim, 3, 1, 1)
        self.patch_embed = PatchEmbed(embed_dim)
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.layers = nn.ModuleList()
        for depth, heads in zip(depths, num_heads):
            blocks = [
                SwinTransformerBlock(
                    embed_dim, img_size, heads, window_size, window_size // 2 if j % 2 else 0, mlp_ratio, rates.pop(0)
                )
                for j in range(depth)
            ]
            self.layers.append(RSTB(embed_dim, blocks))
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = nn.Conv2d(embed_dim, embed_dim, 3, 1, 1)
        if upsampler == "pixelshuffledirect":
            self.upsample = nn.Sequential(nn.Conv2d(embed_dim, 3 * scale**2, 3, 1, 1), nn.PixelShuffle(scale))
        elif upsampler == "pixelshuffle":
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, 64, 3, 1, 1), nn.LeakyReLU(inplace=True))
            self.upsample = Upsample(scale, 64)
            self.conv_last = nn.Conv2d(64, 3, 3, 1, 1)
        else:
            raise ValueError(f"upsampler must be 'pixelshuffledirect' or 'pixelshuffle', got {upsampler!r}")
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        hw = (x.shape[2], x.shape[3])
        t = self.patch_embed(x)
        for layer in self.layers:
            t = layer(t, hw)
        return self.norm(t).transpose(1, 2).reshape(x.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        ws = self.window_size
        ph, pw = -h % ws, -w % ws
        if ph or pw:  # reflect as SwinIR's check_image_size; replicate where reflect cannot
            x = F.pad(x, (0, pw, 0, ph), "reflect" if ph < h and pw < w else "replicate")
        mean = self.mean.to(x.dtype)
        x = self.conv_first((x - mean) * self.img_range)
        x = x + self.conv_after_body(self.forward_features(x))
        if self.upsampler == "pixelshuffle":
            x = self.conv_last(self.upsample(self.conv_before_upsample(x)))
        else:
            x = self.upsample(x)
        x = x / self.img_range + mean
        return x[:, :, : h * self.scale, : w * self.scale]
