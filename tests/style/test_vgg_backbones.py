"""The VGG registry entries load their official key layouts and apply their input conventions."""

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ganstyle.errors import GanstyleError
from ganstyle.style import backbones as bb

# torchvision's cfg lists: conv widths with "M" for each max-pool (the layout of features.N).
TORCHVISION_CFG = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def official_state(cfg, seed=0):
    g = torch.Generator().manual_seed(seed)
    state, idx, cin = {}, 0, 3
    for v in cfg:
        if v == "M":
            idx += 1
            continue
        state[f"features.{idx}.weight"] = torch.randn(v, cin, 3, 3, generator=g) * 0.05
        state[f"features.{idx}.bias"] = torch.randn(v, generator=g) * 0.05
        idx, cin = idx + 2, v
    state["classifier.0.weight"] = torch.zeros(4, 4)  # must be ignored
    return state


def reference_features(x, state, cfg, n_convs):
    """A hand-written chain over features.N (conv/relu/pool) for the first ``n_convs`` convolutions."""
    idx, done = 0, 0
    for v in cfg:
        if v == "M":
            x = F.max_pool2d(x, 2)
            idx += 1
            continue
        x = torch.relu(F.conv2d(x, state[f"features.{idx}.weight"], state[f"features.{idx}.bias"], padding=1))
        idx, done = idx + 2, done + 1
        if done == n_convs:
            return x
    return x


@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
def test_vgg16_loads_torchvision_layout(tmp_path, fmt):
    state = official_state(TORCHVISION_CFG["vgg16"])
    path = tmp_path / f"vgg16.{fmt}"
    torch.save(state, path) if fmt == "pth" else save_file(state, str(path))
    net = bb.build_backbone("vgg16", weights=path)
    # Johnson et al.'s layers exist; VGG-19-only ones do not.
    net.check_layers(["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_1"])
    with pytest.raises(GanstyleError, match="relu3_4"):
        net.check_layers(["relu3_4"])
    assert torch.equal(net.stack["conv4_3"].weight, state["features.21.weight"])
    assert torch.equal(net.stack["conv5_1"].bias, state["features.24.bias"])
    x = torch.rand(1, 3, 32, 32)
    ref = reference_features((x - torch.tensor(bb.IMAGENET_MEAN).view(1, 3, 1, 1))
                             / torch.tensor(bb.IMAGENET_STD).view(1, 3, 1, 1), state, TORCHVISION_CFG["vgg16"], 7)
    assert torch.allclose(net(x, ["relu3_3"])["relu3_3"], ref, atol=1e-5)


def test_vgg19_caffe_takes_bgr_255_minus_mean(tmp_path):
    state = official_state(TORCHVISION_CFG["vgg19"], seed=1)
    path = tmp_path / "vgg19-d01eb7cb.pth"
    torch.save(state, path)
    net = bb.build_backbone("vgg19-caffe", weights=path)
    x = torch.rand(1, 3, 24, 24)
    caffe = x[:, [2, 1, 0]] * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    ref = reference_features(caffe, state, TORCHVISION_CFG["vgg19"], 5)
    assert torch.allclose(net(x, ["relu3_1"])["relu3_1"], ref, rtol=1e-4, atol=1e-3)
    # The same file through the torchvision-convention loader gives different features.
    tv = bb.build_backbone("vgg19", weights=path)
    assert not torch.allclose(tv(x, ["relu3_1"])["relu3_1"], ref, rtol=1e-2, atol=1e-2)


def test_vgg16_refuses_vgg19_file(tmp_path):
    path = tmp_path / "vgg19.pth"
    torch.save(official_state(TORCHVISION_CFG["vgg19"]), path)
    # VGG-16's conv4_1 is features.17, a ReLU in VGG-19 (whose extra conv3_4 shifts every later index).
    with pytest.raises(GanstyleError, match=r"not a VGG-16 checkpoint.*missing 4 of 22 .*first: features\.17\.weight"):
        bb.build_backbone("vgg16", weights=path)


@pytest.mark.parametrize("name", ["vgg19", "vgg16", "vgg19-caffe"])
def test_env_var_and_offline_message(tmp_path, monkeypatch, name):
    spec = bb.BACKBONES[name].spec
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(spec.env_var, raising=False)

    def no_network(*a, **k):
        raise bb.vgg.urllib.error.URLError("offline")

    monkeypatch.setattr(bb.vgg.urllib.request, "urlopen", no_network)
    with pytest.raises(GanstyleError) as info:
        bb.build_backbone(name)
    msg = str(info.value)
    cache = tmp_path / "torch" / "hub" / "checkpoints" / spec.filename
    assert msg == (f"{spec.title} weights not found: download {spec.url} to {cache} "
                   f"(or pass --weights PATH / set {spec.env_var}), or use --backbone random")
    assert not cache.with_name(cache.name + ".partial").exists()
    with pytest.raises(GanstyleError, match="--weights .*missing.pth: no such file"):
        bb.build_backbone(name, weights=tmp_path / "missing.pth")
    monkeypatch.setenv(spec.env_var, str(tmp_path / "nope.pth"))
    with pytest.raises(GanstyleError, match=f"\\${spec.env_var}=.*nope.pth: no such file"):
        bb.build_backbone(name)
    good = tmp_path / "w.safetensors"
    cfg = TORCHVISION_CFG["vgg16" if name == "vgg16" else "vgg19"]  # vgg19-caffe has VGG-19's layout
    save_file({k: v for k, v in official_state(cfg).items() if k.startswith("features")}, str(good))
    monkeypatch.setenv(spec.env_var, str(good))
    assert bb.build_backbone(name).name == name
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(good.read_bytes())  # the hub cache is used when nothing else is named
    monkeypatch.delenv(spec.env_var)
    with pytest.raises(GanstyleError, match="not a PyTorch checkpoint"):  # .pth name, safetensors bytes
        bb.build_backbone(name)


def test_registry_lists_every_backbone():
    assert set(bb.BACKBONES) == {"vgg19", "vgg16", "vgg19-caffe", "random"}
    assert bb.BACKBONE_CHOICES[0] == "auto" and set(bb.BACKBONE_CHOICES[1:]) == set(bb.BACKBONES)
    specs = {n: e.spec for n, e in bb.BACKBONES.items() if e.spec}
    # The hub file name carries the official SHA-256 prefix that the download checks.
    assert specs["vgg16"].filename == "vgg16-397923af.pth" and specs["vgg16"].url.endswith(specs["vgg16"].filename)
    assert specs["vgg19-caffe"].url.endswith("vgg19-d01eb7cb.pth")
    assert len({s.env_var for s in specs.values()}) == 3
