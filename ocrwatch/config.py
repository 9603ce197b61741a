"""The YAML configuration: its schema, its defaults and its validation.

Relative paths in a config file are resolved against the file's own folder, so that a service and a
person at a shell read the same folders. Folders are resolved once, here (`..` and symlinks), so that
every path built from them later names a file the same way. A mistake is reported with its key and
what was expected.
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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
    detect_rotation: bool = Field(
        True, description="read pages that lie sideways or upside down turned upright (needs use_angle_cls)"
    )


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


class WebSettings(Strict):
    """The web page and HTTP API (`ocrwatch serve`, or beside the daemon with `enabled`)."""

    enabled: bool = Field(False, description="`ocrwatch run` serves the page and the API too")
    host: str = Field("127.0.0.1", min_length=1, description="address to listen on; loopback by default")
    port: int = Field(5000, ge=1, le=65535)
    token: str | None = Field(
        None, min_length=16, description="required from every client beyond loopback; none: loopback only"
    )
    max_upload_mb: float = Field(25, gt=0, le=1024, description="largest upload accepted, in megabytes")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


DEFAULT_INCLUDE = ("*.bmp", "*.jpeg", "*.jpg", "*.pdf", "*.png", "*.tif", "*.tiff", "*.webp")
"""The types `ocrwatch.documents` reads (its SUFFIXES); matched without regard to case."""
DEFAULT_IGNORE = (".*", "*.part", "*.filepart", "*.crdownload", "*.tmp", "~$*")
"""Hidden files and folders, and the names browsers, scanners and Office give files still being written."""


class FollowLinks(StrEnum):
    """Which symbolic links in a watched folder are read (`ocrwatch.watch.links`)."""

    INSIDE = "inside"
    """Those that lead to a file inside the watched folder."""
    ANYWHERE = "anywhere"
    NEVER = "never"


class OnSuccess(StrEnum):
    KEEP = "keep"
    MOVE = "move"
    DELETE = "delete"


class OnFailure(StrEnum):
    KEEP = "keep"
    MOVE = "move"


HOOK_PLACEHOLDERS = (
    "event", "status", "profile", "folder", "source", "moved_to", "sha256", "document_id", "pages",
    "seconds", "engine", "error", "timestamp", "id", "text", "json",
)  # fmt: skip
"""What a hook command's arguments may name in braces: the summary's fields, and the text and JSON outputs."""


class Webhook(Strict):
    """An HTTP POST of the JSON summary, retried with backoff when the receiver is down or overloaded."""

    url: str = Field(description="an http:// or https:// URL")
    timeout_seconds: float = Field(10.0, gt=0, description="for each attempt")
    retries: int = Field(5, ge=0, le=20, description="after a connection error, a timeout, 429 or 5xx")
    retry_seconds: float = Field(2.0, gt=0, description="wait before the first retry; doubled each time")
    headers: dict[str, str] = Field(default_factory=dict, description="sent with every POST")

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL with a host")
        return value

    @field_validator("headers")
    @classmethod
    def _one_line_each(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or re.search(r"[\r\n\0]", text):
                raise ValueError(f"header {name!r}: a name is one word (RFC 9110 token), a value one line")
        return value


class Hook(Strict):
    """What to do once a file is done (`on_done`) or has failed (`on_failed`): a webhook, a command, both."""

    webhook: Webhook | None = None
    command: tuple[str, ...] | None = Field(
        None, min_length=1, description="a program and its arguments, run without a shell"
    )
    command_timeout_seconds: float = Field(60.0, gt=0, description="a command running longer is killed")

    @field_validator("command")
    @classmethod
    def _known_placeholders(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        known = ", ".join(f"{{{name}}}" for name in HOOK_PLACEHOLDERS)
        for argument in value or ():
            try:
                parsed = list(string.Formatter().parse(argument))
            except ValueError as error:
                raise ValueError(f"{argument!r}: {error} (write a literal brace as {{{{ or }}}})") from None
            for _, field, spec, conversion in parsed:
                if field is not None and field not in HOOK_PLACEHOLDERS:
                    raise ValueError(f"{argument!r}: unknown placeholder {{{field}}}; known: {known}")
                if spec or conversion:
                    raise ValueError(f"{argument!r}: write {{{field}}} plainly, with no format or conversion")
        return value


class OutputFormat(StrEnum):
    """The files written for each input (README, Outputs)."""

    TEXT = "text"
    JSON = "json"
    ANNOTATED = "annotated"
    PDF = "pdf"
    HOCR = "hocr"
    ALTO = "alto"


class PdfText(StrEnum):
    """Where a PDF page's text comes from (README, PDFs with text); OCRmyPDF's three choices."""

    USE = "use"
    """The page's own text layer wherever it has one, as OCRmyPDF's --skip-text; OCR only pages without."""
    OCR = "ocr"
    """Every page by OCR, as OCRmyPDF's --force-ocr."""
    AUTO = "auto"
    """Page by page: a text layer that covers the page is used; an image or a garbage layer is OCR'd."""


