"""Locating pretrained weights on disk: an explicit ``--weights`` file, an environment variable, a cache."""

from __future__ import annotations

import os
from pathlib import Path

from ganstyle.errors import GanstyleError


def find_local_weights(explicit: str | os.PathLike | None, env_var: str, cached: Path, expected: str) -> Path | None:
    """The weights file named by ``explicit`` (``--weights``), else by ``$env_var``, else ``cached``.

    Returns None when nothing is on disk. A file that is *named* but missing is an error naming
    the flag or variable; ``expected`` says which file it should be.
    """
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise GanstyleError(f"--weights {path}: no such file (expected {expected})")
        return path
    env = os.environ.get(env_var)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise GanstyleError(f"${env_var}={env}: no such file (expected {expected}); fix it or unset it")
        return path
    return cached if cached.is_file() else None
