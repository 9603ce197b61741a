"""Accuracy and speed benchmarks of ocrwatch on public data; not part of the installed package."""