DEFAULT_OUTPUTS = (OutputFormat.TEXT, OutputFormat.JSON, OutputFormat.ANNOTATED)


def resolved(path: Path) -> Path:
    """`path` absolute, with `~`, `..` and symlinks resolved: the one spelling every comparison uses."""
    try:
        return path.expanduser().resolve()
    except RuntimeError as error:  # Python 3.11 reports a symlink loop so
        raise ValueError(f"{path}: {error}") from None


def cores() -> int:
    """The cores this process may run on (a container or CPUAffinity= may allow fewer than exist)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class FolderOptions(Strict):
    """What each watched folder may set for itself; the top-level values are every folder's defaults."""

    output: Path = Field(default_factory=lambda: default_data_dir() / "output", validate_default=True)
    engine: str = "auto"  # RapidOCR or Tesseract, page by page: README, "Engines"
    include: tuple[str, ...] = Field(DEFAULT_INCLUDE, description="file name patterns to read")
    ignore: tuple[str, ...] = Field(DEFAULT_IGNORE, description="name patterns never read, files or folders")
    polling: bool = Field(False, description="poll instead of inotify: for NFS and SMB shares")
    poll_seconds: float = Field(5.0, gt=0, description="how often polling looks at the folder")
    settle_seconds: float = Field(2.0, ge=0, description="size and mtime must hold still this long")
    follow_symlinks: FollowLinks = Field(
        FollowLinks.INSIDE, description="read symlinked files: inside the watched folder, anywhere, never"
    )
    on_success: OnSuccess = OnSuccess.KEEP
    on_failure: OnFailure = OnFailure.KEEP
    done: Path | None = Field(None, description="where on_success: move puts originals")
    failed: Path | None = Field(None, description="where on_failure: move puts originals")
    on_done: Hook | None = Field(None, description="a webhook and/or command once a file is read")
    on_failed: Hook | None = Field(None, description="a webhook and/or command once a file has failed")
    outputs: tuple[OutputFormat, ...] = Field(DEFAULT_OUTPUTS, description="the files written for each input")
    pdf_text: PdfText = Field(PdfText.AUTO, description="a PDF page's own text: use, ocr, or auto per page")

    @field_validator("output", "done", "failed", mode="after")
    @classmethod
    def _resolve(cls, value: Path | None) -> Path | None:
        return None if value is None else resolved(value)


class WatchFolder(Strict):
    """One entry of `watch:`: a folder, and what it sets differently from the top level."""

    folder: Path
    name: str | None = Field(
        None,
        min_length=1,
        pattern=r"^[^/:]+$",
        description="the folder's name in the index, the same on every host; default: its base name",
    )
    output: Path | None = None
    engine: str | None = None
    include: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    polling: bool | None = None
    poll_seconds: float | None = Field(None, gt=0)
    settle_seconds: float | None = Field(None, ge=0)
    follow_symlinks: FollowLinks | None = None
    on_success: OnSuccess | None = None
    on_failure: OnFailure | None = None
    done: Path | None = None
    failed: Path | None = None
    on_done: Hook | None = Field(None, description="replaces the top-level on_done; {} for none")
    on_failed: Hook | None = Field(None, description="replaces the top-level on_failed; {} for none")
    outputs: tuple[OutputFormat, ...] | None = None
    pdf_text: PdfText | None = None

    @field_validator("folder", "output", "done", "failed", mode="after")
    @classmethod
    def _resolve(cls, value: Path | None) -> Path | None:
        return None if value is None else resolved(value)


@dataclass(frozen=True, slots=True)
class Profile:
    """A watched folder with every option resolved; `settings` is what its files are read with."""

    name: str
    folder: Path
    """Resolved (`resolved`), as are the settings' output, done and failed folders."""
    settings: Settings

    @property
    def own_folders(self) -> tuple[Path, ...]:
        """Folders ocrwatch writes to, never read even when they sit inside a watched folder."""
        mine = (self.settings.output, self.settings.done, self.settings.failed)
        return tuple(folder for folder in mine if folder is not None)


