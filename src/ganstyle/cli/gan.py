"""CLI subcommands of the gan job (filled in by that job)."""


def register(sub) -> None:
    pass
