import torch

from ganstyle.style import losses


def test_gram_matches_hand_computation():
    feat = torch.tensor([[[[1.0, 2.0], [0.0, -1.0]], [[3.0, 0.0], [1.0, 1.0]]]])  # (1, 2, 2, 2)
    a = [1.0, 2.0, 0.0, -1.0]
    b = [3.0, 0.0, 1.0, 1.0]
    dot = lambda u, v: sum(x * y for x, y in zip(u, v))
    expected = torch.tensor([[dot(a, a), dot(a, b)], [dot(b, a), dot(b, b)]]) / (2 * 2 * 2)
    assert torch.allclose(losses.gram_matrix(feat)[0], expected)


def test_gram_is_size_independent_for_tiled_texture():
    torch.manual_seed(0)
    tile = torch.randn(1, 4, 8, 8)
    big = tile.repeat(1, 1, 2, 2)
    assert torch.allclose(losses.gram_matrix(tile), losses.gram_matrix(big), atol=1e-6)


def test_losses_zero_iff_equal():
    torch.manual_seed(0)
    a, b = torch.randn(2, 8, 6, 6), torch.randn(2, 8, 6, 6)
    assert losses.content_loss(a, a) == 0 and losses.content_loss(a, b) > 0
    targets = losses.gram_targets({"x": a})
    assert losses.style_loss({"x": a}, targets) == 0
    assert losses.style_loss({"x": b}, targets) > 0
    assert losses.style_loss({"x": b}, targets, {"x": 0.0}) == 0
    assert losses.adain_style_loss({"x": a}, {"x": a}) < 1e-12
    assert losses.adain_style_loss({"x": b}, {"x": a}) > 0
    flat = torch.full((1, 3, 5, 5), 0.3)
    assert losses.tv_loss(flat) == 0
    assert losses.tv_loss(torch.rand(1, 3, 5, 5)) > 0


def test_style_loss_is_permutation_invariant_in_space():
    torch.manual_seed(0)
    a = torch.randn(1, 5, 6, 6)
    shuffled = a.flatten(2)[..., torch.randperm(36)].view_as(a)
    targets = losses.gram_targets({"x": a})
    assert losses.style_loss({"x": shuffled}, targets) < 1e-10
    assert losses.content_loss(shuffled, a) > 0


def test_mean_std_and_adain():
    torch.manual_seed(0)
    c = torch.randn(2, 4, 7, 7) * 3 + 1
    s = torch.randn(2, 4, 9, 9) * 0.5 - 2
    mean, std = losses.mean_std(c, eps=0.0)
    assert torch.allclose(mean.flatten(), c.flatten(2).mean(2).flatten(), atol=1e-5)
    assert torch.allclose(std.flatten(), c.flatten(2).std(2, unbiased=False).flatten(), atol=1e-5)
    out = losses.adain(c, s)
    o_mean, o_std = losses.mean_std(out)
    s_mean, s_std = losses.mean_std(s)
    assert torch.allclose(o_mean, s_mean, atol=1e-4) and torch.allclose(o_std, s_std, atol=1e-3)
    # AdaIN keeps the content's spatial layout: the normalised maps are identical.
    assert torch.allclose((out - o_mean) / o_std, (c - mean) / losses.mean_std(c)[1], atol=1e-3)


def test_style_loss_broadcasts_target_over_batch():
    torch.manual_seed(0)
    s = torch.randn(1, 3, 4, 4)
    batch = s.repeat(3, 1, 1, 1)
    assert losses.style_loss({"x": batch}, losses.gram_targets({"x": s})) < 1e-12
