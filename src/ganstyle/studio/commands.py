"""Turn a page's form into a ``ganstyle`` CLI argv, checking every field first.

The studio runs no job code of its own: each builder here validates the fields of one job
kind (numbers in range, names from the CLI's own choices, paths under the workdir) and
returns the argv of the command a person would type. Anything else in a request is an
error, so no request can reach other flags, other commands or files outside the workdir.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from ganstyle.errors import GanstyleError
from ganstyle.io.images import IMAGE_EXTENSIONS
from ganstyle.io.runlog import read_csv
from ganstyle.studio.files import UPLOAD_DATASETS, clean_name, relative_to, safe_path, unused_path

BUILTIN_DATA = ("ring8", "grid25", "digits")
COLOR_MODES = ("none", "luminance", "histogram")


@lru_cache(maxsize=None)
def cli_choices(command: str, flag: str) -> tuple[str, ...]:
    """The ``choices`` of ``ganstyle COMMAND FLAG``, so the page offers exactly what the CLI accepts."""
    from ganstyle.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for action in sub.choices[command]._actions:
        if flag in action.option_strings:
            return tuple(action.choices or ())
    raise KeyError(f"{command} {flag}")


def options() -> dict[str, Any]:
    """What the page's menus offer."""
    return {
        "methods": cli_choices("stylize", "--method"),
        "backbones": cli_choices("stylize", "--backbone"),
        "color_modes": COLOR_MODES,
        "data": BUILTIN_DATA,
        "models": cli_choices("train", "--model") or _model_names(),
        "losses": cli_choices("train", "--loss"),
    }


def _model_names() -> tuple[str, ...]:
    from ganstyle.gan.models import MODELS

    return tuple(MODELS)


# ------------------------------------------------------------------ field checks


def _int(params: dict, name: str, default: int | None, lo: int, hi: int) -> int | None:
    value = params.get(name, default)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GanstyleError(f"{name}: expected a whole number, got {value!r}") from None
    if not number.is_integer() or not lo <= number <= hi:
        raise GanstyleError(f"{name}: must be a whole number from {lo} to {hi}, got {value!r}")
    return int(number)


def _float(params: dict, name: str, default: float, lo: float, hi: float) -> float:
    value = params.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GanstyleError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(number) or not lo <= number <= hi:
        raise GanstyleError(f"{name}: must be from {lo:g} to {hi:g}, got {value!r}")
    return number


