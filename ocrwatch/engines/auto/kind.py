"""What a page is — a photo, a receipt or a document page — from image statistics, in milliseconds.

Measured on 335 pages (README, "Measured"; both halves of each set): a scanned or rendered document
page is mostly near-white paper (85-97 % of its pixels), a street photo is not (at most 36 %). A receipt
is paper too but narrow: cut to the slip, it is at least 1.6 times as tall as wide (an A4 or Letter
page is 1.29-1.41); scanned on a sheet, its print fills a column under half the sheet's width (a
letter's or an invoice's print spans at least 64 % of it). The statistics are taken on a copy shrunk
to 512 pixels a side: they describe the page, not its fine print, and cost 20-40 ms on an A4 scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PHOTO = "photo"
RECEIPT = "receipt"
FORM = "form page"
DOCUMENT = "document page"

SIDE = 512
"""Pixels on the longest side of the copy the statistics are taken on."""
WHITE_LEVEL = 200
"""A grey level (0-255) from which a pixel counts as near-white paper."""
MIN_PAPER = 0.6
"""Pages with a smaller near-white share are photos (measured: photos <= 0.36, pages >= 0.85)."""
INK_LEVEL = 128
"""A grey level below which a pixel counts as print."""
MIN_RECEIPT_ASPECT = 1.6
"""Pages at least this many times as tall as wide are receipts (A4 1.41, Letter 1.29)."""
MAX_RECEIPT_COLUMN = 0.5
"""Print spanning less of a sheet's width than this is a receipt's column (documents >= 0.64)."""
MIN_SHEET_ASPECT = 1.2
"""A sheet a receipt may be scanned on is at least this many times as tall as wide (A4, Letter):
a wide snippet of text with print over part of it is no receipt."""
MIN_TEXT_EDGES = 0.11
"""Pages with fewer edge pixels (Canny) than this share are forms: invoices, tables, sparse print
(measured: invoices 0.025-0.103, letters of running text 0.115-0.152)."""


@dataclass(frozen=True, slots=True)
class PageKind:
    name: str
    why: str
    """The measurement behind the name, in words."""


def page_kind(image: np.ndarray) -> PageKind:
    """Tell photos, receipts, forms and pages of running text apart by paper share, shape, print
    column and edge density."""
    height, width = image.shape[:2]
    gray = _shrunk_gray(image)
    paper = float(np.count_nonzero(gray >= WHITE_LEVEL)) / gray.size
    if paper < MIN_PAPER:
        return PageKind(PHOTO, f"near-white paper {paper:.0%} of the image")
    aspect = height / max(width, 1)
    if aspect >= MIN_RECEIPT_ASPECT:
        return PageKind(RECEIPT, f"a narrow page, {aspect:.1f} times as tall as wide")
    column = _print_width(gray)
    if aspect >= MIN_SHEET_ASPECT and column < MAX_RECEIPT_COLUMN:
        return PageKind(RECEIPT, f"print in a column {column:.0%} of the page's width")
    edges = float(np.count_nonzero(cv2.Canny(gray, 100, 200))) / gray.size
    if edges < MIN_TEXT_EDGES:
        return PageKind(FORM, f"edge density {edges:.3f}: sparse print, tables")
    return PageKind(DOCUMENT, f"edge density {edges:.3f}: running text")


def _shrunk_gray(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    scale = min(1.0, SIDE / max(height, width, 1))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)


def _print_width(gray: np.ndarray) -> float:
    """The share of the width between the 2nd and 98th percentile of the print's columns (1: no print,
    which is no receipt's column either)."""
    columns = np.nonzero(gray < INK_LEVEL)[1]
    if columns.size < 10:
        return 1.0
    left, right = np.percentile(columns, [2, 98])
    return float(right - left) / gray.shape[1]
