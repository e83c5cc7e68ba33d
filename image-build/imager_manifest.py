"""Write a Raspberry Pi Imager manifest (custom OS list) for a built appliance image."""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
from datetime import UTC, datetime
from pathlib import Path

CHUNK_BYTES = 4 * 1024 * 1024


def sha256_of(path: Path, decompress: bool = False) -> str:
    """SHA-256 of the file, or of its xz-decompressed content."""
    digest = hashlib.sha256()
    opener = lzma.open if decompress else open
    with opener(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def main() -> None:
    """Describe ``IMAGE.xz`` (next to the raw IMAGE) for Raspberry Pi Imager."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", type=Path, required=True, help="the raw .img")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--url-base", default="", help="where the .img.xz will be served"
    )
    args = parser.parse_args()

    compressed = args.image.with_name(args.image.name + ".xz")
    name = compressed.name
    entry = {
        "name": "Opswall video-wall controller",
        "description": "Opswall appliance, Raspberry Pi 4 (Debian 12, read-only root)",
        "url": f"{args.url_base.rstrip('/')}/{name}" if args.url_base else name,
        "icon": "",
        "release_date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "extract_size": args.image.stat().st_size,
        "extract_sha256": sha256_of(args.image),
        "image_download_size": compressed.stat().st_size,
        "image_download_sha256": sha256_of(compressed),
        "devices": ["pi4-64bit"],
        "init_format": "none",
    }
    args.out.write_text(json.dumps({"os_list": [entry]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