def _choice(params: dict, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = params.get(name, default)
    if value not in choices:
        raise GanstyleError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def _image(workdir: Path, rel: Any, what: str) -> Path:
    path = safe_path(workdir, rel)
    if not path.is_file() or path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise GanstyleError(f"{what} {rel}: not an image file in the studio workdir")
    return path


def _run_dir(workdir: Path, rel: Any) -> Path:
    path = safe_path(workdir, rel)
    if not (path / "config.toml").is_file() or not (path / "checkpoints").is_dir():
        raise GanstyleError(f"run {rel}: not a run directory with checkpoints")
    return path


def _reject_unknown(params: dict, allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed - {"kind"})
    if unknown:
        raise GanstyleError(f"unknown field(s) {', '.join(unknown)}")


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


# ------------------------------------------------------------------ job kinds


def stylize_job(workdir: Path, params: dict) -> tuple[list[str], dict[str, str]]:
    """``ganstyle stylize``: Gatys shows its image every few steps; strength is the style weight
    (Gatys, as a fraction of the default) or alpha (AdaIN)."""
    from ganstyle.style.methods.gatys import GatysConfig

    _reject_unknown(params, {"content", "styles", "method", "size", "iterations", "strength", "preserve_color",
                             "backbone", "model"})
    method = _choice(params, "method", cli_choices("stylize", "--method"), "gatys")
    content = _image(workdir, params.get("content"), "content")
    styles = params.get("styles") or []
    if not isinstance(styles, list) or not all(isinstance(s, str) for s in styles):
        raise GanstyleError("styles: expected a list of image paths")
    style_paths = [_image(workdir, s, "style") for s in styles]
    if method != "fast" and not style_paths:
        raise GanstyleError(f"styles: --method {method} needs at least one style image")
    size = _int(params, "size", 256, 16, 2048)
    strength = _float(params, "strength", 1.0, 0.0, 1.0)
    color = _choice(params, "preserve_color", COLOR_MODES, "none")
    folder = workdir / "stylised"
    folder.mkdir(parents=True, exist_ok=True)
    out = unused_path(folder, f"{_stamp()}-{clean_name(content.stem)}-{method}.png")

    def rel(path: Path) -> str:  # jobs run with the workdir as their current folder
        return relative_to(workdir, path)

    argv = ["stylize", rel(content), *map(rel, style_paths), "--out", rel(out), "--method", method,
            "--size", str(size), "--preserve-color", color, "--quiet"]
    outputs = {"result": rel(out), "content": rel(content)}
    if method == "gatys":
        iterations = _int(params, "iterations", 100, 1, 5000)
        every = max(1, iterations // 10)
        backbone = _choice(params, "backbone", cli_choices("stylize", "--backbone"), "auto")
        argv += ["--iterations", str(iterations), "--save-every", str(every), "--backbone", backbone,
                 "--style-weight", f"{GatysConfig().style_weight * strength:g}"]
        outputs["intermediate"] = outputs["result"][: -len(".png")]
    elif method == "adain":
        argv += ["--alpha", f"{strength:g}"]
    if params.get("model"):
        model = safe_path(workdir, params["model"])
        if not model.is_dir():
            raise GanstyleError(f"model {params['model']}: not a model folder in the studio workdir")
        argv += ["--model", rel(model)]
    return argv, outputs


def train_job(workdir: Path, params: dict) -> tuple[list[str], dict[str, str]]:
    """``ganstyle train`` into a new ``runs/NAME``; data is built-in or an unpacked upload."""
    _reject_unknown(params, {"data", "model", "loss", "steps", "image_size", "name", "seed", "sample_every"})
    data = params.get("data", "ring8")
    if isinstance(data, str) and data.startswith(UPLOAD_DATASETS + "/"):
        folder = safe_path(workdir, data)
        if not folder.is_dir():
            raise GanstyleError(f"data {data}: not an uploaded image folder")
        data_flag = f"folder:{relative_to(workdir, folder)}"
    else:
        data_flag = _choice(params, "data", BUILTIN_DATA, "ring8")
    model = _choice(params, "model", cli_choices("train", "--model") or _model_names(), "mlp")
    loss = params.get("loss") or None
    if loss is not None:
        loss = _choice(params, "loss", cli_choices("train", "--loss"))
    steps = _int(params, "steps", 2000, 1, 1_000_000)
    image_size = _int(params, "image_size", None, 4, 512)
    seed = _int(params, "seed", 0, 0, 2**31 - 1)
    # Ten sample grids per run unless asked; losses logged at least as often, for the live plot.
    sample_every = _int(params, "sample_every", max(1, steps // 10), 1, 1_000_000)
    log_every = max(1, min(50, steps // 40, sample_every))
    runs = workdir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    name = clean_name(params.get("name") or f"{Path(str(data)).name}-{model}-{_stamp()}")
    run = unused_path(runs, name)
    argv = ["train", "--out", relative_to(workdir, run), "--data", data_flag, "--model", model, "--steps", str(steps),
            "--seed", str(seed), "--no-progress",
            "--log-every", str(log_every), "--sample-every", str(sample_every),
            "--ckpt-every", str(max(1, min(1000, steps // 4)))]
    if loss:
        argv += ["--loss", loss]
    if image_size:
        argv += ["--image-size", str(image_size)]
    return argv, {"run": relative_to(workdir, run), "steps": str(steps)}


def resume_job(workdir: Path, params: dict) -> tuple[list[str], dict[str, str]]:
    """``ganstyle train --resume RUN --steps N``."""
    _reject_unknown(params, {"run", "steps"})
    run = _run_dir(workdir, params.get("run"))
    steps = _int(params, "steps", None, 1, 1_000_000)
    if steps is None:
        raise GanstyleError("steps: give the total steps to train the run to")
    argv = ["train", "--resume", relative_to(workdir, run), "--steps", str(steps), "--no-progress"]
    return argv, {"run": relative_to(workdir, run), "steps": str(steps)}


def sample_job(workdir: Path, params: dict) -> tuple[list[str], dict[str, str]]:
    """``ganstyle sample``: N images, one class, or rows of a latent interpolation."""
    _reject_unknown(params, {"run", "n", "seed", "label", "interpolate"})
    run = _run_dir(workdir, params.get("run"))
    n = _int(params, "n", 64, 1, 1024)
    seed = _int(params, "seed", 0, 0, 2**31 - 1)
    label = _int(params, "label", None, 0, 9999)
    interpolate = _int(params, "interpolate", 0, 0, 32)
    folder = run / "studio"
    folder.mkdir(parents=True, exist_ok=True)
    tag = "interp" if interpolate else (f"class{label}" if label is not None else "sample")
    out = unused_path(folder, f"{tag}-{_stamp()}.png")
    argv = ["sample", relative_to(workdir, run), "--n", str(n), "--seed", str(seed), "--out", relative_to(workdir, out)]
    if label is not None:
        argv += ["--class", str(label)]
    if interpolate:
        argv += ["--interpolate", str(interpolate)]
    return argv, {"run": relative_to(workdir, run), "result": relative_to(workdir, out)}


def eval_job(workdir: Path, params: dict) -> tuple[list[str], dict[str, str]]:
    """``ganstyle eval``: FID/KID/IS/PR (or mode coverage) against the run's own data."""
    from ganstyle.metrics.registry import metrics as registered_metrics

    METRIC_NAMES = tuple(registered_metrics())
    _reject_unknown(params, {"run", "metrics", "n"})
    run = _run_dir(workdir, params.get("run"))
    metrics = str(params.get("metrics") or "auto")
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    bad = [m for m in names if m not in (*METRIC_NAMES, "auto")]
    if bad or not names:
        raise GanstyleError(f"metrics: {metrics!r}; choose from auto, {', '.join(METRIC_NAMES)}")
    n = _int(params, "n", 2000, 2, 50_000)
    folder = run / "studio"
    folder.mkdir(parents=True, exist_ok=True)
    out = unused_path(folder, f"eval-{_stamp()}.json")
    argv = ["eval", relative_to(workdir, run), "--metrics", ",".join(names), "--n", str(n), "--json", relative_to(workdir, out)]
    return argv, {"run": relative_to(workdir, run), "result": relative_to(workdir, out)}


BUILDERS = {"stylize": stylize_job, "train": train_job, "resume": resume_job, "sample": sample_job, "eval": eval_job}


def build_job(workdir: Path, params: dict) -> tuple[str, list[str], dict[str, str]]:
    """(kind, argv, outputs) for a job request; raises GanstyleError/PathRefused for any bad field."""
    if not isinstance(params, dict):
        raise GanstyleError("expected a JSON object describing the job")
    kind = params.get("kind")
    if kind not in BUILDERS:
        raise GanstyleError(f"kind: {kind!r} is not one of {', '.join(BUILDERS)}")
    argv, outputs = BUILDERS[kind](workdir, params)
    return kind, argv, outputs


# ------------------------------------------------------------------ progress


def latest_intermediate(workdir: Path, prefix: str) -> Path | None:
    """Newest ``PREFIX_s<scale>_<step>.png`` Gatys wrote (sorted by scale, then step)."""
    base = safe_path(workdir, prefix, must_exist=False)
    found = sorted(base.parent.glob(base.name + "_s*_*.png"))
    return found[-1] if found else None


def job_live(workdir: Path, job: dict) -> dict[str, Any]:
    """A running job's ``progress`` in [0, 1] (None when unknown) and ``preview`` image, read
    from what it has written so far."""
    outputs = job.get("outputs", {})
    if job["kind"] in ("train", "resume"):
        rows = read_csv(safe_path(workdir, outputs["run"], must_exist=False) / "metrics.csv")
        steps = [int(float(r["step"])) for r in rows if r.get("step")]
        return {"progress": min(1.0, max(steps) / int(outputs["steps"])) if steps else 0.0}
    if job["kind"] == "stylize" and "intermediate" in outputs:
        newest = latest_intermediate(workdir, outputs["intermediate"])
        if newest is None:
            return {"progress": 0.0}
        iterations = int(job["argv"][job["argv"].index("--iterations") + 1])
        return {"progress": min(1.0, int(newest.stem.rsplit("_", 1)[1]) / iterations),
                "preview": relative_to(workdir, newest)}
    return {}
