"""Export a trained fast style network to TorchScript or ONNX for use outside Python/ganstyle.

The exported model maps a float32 image batch (B, 3, H, W) in [0, 1] to the stylised batch
of the same size in [0, 1]; height and width are dynamic (any size, odd ones included).
ONNX export needs the optional ``onnx`` extra (``pip install 'ganstyle[onnx]'``: onnx and
onnxscript, neither pulls torch); ``onnxruntime``, when installed, is used to check that
the exported model reproduces PyTorch's output.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
from torch import nn

from ganstyle.errors import GanstyleError
from ganstyle.io.images import atomic_path

FORMATS = ("torchscript", "onnx")
ONNX_REQUIREMENTS = ("onnx", "onnxscript")


class ClampedNet(nn.Module):
    """The transformation network with the output clamped to the image range, as inference does."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image).clamp(0.0, 1.0)


def missing_onnx_requirements() -> list[str]:
    return [m for m in ONNX_REQUIREMENTS if importlib.util.find_spec(m) is None]


def export_style(model_dir: str | Path, out: str | Path, format: str = "torchscript", *,
                 check: bool = True, overwrite: bool = False, sample_size: tuple[int, int] = (61, 83)) -> Path:
    """Write ``model_dir``'s fast network to ``out`` as TorchScript (.pt) or ONNX (.onnx).

    With ``check``, the exported model is run on random images of an odd and an even size
    and compared with PyTorch (for ONNX only when onnxruntime is installed); a mismatch is
    an error. An existing ``out`` is refused unless ``overwrite``; it is never one of the
    model's own files. The trace uses an odd ``sample_size``: with an even one the ONNX exporter
    proves the crops after upsampling are no-ops and drops them, breaking odd sizes.
    """
    from ganstyle.style.api import check_output
    from ganstyle.style.methods.fast import FAST
    from ganstyle.style.model import model_file, read_model_config

    if format not in FORMATS:
        raise GanstyleError(f"--format {format!r}: use one of {', '.join(FORMATS)}")
    if read_model_config(model_dir).method == FAST.name:
        stem = model_file(Path(model_dir))
        inputs = [stem.with_suffix(".safetensors"), stem.with_suffix(".json"), Path(model_dir) / "config.toml"]
        check_output(out, inputs, overwrite=overwrite, suffixes=None)
    if read_model_config(model_dir).method != FAST.name:
        raise GanstyleError(f"{model_dir}: export supports --method fast models; an AdaIN model needs the "
                            "style image at run time (use 'ganstyle stylize --method adain')")
    model = FAST.load(model_dir, torch.device("cpu"))
    module = ClampedNet(model.net).eval()
    out = Path(out)
    generator = torch.Generator().manual_seed(0)
    sample = torch.rand(1, 3, *sample_size, generator=generator)
    checks = [sample, torch.rand(1, 3, 64, 96, generator=generator)]
    with torch.no_grad():
        expected = [module(x) for x in checks]
    if format == "torchscript":
        # TorchScript is deprecated in favour of torch.export, but it is still what C++
        # (libtorch) and mobile runtimes load; the warning is not the user's concern.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            scripted = torch.jit.script(module)
            with atomic_path(out) as tmp:
                scripted.save(str(tmp))
            if check:
                loaded = torch.jit.load(str(out))
                for x, e in zip(checks, expected):
                    _compare(loaded(x), e, out)
        return out

    missing = missing_onnx_requirements()
    if missing:
        raise GanstyleError(f"--format onnx needs {' and '.join(missing)}: pip install 'ganstyle[onnx]' "
                            f"(or pip install {' '.join(missing)})")
    with atomic_path(out) as tmp:
        program = torch.onnx.export(
            module, (sample,), dynamo=True, input_names=["image"], output_names=["stylized"],
            dynamic_shapes={"image": {0: torch.export.Dim("batch"), 2: torch.export.Dim("height", min=8),
                                      3: torch.export.Dim("width", min=8)}},
            verbose=False)
        program.save(str(tmp))
    if check and importlib.util.find_spec("onnxruntime") is not None:
        for x, e in zip(checks, expected):
            _compare(torch.from_numpy(run_onnx(out, x)), e, out)
    return out


def run_onnx(path: str | Path, image: torch.Tensor):
    """Run an exported ONNX model with onnxruntime on (B, 3, H, W) float32; returns a numpy array."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: image.numpy().astype("float32")})[0]


def _compare(got: torch.Tensor, expected: torch.Tensor, path: Path, tol: float = 1e-4) -> None:
    err = (got.float() - expected.float()).abs().max().item()
    if got.shape != expected.shape or err > tol:
        raise GanstyleError(f"{path}: exported model differs from PyTorch (max abs error {err:.2e}); "
                            "please report this with your torch version")