class Settings(FolderOptions):
    """The whole configuration. Every key has a working default."""

    database: str | None = Field(None, description="an SQLite file path or an SQLAlchemy URL")
    engines: EngineSettings = EngineSettings()
    documents: DocumentSettings = DocumentSettings()
    annotate: AnnotateSettings = AnnotateSettings()
    web: WebSettings = WebSettings()
    watch: tuple[WatchFolder, ...] = Field((), description="the folders `ocrwatch run` watches")
    workers: int = Field(default_factory=cores, ge=1, description="OCR processes; default: one per core")
    rescan_seconds: float = Field(300.0, gt=0, description="how often every watched folder is walked")
    stop_timeout_seconds: float = Field(30.0, ge=0, description="on SIGTERM, how long files in hand may take")
    retries: int = Field(4, ge=0, description="retries of a transient failure (locked, vanished file)")
    retry_seconds: float = Field(10.0, gt=0, description="wait before the first retry; doubled each time")
    timeout_seconds: float = Field(300.0, gt=0, description="a file read longer fails; its worker is killed")
    timeout_per_page_seconds: float = Field(
        60.0, ge=0, description="...plus this much for each page opened, so that a long PDF gets longer"
    )
    node: str | None = Field(
        None, min_length=1, description="this daemon's name among those sharing the index; default host:pid"
    )
    lease_seconds: float = Field(
        60.0, gt=0, description="a claim lapses this long after its daemon last renewed it (every third)"
    )

    @model_validator(mode="after")
    def _check_watch(self) -> Self:
        self.profiles()  # raises ValueError naming the entry that is wrong
        return self

    def profiles(self) -> list[Profile]:
        """Each `watch:` entry with the top-level values filled in."""
        profiles = []
        for number, entry in enumerate(self.watch):
            overrides = {
                key: value for key, value in entry if key in FolderOptions.model_fields and value is not None
            }
            # One index for every folder: the top level's, whatever output folder a profile writes to.
            settings = self.model_copy(update={**overrides, "watch": (), "database": self.database_url})
            folder = entry.folder
            where = f"watch.{number} ({folder})"
            if settings.on_success is OnSuccess.MOVE and settings.done is None:
                raise ValueError(f"{where}: on_success: move needs a done: folder to move originals to")
            if settings.on_failure is OnFailure.MOVE and settings.failed is None:
                raise ValueError(f"{where}: on_failure: move needs a failed: folder to move originals to")
            profiles.append(Profile(entry.name or folder.name, folder, settings))
        names = [profile.name for profile in profiles]
        if len(set(names)) < len(names):
            twice = sorted({name for name in names if names.count(name) > 1})
            raise ValueError(
                f"watch: the folder name {twice[0]!r} is used twice; give each folder a `name:` of its own"
            )
        for one in profiles:
            for other in profiles:
                if one is not other and one.folder.is_relative_to(other.folder):
                    raise ValueError(
                        f"watch: {one.folder} is inside {other.folder}; watched folders must not nest"
                    )
        return profiles

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


_PATH_KEYS = ("output", "done", "failed", "folder")


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the config file's relative paths relative to the file itself."""
    resolved = _resolve_folders(data, base)
    database = resolved.get("database")
    if isinstance(database, str) and "://" not in database:
        resolved["database"] = str(base / Path(database).expanduser())
    if isinstance(resolved.get("watch"), list):
        resolved["watch"] = [
            _resolve_folders(entry, base) if isinstance(entry, dict) else entry for entry in resolved["watch"]
        ]
    return resolved


def _resolve_folders(data: dict[str, Any], base: Path) -> dict[str, Any]:
    resolved = {
        key: str(base / Path(value).expanduser()) if key in _PATH_KEYS and isinstance(value, str) else value
        for key, value in data.items()
    }
    for key in ("on_done", "on_failed"):
        if key in resolved:
            resolved[key] = _resolve_command(resolved[key], base)
    return resolved


def _resolve_command(hook: Any, base: Path) -> Any:
    """A hook's program given as a path (`scripts/notify`, `~/bin/notify`) is made absolute, relative
    to the config file; a bare name (`notify-send`) is looked up in PATH when it runs."""
    if not isinstance(hook, dict) or not isinstance(command := hook.get("command"), list) or not command:
        return hook
    program = command[0]
    if isinstance(program, str) and "/" in program:
        return {**hook, "command": [str(base / Path(program).expanduser()), *command[1:]]}
    return hook


_SECRET_KEYS = {"headers", "token"}
"""Keys whose values a config error names but does not print: webhook credentials, the web token."""


def _describe(error: ValidationError, path: Path | None) -> str:
    where = f"{path}: " if path else ""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown key")
        elif item["type"] == "value_error" and not item["loc"]:
            problems.append(str(item["ctx"]["error"]))  # a check across keys names its keys itself
        elif _SECRET_KEYS & {str(part) for part in item["loc"]}:
            problems.append(f"{key}: {item['msg']}")  # never echo a secret into a log
        else:
            problems.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
    return where + "invalid configuration\n  " + "\n  ".join(problems)
