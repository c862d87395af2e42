"""CLI subcommands of the style job (filled in by that job)."""


def register(sub) -> None:
    pass
