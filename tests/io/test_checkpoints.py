"""Checkpoints: exact resume, RNG state, corruption, incomplete saves, pruning, no pickle."""

from __future__ import annotations

import json
import pickle
import random
import struct

import numpy as np
import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.io import checkpoints as ck


def make_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def train_step(model, opt, x):
    opt.zero_grad()
    loss = model(x).pow(2).mean()
    loss.backward()
    opt.step()
    return loss.detach()


def save_run(stem, model, opt, step):
    tensors = {"G." + k: v for k, v in model.state_dict().items()}
    return ck.save_checkpoint(stem, tensors, {"step": step, "opt": opt.state_dict(), "note": ("a", 1, None)})


def test_adam_resume_is_bit_identical(tmp_path):
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.99))
    for _ in range(2):
        train_step(model, opt, x)
    save_run(tmp_path / "step_00000002", model, opt, 2)

    tensors, state = ck.load_checkpoint(tmp_path / "step_00000002")
    assert state["step"] == 2 and state["note"] == ("a", 1, None)
    fresh = make_model(seed=123)
    fresh.load_state_dict(ck.sub_state_dict(tensors, "G"))
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=1.0)
    fresh_opt.load_state_dict(state["opt"])
    assert fresh_opt.param_groups[0]["betas"] == (0.5, 0.99) and fresh_opt.param_groups[0]["lr"] == 1e-2

    expected_loss = train_step(model, opt, x)
    loss = train_step(fresh, fresh_opt, x)
    assert torch.equal(loss, expected_loss)
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values()):
        assert torch.equal(a, b)
    for sa, sb in zip(opt.state.values(), fresh_opt.state.values()):
        assert torch.equal(sa["exp_avg_sq"], sb["exp_avg_sq"]) and torch.equal(sa["step"], sb["step"])


def test_rng_state_round_trip(tmp_path):
    gen = torch.Generator().manual_seed(7)
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    ck.save_checkpoint(tmp_path / "rng", {}, {"rng": ck.capture_rng_state({"data": gen})})
    first = (random.random(), np.random.rand(), torch.rand(2), torch.rand(2, generator=gen))
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    gen.manual_seed(99)
    _, state = ck.load_checkpoint(tmp_path / "rng")
    ck.restore_rng_state(state["rng"], {"data": gen})
    again = (random.random(), np.random.rand(), torch.rand(2), torch.rand(2, generator=gen))
    assert first[0] == again[0] and first[1] == again[1]
    assert torch.equal(first[2], again[2]) and torch.equal(first[3], again[3])


def test_corrupted_tensor_file_names_it(tmp_path):
    model = make_model()
    json_path = ck.save_checkpoint(tmp_path / "c", {"w": model[0].weight.detach()}, {})
    st = json_path.with_suffix(".safetensors")
    data = bytearray(st.read_bytes())
    data[-3] ^= 0xFF  # one flipped byte inside a weight
    st.write_bytes(bytes(data))
    with pytest.raises(GanstyleError, match="checksum mismatch") as info:
        ck.load_checkpoint(tmp_path / "c")
    assert str(st) in str(info.value)
    tensors, _ = ck.load_checkpoint(tmp_path / "c", verify=False)  # explicit opt-out still reads
    assert tensors["w"].shape == (8, 4)


def test_incomplete_save_is_skipped(tmp_path):
    t = {"w": torch.ones(3)}
    for step in (1, 2, 3):
        ck.save_checkpoint(ck.checkpoint_stem(tmp_path, step), t, {"step": step})
    # Killed between the tensor file and its JSON: the newest pair has no JSON.
    ck.checkpoint_stem(tmp_path, 3).with_suffix(".json").unlink()
    assert ck.latest_checkpoint(tmp_path) == ck.checkpoint_stem(tmp_path, 2)
    with pytest.raises(GanstyleError, match="incomplete checkpoint"):
        ck.load_checkpoint(ck.checkpoint_stem(tmp_path, 3))
    # A tensor file cut short (size differs from the JSON record) is skipped too.
    st2 = ck.checkpoint_stem(tmp_path, 2).with_suffix(".safetensors")
    st2.write_bytes(st2.read_bytes()[:-4])
    assert ck.latest_checkpoint(tmp_path) == ck.checkpoint_stem(tmp_path, 1)
    assert ck.latest_checkpoint(tmp_path / "nothing") is None


