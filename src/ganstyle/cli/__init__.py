"""``ganstyle`` command line: one subcommand per job, each a thin layer over the API.

Each job keeps its subcommands in its own module (``cli/gan.py``, ``cli/metrics.py``,
``cli/style.py``) exposing ``register(subparsers)``; a subcommand's handler builds a
config, calls one public function and prints where the results went.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from ganstyle import __version__
from ganstyle.errors import GanstyleError

COMMAND_MODULES = ("ganstyle.cli.gan", "ganstyle.cli.metrics", "ganstyle.cli.style", "ganstyle.cli.style_train", "ganstyle.cli.demo",
                   "ganstyle.cli.studio", "ganstyle.cli.translate", "ganstyle.cli.project")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ganstyle",
        description="Train and measure GANs; neural style transfer. Run 'ganstyle CMD --help' for each command.",
    )
    parser.add_argument("--version", action="version", version=f"ganstyle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="CMD")
    for name in COMMAND_MODULES:
        import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except GanstyleError as exc:
        print(f"ganstyle {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # a stopped run has saved a checkpoint and said how to resume
        print(f"ganstyle {args.command}: interrupted", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    return int(result or 0)
