"""The demo: each job once, on data that ships with the installed packages."""

from __future__ import annotations

from pathlib import Path


def run_demo(out: str | Path = "runs/demo", *, seed: int = 0, quick: bool = False,
             progress: bool = True) -> dict[str, Path]:
    """Run the GAN demo (digits + ring8) and the style demo; return {output name: path}.

    Every part prints a line when it starts; ``progress`` also shows the GAN progress bars.
    """
    from ganstyle.gan.demo import announce, run_gan_demo

    out = Path(out)
    outputs: dict[str, Path] = {}
    outputs.update(run_gan_demo(out, seed=seed, quick=quick, progress=progress))
    try:
        from ganstyle.style.demo import run_style_demo
    except ModuleNotFoundError as exc:  # the style job is optional until it lands
        if exc.name != "ganstyle.style.demo":
            raise
    else:
        announce("demo: style transfer of a bundled photo")
        outputs.update(run_style_demo(out / "style", seed=seed, quick=quick))
    return outputs
