"""The public benchmark sets, read in place from the shared data folder (never copied into git).

The folder is `<repo>/../shared/data` unless the environment variable OCRWATCH_DATA names another.
Samples come in a fixed order (by number) so that `limit` always picks the same images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from bench.metrics import TextBox
from ocrwatch.geometry import quad_from_points


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    image: Path
    truth: list[TextBox]
    """ICDAR 2015: one entry per word (`###` = do not care); SROIE: one entry per text line."""


def data_dir() -> Path:
    override = os.environ.get("OCRWATCH_DATA")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "data"


def sroie(limit: int | None = None, root: Path | None = None) -> list[Sample]:
    """Scanned receipts `sroie/img/NNN.jpg` with their line transcripts `sroie/box/NNN.csv`."""
    folder = _folder(root, "sroie")
    images = sorted((folder / "img").glob("*.jpg"))[:limit]
    return [
        Sample(image.stem, image, _parse(folder / "box" / f"{image.stem}.csv", encoding="utf-8"))
        for image in images
    ]


def icdar2015(limit: int | None = None, root: Path | None = None) -> list[Sample]:
    """Phone photos `icdar2015/img/img_N.jpg` with their words `icdar2015/gt/gt_img_N.txt`."""
    folder = _folder(root, "icdar2015")
    images = sorted((folder / "img").glob("img_*.jpg"), key=lambda path: int(path.stem.split("_")[1]))
    samples = []
    for image in images[:limit]:
        words = _parse(folder / "gt" / f"gt_{image.stem}.txt", encoding="utf-8-sig")
        samples.append(Sample(image.stem, image, [TextBox(_unquote(w.text), w.box) for w in words]))
    return samples


def documents(kind: str, limit: int | None = None, root: Path | None = None) -> list[Sample]:
    """Office pages `documents/<kind>/img/NAME.jpg` (kind: `invoices` or `letters`) with their ground
    truth `documents/<kind>/box/NAME.csv`: one word a row for invoices, one printed line for letters."""
    folder = _folder(root, f"documents/{kind}")
    images = sorted((folder / "img").glob("*.jpg"))[:limit]
    return [
        Sample(image.stem, image, _parse(folder / "box" / f"{image.stem}.csv", encoding="utf-8"))
        for image in images
    ]


def load_rgb(path: Path) -> np.ndarray:
    """The image as ocrwatch sees a photo: turned upright by its EXIF orientation, in RGB."""
    with Image.open(path) as file:
        return np.asarray(ImageOps.exif_transpose(file).convert("RGB"))


def _folder(root: Path | None, name: str) -> Path:
    folder = (root or data_dir()) / name
    if not folder.is_dir():
        raise FileNotFoundError(f"no {name} data at {folder}; set OCRWATCH_DATA to the data folder")
    return folder


def _parse(path: Path, encoding: str) -> list[TextBox]:
    """Rows of `x1,y1,...,x4,y4,text`; the text is split off at the 8th comma as it may hold commas."""
    boxes = []
    for number, row in enumerate(path.read_text(encoding=encoding).splitlines(), start=1):
        if not row.strip():
            continue
        *coordinates, text = row.split(",", 8)
        if len(coordinates) != 8:
            raise ValueError(f"{path}:{number}: expected 8 coordinates and a text, got {row!r}")
        values = [float(value) for value in coordinates]
        corners = list(zip(values[::2], values[1::2], strict=True))
        boxes.append(TextBox(text.strip(), quad_from_points(corners)))
    return boxes


def _unquote(text: str) -> str:
    """rrc reads a transcript wrapped in double quotes as the quoted, backslash-escaped string."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace("\\\\", "\\").replace('\\"', '"')
    return text