def test_prune_keeps_newest(tmp_path):
    for step in (5, 10, 15, 20, 25):
        ck.save_checkpoint(ck.checkpoint_stem(tmp_path, step), {"w": torch.zeros(1)}, {})
    ck.prune_checkpoints(tmp_path, keep=2, protect=(ck.checkpoint_stem(tmp_path, 5),))
    assert [s for s, _ in ck.list_checkpoints(tmp_path)] == [5, 20, 25]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"step_{s:08d}.{ext}" for s in (5, 20, 25) for ext in ("json", "safetensors"))
    ck.prune_checkpoints(tmp_path, keep=0)  # 0 means keep everything
    assert len(ck.list_checkpoints(tmp_path)) == 3


def test_tensor_file_is_plain_safetensors_and_loading_never_unpickles(tmp_path, monkeypatch):
    model = make_model()
    opt = torch.optim.Adam(model.parameters())
    train_step(model, opt, torch.randn(4, 4))
    json_path = save_run(tmp_path / "s", model, opt, 1)
    raw = json_path.with_suffix(".safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    names = set(header) - {"__metadata__"}
    assert "G.0.weight" in names and any(n.startswith("state.") for n in names)
    assert all(set(v) == {"dtype", "shape", "data_offsets"} for k, v in header.items() if k != "__metadata__")
    # Nothing but raw tensor bytes follows the JSON header: no room for a pickled object.
    assert max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__") == len(raw) - 8 - header_len
    assert json.loads(json_path.read_text())["tensor_sha256"] == ck.sha256_file(json_path.with_suffix(".safetensors"))

    def refuse(*args, **kwargs):
        raise AssertionError("checkpoint loading must not unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    tensors, state = ck.load_checkpoint(tmp_path / "s.safetensors")
    assert torch.equal(tensors["G.0.weight"], model[0].weight.detach())
    assert state["step"] == 1


def test_unstorable_state_is_a_clear_error(tmp_path):
    with pytest.raises(TypeError, match="cannot store object"):
        ck.save_checkpoint(tmp_path / "x", {}, {"bad": object()})
    with pytest.raises(GanstyleError, match="no checkpoint here"):
        ck.load_checkpoint(tmp_path / "absent")


def test_prune_never_deletes_the_last_good_checkpoint_for_damaged_newer_ones(tmp_path):
    for step in (1, 2, 3, 4):
        ck.save_checkpoint(ck.checkpoint_stem(tmp_path, step), {"w": torch.full((4,), float(step))}, {"step": step})
    for step in (3, 4):  # damaged after writing: a full disk, a bad copy
        st = ck.checkpoint_stem(tmp_path, step).with_suffix(".safetensors")
        st.write_bytes(st.read_bytes()[:-2])
    ck.prune_checkpoints(tmp_path, keep=1)
    assert [s for s, _ in ck.list_checkpoints(tmp_path)] == [2, 4]
    notices = []
    stem = ck.newest_valid_checkpoint(tmp_path, notify=notices.append)
    assert stem == ck.checkpoint_stem(tmp_path, 2)
    assert len(notices) == 1 and "step_00000004.safetensors: truncated" in notices[0]
    # the file just written (protected) counts as the good one: older ones go as usual
    ck.save_checkpoint(ck.checkpoint_stem(tmp_path, 5), {"w": torch.zeros(4)}, {"step": 5})
    ck.prune_checkpoints(tmp_path, keep=1, protect=(ck.checkpoint_stem(tmp_path, 5),))
    assert [s for s, _ in ck.list_checkpoints(tmp_path)] == [5]


def test_restore_rng_state_changes_nothing_when_an_entry_is_malformed():
    random.seed(5)
    np.random.seed(5)
    state = ck.capture_rng_state()
    expected = (random.getstate(), np.random.get_state()[1].copy())
    bad = {**state, "numpy": ("MT19937", np.zeros(3, dtype=np.uint32), 0, 0, 0.0)}
    random.seed(6)
    moved = random.getstate()
    with pytest.raises(GanstyleError, match="malformed RNG entry 'numpy'"):
        ck.restore_rng_state(bad)
    assert random.getstate() == moved  # the python entry was not applied either
    ck.restore_rng_state(state)
    assert random.getstate() == expected[0] and np.array_equal(np.random.get_state()[1], expected[1])
