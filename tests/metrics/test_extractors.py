import hashlib

import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.metrics.extractors import inception as inc

# Shapes of some tensors in pytorch-fid's pt_inception-2015-12-05-6726825d.pth (torchvision
# naming, 1008 classes, no auxiliary head), and its parameter count.
OFFICIAL_SHAPES = {
    "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
    "Conv2d_1a_3x3.bn.running_var": (32,),
    "Conv2d_4a_3x3.conv.weight": (192, 80, 3, 3),
    "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
    "Mixed_5d.branch5x5_2.conv.weight": (64, 48, 5, 5),
    "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
    "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
    "Mixed_7a.branch7x7x3_4.conv.weight": (192, 192, 3, 3),
    "Mixed_7b.branch3x3dbl_1.conv.weight": (448, 1280, 1, 1),
    "Mixed_7c.branch3x3dbl_3b.conv.weight": (384, 384, 3, 1),
    "Mixed_7c.branch_pool.bn.bias": (192,),
    "fc.weight": (1008, 2048),
    "fc.bias": (1008,),
}
OFFICIAL_PARAMETERS = 23_850_960


def official_like_state_dict(seed=0):
    """Random values under the official names/shapes (taken from a fresh network, checked above)."""
    g = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(v.shape, generator=g) for k, v in inc.FIDInceptionV3().state_dict().items()
             if not k.endswith("num_batches_tracked")}
    for k in state:
        if k.endswith("running_var"):
            state[k] = state[k].abs() + 0.5
    return state


def test_architecture_has_official_names_and_shapes():
    model = inc.FIDInceptionV3()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    for key, shape in OFFICIAL_SHAPES.items():
        assert shapes[key] == shape, key
    assert sum(p.numel() for p in model.parameters()) == OFFICIAL_PARAMETERS
    assert not any(k.startswith("AuxLogits") for k in shapes)


def test_weights_load_from_hub_cache_env_and_flag(tmp_path, monkeypatch):
    state = official_like_state_dict()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(inc.WEIGHTS_ENV, raising=False)
    hub_file = tmp_path / "torch" / "hub" / "checkpoints" / inc.FID_WEIGHTS_FILE
    hub_file.parent.mkdir(parents=True)
    torch.save(state, hub_file)
    model, checksum = inc.build_fid_inception(download=False)
    assert checksum == hashlib.sha256(hub_file.read_bytes()).hexdigest()
    for key in ("Mixed_6e.branch7x7dbl_5.conv.weight", "fc.weight", "Conv2d_1a_3x3.bn.running_var"):
        assert torch.equal(model.state_dict()[key], state[key])
    # the env var and the explicit flag win over the hub cache
    other = tmp_path / "other.pth"
    other.write_bytes(b"")  # only its existence matters for where the weights are looked up
    monkeypatch.setenv(inc.WEIGHTS_ENV, str(other))
    assert inc.resolve_inception_weights() == other
    assert inc.resolve_inception_weights(hub_file) == hub_file


def test_wrong_state_dict_is_a_clear_error(tmp_path):
    bad = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, bad)
    with pytest.raises(GanstyleError, match="not the FID Inception-v3 state_dict"):
        inc.build_fid_inception(bad)
    state = official_like_state_dict()
    state["fc.weight"] = torch.zeros(1000, 2048)
    torch.save(state, bad)
    with pytest.raises(GanstyleError, match="shapes do not match"):
        inc.build_fid_inception(bad)


def test_offline_error_is_one_actionable_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(inc.WEIGHTS_ENV, raising=False)

    def offline(*a, **k):
        import urllib.error

        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(GanstyleError) as err:
        inc.build_fid_inception()
    msg = str(err.value)
    assert "\n" not in msg
    assert inc.FID_WEIGHTS_URL in msg and str(tmp_path / "torch" / "hub" / "checkpoints") in msg
    assert "--weights" in msg and inc.WEIGHTS_ENV in msg
    with pytest.raises(GanstyleError, match=r"--weights .*missing\.pth: no such file"):
        inc.build_fid_inception(tmp_path / "missing.pth")


def test_forward_shapes_small_batch():
    torch.manual_seed(0)
    model = inc.FIDInceptionV3().eval()
    with torch.inference_mode():
        feats, logits = model(torch.rand(2, 1, 32, 32) * 2 - 1)  # grey, small: repeated and resized
        expected_logits = feats @ model.fc.weight.T
    assert feats.shape == (2, 2048) and logits.shape == (2, 1008)
    assert torch.isfinite(feats).all() and (feats >= 0).all()  # features come after a ReLU and a mean
    # logits are the bias-free ones of the original IS code
    assert torch.allclose(logits, expected_logits)


def test_digits_classifier_accuracy_and_cache(digits_classifier, metrics_cache):
    from ganstyle.metrics.extractors import classifier as cl

    model, info = digits_classifier
    assert info["test_accuracy"] >= 0.95
    # second call reads the cached file: same weights, same checksum, no training
    again, info2 = cl.load_or_train_classifier(cl.DEFAULT_CLASSIFIER)
    assert info2["sha256"] == info["sha256"] and info2["test_accuracy"] == info["test_accuracy"]
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), k
    assert cl.classifier_path(cl.DEFAULT_CLASSIFIER).parent.parent == metrics_cache
    # usable on any image size / channel count
    feats, logits = model(torch.rand(3, 3, 28, 28) * 2 - 1)
    assert feats.shape == (3, cl.DEFAULT_CLASSIFIER.feature_dim) and logits.shape == (3, 10)


def test_classifier_training_is_deterministic():
    from ganstyle.metrics.extractors.classifier import ClassifierConfig, train_classifier

    cfg = ClassifierConfig(epochs=1, width=8, feature_dim=16)
    a, _ = train_classifier(cfg)
    b, _ = train_classifier(cfg)
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), k
    assert cfg.key() != ClassifierConfig(epochs=2, width=8, feature_dim=16).key()


def test_classifier_trains_on_given_data_and_caches_under_its_name(tmp_path):
    """data=(fit, test): the classifier learns from those sets only (a labelling of its own here,
    which the bundled split does not have), and the cache file is named after cfg.dataset."""
    from ganstyle.data.digits import load_digits_dataset
    from ganstyle.metrics.extractors import classifier_extractor
    from ganstyle.metrics.extractors.classifier import ClassifierConfig, classifier_path, load_or_train_classifier

    def parity(ds):  # two classes: even / odd digits
        ds.y, ds.num_classes = ds.y % 2, 2
        return ds

    fit = parity(load_digits_dataset(image_size=16, channels=1, split="fit"))
    test = parity(load_digits_dataset(image_size=16, channels=1, split="test"))
    cfg = ClassifierConfig(dataset="digits-parity", epochs=2, width=8, feature_dim=16)
    model, info = load_or_train_classifier(cfg, cache_dir=tmp_path, data=(fit, test))
    assert info["num_classes"] == 2 and info["n_fit"] == len(fit) and info["n_test"] == len(test)
    assert info["test_accuracy"] >= 0.8
    assert classifier_path(cfg, tmp_path).is_file() and "digits-parity" in classifier_path(cfg, tmp_path).name
    # the normal extractor path reads it back (no data needed) with the same weights
    ext = classifier_extractor(cfg.dataset, cache_dir=tmp_path, config=cfg)
    _, logits = ext.run(test.x[:5])
    assert ext.checksum == info["sha256"] and logits.shape == (5, 2)
