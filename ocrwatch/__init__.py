"""ocrwatch: an OCR hot folder with a searchable index."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ocrwatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
