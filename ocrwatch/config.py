"""The YAML configuration: its schema, its defaults and its validation.

Relative paths in a config file are resolved against the file's own folder, so that a service and a
person at a shell read the same folders. A mistake is reported with its key and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ocrwatch.errors import ConfigError


def default_data_dir() -> Path:
    """Where outputs and the index go when nothing says otherwise (XDG data home)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "ocrwatch"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RapidOcrSettings(Strict):
    """Options for the RapidOCR engine (PP-OCR on onnxruntime)."""

    threads: int = Field(0, ge=0, description="onnxruntime threads per process; 0 lets onnxruntime choose")
    text_score: float = Field(0.5, ge=0, le=1, description="drop lines recognised with a lower score")
    use_angle_cls: bool = Field(True, description="turn upside-down lines before reading them")


class TesseractSettings(Strict):
    """Options for the Tesseract engine (Tesseract 5's LSTM recognizer through tesserocr)."""

    lang: str = Field(
        "eng",
        pattern=r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$",
        description="traineddata names joined by '+', e.g. eng+deu; each needs its language pack",
    )
    psm: int = Field(3, ge=1, le=13, description="page segmentation mode; 3 = fully automatic layout")
    min_score: float = Field(0.0, ge=0, le=1, description="drop words recognised with a lower score")
    threads: int = Field(
        1, ge=0, description="OpenMP threads per process (OMP_THREAD_LIMIT); 0 leaves OpenMP's default"
    )
    tessdata: Path | None = Field(None, description="the folder of *.traineddata; default: Tesseract's own")


class KerasOcrSettings(Strict):
    """Options for the keras-ocr engine (CRAFT detector and CRNN recognizer on TensorFlow).

    The thresholds keep keras-ocr's names; in the CRAFT paper's code they are text_threshold
    (our detection_threshold), low_text (our text_threshold) and link_threshold.
    """

    scale: float = Field(2.0, gt=0, le=4, description="pages are enlarged by this factor for detection")
    max_size: int = Field(2048, ge=256, description="...but to no more than this many pixels a side")
    detection_threshold: float = Field(0.7, gt=0, lt=1, description="a box needs one pixel this sure")
    text_threshold: float = Field(0.4, gt=0, lt=1, description="a pixel this sure is part of a character")
    link_threshold: float = Field(0.4, gt=0, lt=1, description="a pixel this sure joins two characters")
    size_threshold: int = Field(10, ge=0, description="boxes of fewer pixels are dropped")
    batch_size: int = Field(16, ge=1, description="word crops per recognizer batch")
    cache_dir: Path | None = Field(
        None, description="the weights folder; default: $KERAS_OCR_CACHE_DIR or ~/.keras-ocr"
    )
    recognizer_weights: str | None = Field(
        "kurapan", description="kurapan (crnn_kurapan.h5), or null: untrained, to test the plumbing only"
    )


class EngineSettings(Strict):
    rapidocr: RapidOcrSettings = RapidOcrSettings()
    tesseract: TesseractSettings = TesseractSettings()
    keras_ocr: KerasOcrSettings = KerasOcrSettings()


class DocumentSettings(Strict):
    """How input files become page images."""

    pdf_dpi: int = Field(200, ge=36, le=1200)
    max_pixels: int = Field(89_478_485, gt=0, description="per page; larger images are refused as bombs")


class AnnotateSettings(Strict):
    quality: int = Field(85, ge=1, le=100, description="JPEG quality of the annotated copies")


class Settings(Strict):
    """The whole configuration. Every key has a working default."""

    output: Path = Field(default_factory=lambda: default_data_dir() / "output")
    database: str | None = Field(None, description="an SQLite file path or an SQLAlchemy URL")
    engine: str = "rapidocr"
    engines: EngineSettings = EngineSettings()
    documents: DocumentSettings = DocumentSettings()
    annotate: AnnotateSettings = AnnotateSettings()

    @field_validator("output", mode="after")
    @classmethod
    def _expand_user(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the index; a bare path means an SQLite file."""
        target = self.database or str(self.output / "index.db")
        if "://" in target:
            return target
        return f"sqlite:///{Path(target).expanduser().absolute()}"


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read `path` (if given), apply non-None `overrides`, and validate the result."""
    data: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as error:
            raise ConfigError(f"cannot read config file {path}: {error.strerror}") from error
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {error}") from error
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of keys at the top level")
        base = path.resolve().parent
        data = _resolve_paths(data, base)
    data.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_describe(error, path)) from None


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the config file's relative paths relative to the file itself."""
    resolved = dict(data)
    if isinstance(resolved.get("output"), str):
        resolved["output"] = str(base / Path(resolved["output"]).expanduser())
    database = resolved.get("database")
    if isinstance(database, str) and "://" not in database:
        resolved["database"] = str(base / Path(database).expanduser())
    return resolved


def _describe(error: ValidationError, path: Path | None) -> str:
    where = f"{path}: " if path else ""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown key")
        else:
            problems.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
    return where + "invalid configuration\n  " + "\n  ".join(problems)
