"""The photo dataset's offline parts: the .rcc reader, the reviewed manifest, the committed held-out crops."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
HELDOUT_EXAMPLES = ROOT / "examples" / "heldout"

from training import build_dataset, rcc

PHOTOS = build_dataset.load_manifest()
BY_ID = {e["id"]: e for e in PHOTOS}


def _write_rcc(files: dict[str, tuple[bytes, int]], version: int) -> bytes:
    """A Qt resource file as Qt's rcc writes it: breadth-first tree, each directory's children contiguous."""
    tree: dict = {}
    for path, value in files.items():
        *dirs, leaf = path.split("/")
        node = tree
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = value
    nodes, first_child, i = [("", tree)], {}, 0
    while i < len(nodes):
        if isinstance(nodes[i][1], dict):
            first_child[i] = len(nodes)
            nodes.extend(sorted(nodes[i][1].items()))
        i += 1
    names, blobs, table = b"", b"", b""
    for index, (name, value) in enumerate(nodes):
        name_offset = len(names) if index else 0
        if index:
            names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
        if isinstance(value, dict):
            table += struct.pack(">IHII", name_offset, rcc.DIRECTORY, len(value), first_child[index])
        else:
            data, flags = value
            payload = struct.pack(">I", len(data)) + zlib.compress(data) if flags & rcc.COMPRESSED else data
            table += struct.pack(">IHHHI", name_offset, flags, 0, 0, len(blobs))
            blobs += struct.pack(">I", len(payload)) + payload
        if version >= 2:
            table += struct.pack(">Q", 1_700_000_000_000)  # last-modified stamp
    header = 20 if version < 3 else 24
    offsets = (header, header + len(table), header + len(table) + len(blobs))
    head = b"qres" + struct.pack(">4I", version, *offsets) + (struct.pack(">I", 1) if version >= 3 else b"")
    return head + table + blobs + names


FILES = {
    "gcompris/src/activities/demo/resource/README": (b"Copyright: Tux\nLicense: CC0-1.0\nFiles: photo.webp\n", 0),
    "gcompris/src/activities/demo/resource/photo.webp": (bytes(range(256)) * 40, rcc.COMPRESSED),
    "gcompris/src/activities/demo/resource/deep/er/notes.txt": ("é ünïcode".encode(), 0),
    "top.txt": (b"at the root", rcc.COMPRESSED),
}


@pytest.mark.parametrize("version", [1, 2, 3])
def test_rcc_reads_nested_compressed_and_plain_entries(version):
    parsed = rcc.parse_rcc(_write_rcc(FILES, version))
    assert parsed.entries == {path: data for path, (data, _) in FILES.items()}
    assert parsed.skipped_zstd == []


def test_rcc_reads_a_file_from_disk(tmp_path):
    path = tmp_path / "demo.rcc"
    path.write_bytes(_write_rcc(FILES, 2))
    assert rcc.read_rcc(path).entries["top.txt"] == b"at the root"


def test_rcc_counts_zstd_entries_it_cannot_decode(monkeypatch):
    monkeypatch.setattr(rcc, "_zstd_decompress", lambda blob: None)
    files = {"a/plain.txt": (b"plain", 0), "a/packed.bin": (b"\x28\xb5\x2f\xfd...", rcc.COMPRESSED_ZSTD)}
    parsed = rcc.parse_rcc(_write_rcc(files, 3))
    assert parsed.entries == {"a/plain.txt": b"plain"}
    assert parsed.skipped_zstd == ["a/packed.bin"]


def test_rcc_refuses_other_files():
    with pytest.raises(ValueError, match="qres"):
        rcc.parse_rcc(b"\x89PNG\r\n\x1a\n" + bytes(32))


def test_manifest_entries_are_complete():
    assert len(BY_ID) == len(PHOTOS), "photo ids must be unique"
    for e in PHOTOS:
        assert e["package"] in build_dataset.ALLOW_LIST, e["id"]
        assert e["licence"].strip() and e["credit"].strip(), e["id"]
        assert re.fullmatch(r"[a-z]+", e["tag"]), e["id"]
        assert e["split"] in ("train", "heldout") and e["kind"] in ("photo", "render"), e["id"]
        assert e["downscale"] in (1, 2, 3, 4), e["id"]
        assert re.fullmatch(r"[0-9a-f]{64}", e["sha256"]), e["id"]


def test_splits_are_disjoint_by_photo():
    sources = [(e["package"], e["file"], e.get("member")) for e in PHOTOS]
    hashes = [e["sha256"] for e in PHOTOS]
    assert len(set(sources)) == len(PHOTOS) and len(set(hashes)) == len(PHOTOS)


def test_heldout_split_is_large_varied_and_photographic():
    heldout = [e for e in PHOTOS if e["split"] == "heldout"]
    assert len(heldout) >= 12
    assert all(e["kind"] == "photo" for e in heldout)
    assert len({e["tag"] for e in heldout}) >= 5 and len({e["package"] for e in heldout}) >= 2
    renders = [e for e in PHOTOS if e["kind"] == "render"]
    assert len(renders) < 0.1 * len(PHOTOS), "renders stay a labelled minority"


def test_committed_heldout_crops_are_heldout_and_credited():
    pngs = sorted(HELDOUT_EXAMPLES.glob("*.png"))
    credits = (HELDOUT_EXAMPLES / "CREDITS.md").read_text(encoding="utf-8")
    assert len(pngs) >= 12
    assert sum(p.stat().st_size for p in pngs) < 4 * 2**20
    for png in pngs:
        entry = BY_ID.get(png.stem.rsplit("_", 1)[0])
        assert entry is not None and entry["split"] == "heldout", png.name
        assert entry["licence"] in build_dataset.EXPORT_LICENCES, png.name
        line = next((ln for ln in credits.splitlines() if f"`{png.name}`" in ln), "")
        assert entry["licence"] in line and entry["package"] in line, png.name
        with Image.open(png) as img:
            assert img.mode == "RGB" and 192 <= img.width == img.height <= 256 and img.width % 12 == 0


def test_crops_stay_inside_do_not_overlap_and_honour_focus():
    rng = np.random.default_rng(0)
    img = (rng.random((500, 700, 3)) * 255).astype(np.uint8)
    img[:, :350] //= 8  # a flat left half: detailed cells come from the right
    boxes = build_dataset.pick_crops(img, 240, 2, focus=[0.0, 1.0])
    assert boxes[0] == (0, 260, 240, 500)
    x0, y0, x1, y1 = boxes[1]
    assert x1 - x0 == y1 - y0 == 240 and x0 >= 350 and x1 <= 700 and y1 <= 500
    assert build_dataset.pick_crops(img, 240, 2) == build_dataset.pick_crops(img, 240, 2)
    small = build_dataset.pick_crops(img[:230], 300, 1)
    assert small[0][2] - small[0][0] == 228  # shrinks to fit, still a multiple of 12
