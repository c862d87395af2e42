"""CLI subcommands of the metrics job (filled in by that job)."""


def register(sub) -> None:
    pass
