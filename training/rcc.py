"""Minimal reader for Qt binary resource files (``.rcc``).

GCompris ships its images inside ``.rcc`` bundles; there is no Qt here (and we
need none), so this reads Qt's documented-by-source format directly:
header ``qres``, version, tree/data/names offsets (+ flags from version 3),
a tree of 14-byte (v1) or 22-byte (v2+, with a last-modified stamp) nodes,
names as UTF-16BE with a hash, and data blocks that may be zlib-compressed
(4-byte big-endian uncompressed length + zlib stream) or Zstd-compressed.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

COMPRESSED = 0x01
DIRECTORY = 0x02
COMPRESSED_ZSTD = 0x04


@dataclass
class RccFile:
    """Entries of one ``.rcc``: path -> bytes, plus paths skipped (Zstd without a decoder)."""

    entries: dict[str, bytes] = field(default_factory=dict)
    skipped_zstd: list[str] = field(default_factory=list)


def _zstd_decompress(blob: bytes) -> bytes | None:
    """Zstd is optional: GCompris uses zlib, so a missing decoder only skips entries."""
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard.ZstdDecompressor().decompress(blob, max_output_size=1 << 30)


def parse_rcc(data: bytes) -> RccFile:
    """Decode every file entry of an ``.rcc`` byte string into ``{path: bytes}``."""
    if data[:4] != b"qres":
        raise ValueError("not a Qt resource file (missing 'qres' magic)")
    version, tree_off, data_off, names_off = struct.unpack_from(">4I", data, 4)
    if not 1 <= version <= 3:
        raise ValueError(f"unsupported rcc version {version}")
    node_size = 14 if version == 1 else 22
    out = RccFile()

    def name_at(offset: int) -> str:
        length = struct.unpack_from(">H", data, names_off + offset)[0]
        start = names_off + offset + 6  # skip length and 4-byte hash
        return data[start:start + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str) -> None:
        pos = tree_off + index * node_size
        name_offset, flags = struct.unpack_from(">IH", data, pos)
        name = "" if index == 0 else name_at(name_offset)
        path = f"{prefix}/{name}" if prefix else name
        if flags & DIRECTORY:
            count, first = struct.unpack_from(">II", data, pos + 6)
            for child in range(first, first + count):
                walk(child, path)
            return
        offset = struct.unpack_from(">I", data, pos + 10)[0]  # after country, language
        size = struct.unpack_from(">I", data, data_off + offset)[0]
        blob = data[data_off + offset + 4:data_off + offset + 4 + size]
        if flags & COMPRESSED:
            blob = zlib.decompress(blob[4:])  # qCompress: 4-byte length, then zlib
        elif flags & COMPRESSED_ZSTD:
            blob = _zstd_decompress(blob)
            if blob is None:
                out.skipped_zstd.append(path)
                return
        out.entries[path] = blob

    walk(0, "")
    return out


def read_rcc(path: str | Path) -> RccFile:
    """Parse the ``.rcc`` file at ``path``."""
    return parse_rcc(Path(path).read_bytes())
