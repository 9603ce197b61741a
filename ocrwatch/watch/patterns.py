"""Which paths under a watched folder are candidates: include and ignore patterns, and ocrwatch's own
folders, which are never read even when they sit inside the watched one."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path

from ocrwatch.config import Profile


class Patterns:
    """Shell-style patterns matched against names, without regard to case (scanners write `.JPG`).

    Include patterns pick files by name; an ignore pattern drops a file, or a whole folder when it
    matches the folder's name, anywhere below the watched folder.
    """

    def __init__(self, profile: Profile) -> None:
        self.folder = profile.folder
        self._include = tuple(pattern.lower() for pattern in profile.settings.include)
        self._ignore = tuple(pattern.lower() for pattern in profile.settings.ignore)
        self._own = profile.own_folders

    def wants_file(self, path: Path) -> bool:
        """True for a file under the watched folder that ocrwatch should read."""
        try:
            relative = path.relative_to(self.folder)
        except ValueError:
            return False
        if not relative.parts or any(self._ignored(part) for part in relative.parts):
            return False
        name = relative.name.lower()
        return any(fnmatchcase(name, pattern) for pattern in self._include) and not self._owned(path)

    def wants_folder(self, path: Path) -> bool:
        """False for folders whose contents are never read (ignored names, ocrwatch's own folders)."""
        return not self._ignored(path.name) and not self._owned(path)

    def _ignored(self, name: str) -> bool:
        name = name.lower()
        return any(fnmatchcase(name, pattern) for pattern in self._ignore)

    def _owned(self, path: Path) -> bool:
        return any(path.is_relative_to(own) for own in self._own)
