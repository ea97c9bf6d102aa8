"""Real JPEG through OpenCV's libjpeg (differentiable JPEGs do not reproduce it)."""

from __future__ import annotations

import cv2
import numpy as np


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode an HxWx3 RGB float image in [0,1] at `quality` (1..100).

    The image is rounded to 8 bit first, as a saved file would be; OpenCV
    works in BGR, so channels are swapped on the way in and out.
    """
    u8 = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(u8[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return out.astype(np.float32) / 255.0
