import pytest
import torch
from safetensors.torch import save_file

from ganstyle.errors import GanstyleError
from ganstyle.style import backbones as bb

from .test_vgg_backbones import TORCHVISION_CFG, official_state


def official_state_dict() -> dict[str, torch.Tensor]:
    """torchvision's vgg19 state_dict layout: features.N.{weight,bias} and classifier stand-ins."""
    return official_state(TORCHVISION_CFG["vgg19"])


def test_feature_indices_follow_torchvision():
    idx = bb.VGG19_FEATURE_INDEX
    assert idx["conv1_1"] == 0 and idx["conv2_1"] == 5 and idx["conv3_1"] == 10
    assert idx["conv4_1"] == 19 and idx["conv4_2"] == 21 and idx["conv5_1"] == 28


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_vgg19_loader_accepts_official_layout(tmp_path, fmt):
    state = official_state_dict()
    path = tmp_path / f"vgg19.{fmt}"
    if fmt == "pth":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    net = bb.build_backbone("vgg19", weights=path)
    assert torch.equal(net.stack["conv4_2"].weight, state["features.21.weight"])
    assert torch.equal(net.stack["conv5_1"].bias, state["features.28.bias"])
    # The forward pass equals a hand-written chain on the same tensors.
    x = torch.rand(1, 3, 32, 32)
    out = net(x, ["relu2_1"])["relu2_1"]
    h = (x - torch.tensor(bb.IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(bb.IMAGENET_STD).view(1, 3, 1, 1)
    for i in (0, 2):
        h = torch.relu(torch.nn.functional.conv2d(h, state[f"features.{i}.weight"], state[f"features.{i}.bias"], padding=1))
    h = torch.nn.functional.max_pool2d(h, 2)
    h = torch.relu(torch.nn.functional.conv2d(h, state["features.5.weight"], state["features.5.bias"], padding=1))
    assert torch.allclose(out, h, atol=1e-5)


def test_vgg19_loader_via_env_and_auto(tmp_path, monkeypatch, capsys):
    path = tmp_path / "weights.pth"
    torch.save(official_state_dict(), path)
    monkeypatch.setenv(bb.WEIGHTS_ENV, str(path))
    net = bb.build_backbone("auto")
    assert net.name == "vgg19"
    assert "vgg19" in capsys.readouterr().err


def test_vgg19_loader_refuses_wrong_layout(tmp_path):
    state = official_state_dict()
    wrong = dict(state)
    wrong["features.21.weight"] = torch.zeros(512, 512, 1, 1)
    p = tmp_path / "wrong_shape.pth"
    torch.save(wrong, p)
    with pytest.raises(GanstyleError, match=r"features\.21\.weight has shape \(512, 512, 1, 1\), expected \(512, 512, 3, 3\)"):
        bb.build_backbone("vgg19", weights=p)
    renamed = {k.replace("features", "body"): v for k, v in state.items()}
    p2 = tmp_path / "renamed.safetensors"
    save_file(renamed, str(p2))
    with pytest.raises(GanstyleError, match="not a VGG-19 checkpoint.*missing 26 of 26"):
        bb.build_backbone("vgg19", weights=p2)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(GanstyleError, match="junk.pth"):
        bb.build_backbone("vgg19", weights=junk)


def test_auto_falls_back_to_random(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv(bb.WEIGHTS_ENV, raising=False)
    net = bb.build_backbone("auto", seed=3)
    assert net.name == "random"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "random" in err[0]


def test_random_backbone_deterministic_and_shapes(random_net):
    x = torch.rand(2, 3, 64, 48)
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
    a = random_net(x, layers)
    bb._RANDOM_CACHE.clear()  # rebuild from scratch, calibration included
    b = bb.random_backbone(seed=0, pooling="avg")(x, layers)
    c = bb.random_backbone(seed=1, pooling="avg")(x, ["relu3_1"])
    for n in layers:
        assert torch.equal(a[n], b[n])
    assert not torch.allclose(a["relu3_1"], c["relu3_1"])
    stride = {"relu1_1": 1, "relu2_1": 2, "relu3_1": 4, "relu4_1": 8, "relu4_2": 8, "relu5_1": 16}
    for n in layers:
        assert a[n].shape == (2, random_net.channels[n], 64 // stride[n], 48 // stride[n])
        assert (a[n] >= 0).all()
    assert list(a) == layers


def test_random_layers_are_balanced(random_net):
    from ganstyle.style.losses import gram_matrix

    x = bb.calibration_image(128, seed=5)  # a different image from the calibration one
    feats = random_net(x, ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"])
    norms = [gram_matrix(f).norm().item() for f in feats.values()]
    assert max(norms) / min(norms) < 10


def test_forward_stops_at_deepest_layer(random_net, monkeypatch):
    called = []
    hooks = [random_net.stack[n].register_forward_hook(lambda m, i, o, n=n: called.append(n))
             for n in random_net.layer_names]
    try:
        random_net(torch.rand(1, 3, 32, 32), ["relu2_1"])
    finally:
        for h in hooks:
            h.remove()
    assert called[-1] == "relu2_1" and "conv3_1" not in called


def test_unknown_layer_and_bad_names(random_net):
    with pytest.raises(GanstyleError, match="relu3_4"):
        random_net(torch.rand(1, 3, 16, 16), ["relu3_4"])
    with pytest.raises(GanstyleError, match="--backbone"):
        bb.build_backbone("resnet")
    with pytest.raises(GanstyleError, match="--pooling"):
        bb.build_backbone("random", pooling="median")


def test_activation_bytes_counts_vgg_layers():
    net = bb.vgg19_architecture()
    # relu1_1 only: conv1_1 + relu1_1 outputs, 64 channels each, fp32
    assert net.activation_bytes(10, 10, ["relu1_1"]) == 2 * 64 * 100 * 4
    assert net.activation_bytes(512, 512) > net.activation_bytes(256, 256) * 3.9
