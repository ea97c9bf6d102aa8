"""mGANprior in SR Lab: a small 64x64 GAN trained here (training/train_gan.py) inverted with many codes.

The knobs the CLI, the tab and the evidence script share live here, free of
torch, so that `sr-demo --help` stays instant.
"""

GENERATOR = "gan-64"  # models/GENERATOR.safetensors, .json/.md (card) and -samples.png, by training/train_gan.py
SIDE = 64  # the generator's output: crops are this size
SR_SCALE = 4
TASKS = {"recon": "reconstruction", "sr": f"×{SR_SCALE} super-resolution"}
#: Composing layers: the side in pixels of a generator block's output (4 is the stem).
LAYERS = ("4", "8", "16", "32")
DEFAULT_LAYER = "8"
MAX_CODES = 30
DEFAULT_CODES = 20
DEFAULT_ITERS = 150
MAX_ITERS = 2000
