import dataclasses

import pytest
import torch
from torch import nn

from ganstyle.translate.blocks import AdaIN, ImagePool, PatchDiscriminator
from ganstyle.translate.cyclegan import CycleGAN, ResnetGenerator
from ganstyle.translate.munit import MUNIT


def images(n=4, size=16, seed=0):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_resnet_generator_keeps_shape_and_range():
    torch.manual_seed(0)
    y = ResnetGenerator(3, width=4, n_res_blocks=2)(images() * 5)
    assert y.shape == (4, 3, 16, 16)
    assert y.abs().max() <= 1


@pytest.mark.parametrize("layers,grid", [(1, 14), (2, 6)])
def test_patch_discriminator_gives_a_grid_of_logits(layers, grid):
    d = PatchDiscriminator(3, width=4, layers=layers)
    assert d(images(size=32)).shape == (4, 1, grid, grid)


def test_cyclegan_losses(tiny_cyclegan):
    torch.manual_seed(0)
    m = CycleGAN(tiny_cyclegan)
    a, b = images(seed=1), images(seed=2)
    total, parts, fakes = m.generator_loss(a, b)
    assert set(parts) == {"adv", "cycle", "identity"}
    cfg = tiny_cyclegan
    expected = parts["adv"] + cfg.cycle_weight * (parts["cycle"] + cfg.identity_weight * parts["identity"])
    assert torch.allclose(total, expected)
    assert all(float(v.detach()) > 0 for v in parts.values())
    assert fakes["fake_b"].shape == a.shape and not fakes["fake_b"].requires_grad
    d_total, d_parts = m.discriminator_loss(a, b, fakes)
    assert torch.allclose(d_total, d_parts["d_a"] + d_parts["d_b"])
    # LSGAN: a discriminator that outputs 1 on real and 0 on fake has zero loss
    m.D_a = m.D_b = _ConstantByBatch(a, b)
    assert float(m.discriminator_loss(a, b, {"fake_a": a * 0 + 5, "fake_b": b * 0 + 5})[0]) == 0.0


class _ConstantByBatch(nn.Module):
    """Logit 1 for the two real batches given at construction, 0 for anything else."""

    def __init__(self, *reals):
        super().__init__()
        self.reals = reals

    def forward(self, x):
        real = any(x.shape == r.shape and torch.equal(x, r) for r in self.reals)
        return torch.full((len(x), 1, 2, 2), 1.0 if real else 0.0)


def test_cycle_and_identity_losses_are_zero_for_identity_generators(tiny_cyclegan):
    m = CycleGAN(tiny_cyclegan)
    m.G_ab, m.G_ba = nn.Identity(), nn.Identity()
    with torch.no_grad():
        _, parts, _ = m.generator_loss(images(seed=1), images(seed=2))
    assert float(parts["cycle"]) == 0.0 and float(parts["identity"]) == 0.0
    assert float(parts["adv"]) > 0


def test_identity_loss_can_be_switched_off(tiny_cyclegan):
    m = CycleGAN(dataclasses.replace(tiny_cyclegan, identity_weight=0.0))
    _, parts, _ = m.generator_loss(images(seed=1), images(seed=2))
    assert "identity" not in parts


def test_munit_parts_shapes_and_styles(tiny_munit):
    torch.manual_seed(0)
    m = MUNIT(tiny_munit).eval()
    x = images(n=3)
    content, style = m.ae_a.encode(x)
    assert content.shape == (3, 4 * tiny_munit.g_width, 4, 4)
    assert style.shape == (3, tiny_munit.style_dim)
    assert m.ae_b.decode(content, style).shape == x.shape
    s1, s2 = torch.randn(1, 3), torch.randn(1, 3)
    y1, y1_again, y2 = m.translate(x, "a2b", style=s1), m.translate(x, "a2b", style=s1), m.translate(x, "a2b", style=s2)
    assert torch.equal(y1, y1_again)
    assert (y1 - y2).abs().mean() > 1e-4  # the style code changes the output
    ref = m.style_of(images(n=1, seed=5), "b")
    assert torch.equal(m.translate(x, "a2b", style=ref), m.translate(x, "a2b", style=ref.expand(3, -1)))


def test_munit_losses(tiny_munit):
    torch.manual_seed(0)
    m = MUNIT(tiny_munit)
    total, parts, fakes = m.generator_loss(images(seed=1), images(seed=2))
    assert set(parts) == {"adv", "recon_x", "recon_c", "recon_s", "cycle"}
    c = tiny_munit
    expected = (parts["adv"] + c.recon_x_weight * parts["recon_x"] + c.recon_c_weight * parts["recon_c"]
                + c.recon_s_weight * parts["recon_s"] + c.cycle_weight * parts["cycle"])
    assert torch.allclose(total, expected)
    total.backward()  # every generator part gets a gradient
    assert all(p.grad is not None for ae in m.generators() for p in ae.parameters())


def test_adain_applies_scale_and_shift():
    layer = AdaIN(2)
    x = torch.randn(3, 2, 5, 5)
    layer.set_params(torch.full((3, 2), 1.0), torch.full((3, 2), 0.5))  # gain 1 + 1 = 2
    y = layer(x)
    assert torch.allclose(y.mean((2, 3)), torch.full((3, 2), 0.5), atol=1e-5)
    assert torch.allclose(y.std((2, 3), unbiased=False), torch.full((3, 2), 2.0), atol=1e-3)


def test_image_pool_fills_then_swaps_half_the_time():
    pool = ImagePool(4, torch.Generator().manual_seed(0))
    first = images(n=4, seed=1)
    assert torch.equal(pool.query(first), first)  # filling: returned as given
    seen = {tuple(img.flatten()[:3].tolist()) for img in first}
    swapped = 0
    for k in range(50):
        new = images(n=2, seed=10 + k)
        out = pool.query(new)
        seen |= {tuple(img.flatten()[:3].tolist()) for img in new[:1]}  # new[0] may already be swapped out
        for o, n_ in zip(out, new):
            if not torch.equal(o, n_):
                swapped += 1
                assert tuple(o.flatten()[:3].tolist()) in seen  # an older image came back
        seen |= {tuple(img.flatten()[:3].tolist()) for img in new[1:]}
        assert len(pool.images) == 4
    assert 30 <= swapped <= 70  # about half of 100


def test_image_pool_size_zero_and_state_round_trip():
    batch = images(n=3)
    assert ImagePool(0, torch.Generator()).query(batch) is batch
    a = ImagePool(3, torch.Generator().manual_seed(1))
    a.query(images(n=3, seed=2))
    b = ImagePool(3, torch.Generator())
    b.load_state_dict(a.state_dict())
    b.generator.set_state(a.generator.get_state())
    new = images(n=6, seed=3)
    assert torch.equal(a.query(new), b.query(new))
