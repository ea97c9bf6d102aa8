"""SR Lab: look inside image super-resolution networks.

Sub-packages import lazily so that one heavy or broken piece (gradio, umap,
spandrel) never breaks the others; `training/` on the GPU machine imports
only `degradations` and `models`, which need numpy, torch, OpenCV and
safetensors alone.
"""

__version__ = "0.1.0"
