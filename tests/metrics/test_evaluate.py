import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganstyle.cli import main
from ganstyle.data import load_dataset
from ganstyle.data.digits import load_digits_dataset
from ganstyle.errors import GanstyleError
from ganstyle.gan import evaluation
from ganstyle.metrics import evaluate as ev


def digits_like(n, seed=0, noise=0.0):
    """Held-out digit images (a stand-in for a good generator), optionally corrupted."""
    test = load_digits_dataset(image_size=16, channels=1, split="test").x
    g = torch.Generator().manual_seed(seed)
    x = test[torch.randint(len(test), (n,), generator=g)]
    return (x + noise * torch.randn(x.shape, generator=g)).clamp(-1, 1)


def test_evaluate_generator_on_digits_separates_good_from_bad(metrics_cache, digits_classifier):
    data = load_digits_dataset(image_size=16, channels=1, split="fit")
    good = ev.evaluate_generator(lambda n: digits_like(n), data, ["fid", "kid", "is", "pr", "modes"], 600, 0, "cpu")
    bad = ev.evaluate_generator(lambda n: digits_like(n, noise=0.8), data, "fid,kid,is,pr", 600, 0, "cpu")
    assert {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall", "modes", "hq", "rkl"} <= good.keys()
    assert all(isinstance(v, float) for v in good.values())
    assert good["fid"] < 0.25 * bad["fid"]
    assert good["kid"] < bad["kid"]
    assert good["is"] > 7.0 > bad["is"]  # ten well-separated classes -> IS close to 10
    assert good["precision"] > 0.7 > bad["precision"]
    assert good["modes"] == 10
    # the reference statistics were cached for the next call
    assert list((metrics_cache / "stats").glob("classifier-digits-*.npz"))


def test_evaluate_generator_on_toy_points():
    data = load_dataset("ring8", n=5000)
    collapsed = lambda n: torch.tensor([[1.0, 0.0]]).repeat(n, 1) + 0.005 * torch.randn(n, 2)  # noqa: E731
    good = ev.evaluate_generator(lambda n: load_dataset("ring8", n=n, seed=1).x, data, ["modes", "prdc"], 2500, 0, "cpu")
    bad = ev.evaluate_generator(collapsed, data, ["modes", "pr", "prdc"], 2500, 0, "cpu")
    assert good["modes"] == 8 and bad["modes"] == 1
    assert good["hq"] > 98 and good["rkl"] < 0.01 and bad["rkl"] == pytest.approx(np.log(8), rel=1e-6)
    # coverage of a sample from the data itself is 1 - 2**-k = 0.875 for k = 3 (Naeem et al., 2020)
    assert good["coverage"] == pytest.approx(0.875, abs=0.03) and bad["coverage"] < 0.2
    assert good["recall"] > 0.8 > 0.2 > bad["recall"]
    # FID is for images: on 2-D points it is refused rather than reported under a misleading name
    with pytest.raises(GanstyleError, match=r"^--metrics: fid cannot measure 2-D points; for this data use kid, modes, pr, prdc$"):
        ev.evaluate_generator(collapsed, data, ["modes", "fid"], 2500, 0, "cpu")


def test_unknown_metric_is_an_error():
    with pytest.raises(Exception, match="unknown metric"):
        ev.parse_metrics("fid,bogus", "images")


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """A run directory whose generator replays held-out digits (no GAN training needed)."""
    run = tmp_path / "run"
    run.mkdir()
    loaded = SimpleNamespace(config=SimpleNamespace(data="digits", cache_dir=None, data_n=None, seed=0),
                             step=1234, data_shape=(1, 16, 16),
                             generate=lambda n, seed=0, batch_size=256: digits_like(n, seed))
    monkeypatch.setattr(evaluation, "load_generator", lambda run_dir, device: loaded)
    return run


def test_eval_cli_writes_json_and_history(fake_run, capsys, metrics_cache, digits_classifier):
    out = fake_run / "eval.json"
    assert main(["eval", str(fake_run), "--metrics", "fid,kid,is", "--n", "400", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fid" in printed and "classifier-digits" in printed
    result = json.loads(out.read_text())
    fid = next(r for r in result["records"] if r["metric"] == "fid")
    assert fid["n_fake"] == 400 and fid["extractor"] == "classifier-digits" and len(fid["extractor_sha256"]) == 64
    assert fid["seed"] == 0 and result["step"] == 1234
    kid = next(r for r in result["records"] if r["metric"] == "kid")
    assert kid["std"] is not None
    history = [json.loads(line) for line in (fake_run / "metrics.jsonl").read_text().splitlines()]
    assert history[-1]["event"] == "eval" and history[-1]["step"] == 1234
    csv = (fake_run / "metrics.csv").read_text().splitlines()
    assert csv[0].split(",")[:2] == ["step", "fid"] and csv[1].startswith("1234,")


def test_eval_cli_on_a_trained_toy_run(tmp_path, capsys):
    from ganstyle.gan.trainer import TrainConfig, train_gan

    run = train_gan(TrainConfig(data="ring8", steps=30, batch_size=64, log_every=10, sample_every=0, ckpt_every=0,
                                device="cpu"), out=tmp_path / "ring", progress=False)
    assert main(["eval", str(run), "--metrics", "modes", "--json", str(tmp_path / "m.json")]) == 0
    rec = {r["metric"]: r for r in json.loads((tmp_path / "m.json").read_text())["records"]}
    assert 0 <= rec["modes"]["value"] <= 8 and rec["modes"]["n_fake"] == 2500


def _write_pngs(folder: Path, images: torch.Tensor):
    from ganstyle.io.images import save_image

    folder.mkdir(parents=True)
    for i, img in enumerate(images):
        save_image(img, folder / f"{i:04d}.png", value_range=(-1, 1))


def test_fid_cli_between_folders_and_stats(tmp_path, capsys, metrics_cache, digits_classifier):
    _write_pngs(tmp_path / "a", digits_like(120, seed=0))
    _write_pngs(tmp_path / "b", digits_like(120, seed=1))
    _write_pngs(tmp_path / "c", digits_like(120, seed=2, noise=0.8))
    stats = tmp_path / "a_stats.npz"
    args = ["--extractor", "classifier", "--json"]
    assert main(["fid", str(tmp_path / "a"), str(tmp_path / "b"), *args, str(tmp_path / "ab.json"),
                 "--save-stats", str(stats)]) == 0
    assert main(["fid", str(stats), str(tmp_path / "c"), *args, str(tmp_path / "ac.json")]) == 0
    ab = json.loads((tmp_path / "ab.json").read_text())
    ac = json.loads((tmp_path / "ac.json").read_text())
    assert ab["n_a"] == ab["n_b"] == 120
    assert ab["value"] < 0.3 * ac["value"]
    # the statistics file is pytorch-fid compatible (mu, sigma) and gives the same answer as the folder
    with np.load(stats) as z:
        assert z["mu"].shape == (128,) and z["sigma"].shape == (128, 128)
    assert main(["fid", str(tmp_path / "a"), str(tmp_path / "c"), *args, str(tmp_path / "ac2.json")]) == 0
    assert json.loads((tmp_path / "ac2.json").read_text())["value"] == pytest.approx(ac["value"], rel=1e-9)


def test_fid_cli_bad_path_is_one_line_exit_2(tmp_path, capsys):
    assert main(["fid", str(tmp_path / "nope"), str(tmp_path / "nope2"), "--extractor", "classifier"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope" in err


def test_a_registered_metric_runs_through_compute_metrics_and_the_cli_help(capsys):
    from ganstyle.metrics import registry

    @registry.register_metric("mean-gap", help="distance between feature means", kinds=("points",))
    def mean_gap(inputs):
        return [inputs.record("mean-gap", float(np.linalg.norm(inputs.features.mean(0) - inputs.reference.mu)))]

    try:
        data = load_dataset("ring8", n=2000)
        shifted = lambda n: load_dataset("ring8", n=n, seed=1).x + torch.tensor([3.0, 4.0])  # noqa: E731
        result = ev.compute_metrics(shifted, data, "mean-gap", 2000, 0)
        (record,) = result["records"]
        assert record["metric"] == "mean-gap" and record["value"] == pytest.approx(5.0, abs=0.1)
        assert record["n_fake"] == 2000 and record["seed"] == 0
        with pytest.raises(GanstyleError, match="mean-gap cannot measure images"):
            ev.parse_metrics("mean-gap", "images")
        with pytest.raises(SystemExit):
            main(["eval", "--help"])
        assert "mean-gap (distance between feature means) [points only]" in " ".join(capsys.readouterr().out.split())
    finally:
        registry._METRICS.pop("mean-gap")
