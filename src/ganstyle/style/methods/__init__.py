"""The style methods, one module each, and the one registry the API, CLI and trainer read.

Adding a method: write ``methods/<name>.py`` with a config dataclass and a
:class:`~ganstyle.style.methods.base.StyleMethod` subclass (a
:class:`~ganstyle.style.methods.base.NetworkMethod` if it trains a network), then add one
line to :data:`METHODS`.
"""

from __future__ import annotations

from ganstyle.errors import GanstyleError
from ganstyle.style.methods.adain import ADAIN
from ganstyle.style.methods.base import NetworkMethod, StyleMethod
from ganstyle.style.methods.fast import FAST
from ganstyle.style.methods.gatys import GatysMethod

METHODS: dict[str, StyleMethod] = {
    "gatys": GatysMethod(),
    "fast": FAST,
    "adain": ADAIN,
}


def get_method(name: str, *, trainable: bool = False) -> StyleMethod:
    """The registered method called ``name``; a one-line error naming the choices otherwise."""
    names = trainable_methods() if trainable else list(METHODS)
    if name not in names:
        raise GanstyleError(f"--method: {name!r} is not one of {', '.join(names)}")
    return METHODS[name]


def trainable_methods() -> list[str]:
    return [name for name, m in METHODS.items() if isinstance(m, NetworkMethod)]
