"""RapidOCR: the PP-OCR detector, direction classifier and recognizer on onnxruntime.

Only the models inside the `rapidocr` wheel are used (PP-OCRv6 small detector and recognizer), so
nothing is ever downloaded. RapidOCR's own `vis()` would fetch a font: ocrwatch draws its annotated
copies itself (`ocrwatch.outputs.annotated`).
"""

from ocrwatch.engines.rapidocr.engine import RapidOcrEngine

__all__ = ["RapidOcrEngine"]
