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


class EngineSettings(Strict):
    rapidocr: RapidOcrSettings = RapidOcrSettings()


class DocumentSettings(Strict):
    """How input files become page images."""

    pdf_dpi: int = Field(200, ge=36, le=1200)
    max_pixels: int = Field(89_478_485, gt=0, description="per page; larger images are refused as bombs")


class AnnotateSettings(Strict):
    quality: int = Field(85, ge=1, le=100, description="JPEG quality of the annotated copies")


class WebSettings(Strict):
    """The web page and HTTP API (`ocrwatch serve`)."""

    host: str = Field("127.0.0.1", min_length=1, description="address to listen on; loopback by default")
    port: int = Field(5000, ge=1, le=65535)
    token: str | None = Field(
        None, min_length=16, description="required from every client beyond loopback; none: loopback only"
    )
    max_upload_mb: float = Field(25, gt=0, le=1024, description="largest upload accepted, in megabytes")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class Settings(Strict):
    """The whole configuration. Every key has a working default."""

    output: Path = Field(default_factory=lambda: default_data_dir() / "output")
    database: str | None = Field(None, description="an SQLite file path or an SQLAlchemy URL")
    engine: str = "rapidocr"
    engines: EngineSettings = EngineSettings()
    documents: DocumentSettings = DocumentSettings()
    annotate: AnnotateSettings = AnnotateSettings()
    web: WebSettings = WebSettings()

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
