"""ganstyle: train and measure GANs; neural style transfer.

The public API is imported lazily so that ``import ganstyle`` stays fast and the CLI
starts quickly. Every CLI subcommand is a thin layer over one of these functions.
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> "module:attribute"
_API = {
    "GanstyleError": "ganstyle.errors:GanstyleError",
    "load_dataset": "ganstyle.data:load_dataset",
    "train_gan": "ganstyle.gan.trainer:train_gan",
    "TrainConfig": "ganstyle.gan.trainer:TrainConfig",
    "sample": "ganstyle.gan.sampling:sample",
    "load_generator": "ganstyle.gan.sampling:load_generator",
    "evaluate": "ganstyle.gan.evaluation:evaluate_run",
    "fid": "ganstyle.metrics.evaluate:fid_between",
    "stylize": "ganstyle.style.api:stylize",
    "train_style": "ganstyle.style.train:train_style",
    "style_eval": "ganstyle.style.evaluate:style_eval",
    "demo": "ganstyle.demo:run_demo",
    "train_translation": "ganstyle.translate.trainer:train_translation",
    "translate_images": "ganstyle.translate.api:translate_images",
    "evaluate_translation": "ganstyle.translate.evaluate:evaluate_translation",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name):
    try:
        target = _API[name]
    except KeyError:
        raise AttributeError(f"module 'ganstyle' has no attribute {name!r}") from None
    module, attr = target.split(":")
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return __all__
