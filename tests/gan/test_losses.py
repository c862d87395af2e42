import math

import pytest
import torch

from ganstyle.errors import GanstyleError
from ganstyle.gan import losses as L

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def sp(x):  # softplus by hand: log(1 + e^x)
    return math.log1p(math.exp(x))


def test_minimax_and_nonsaturating_values():
    d = sum(sp(-r) for r in REAL.tolist()) / 2 + sum(sp(f) for f in FAKE.tolist()) / 2
    assert L.minimax_d_loss(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert L.nonsaturating_d_loss(REAL, FAKE).item() == pytest.approx(d, rel=1e-6)
    assert L.minimax_g_loss(FAKE).item() == pytest.approx(-(sp(0.5) + sp(-3.0)) / 2, rel=1e-6)
    assert L.nonsaturating_g_loss(FAKE).item() == pytest.approx((sp(-0.5) + sp(3.0)) / 2, rel=1e-6)


def test_bce_equals_log_sigmoid_definition():
    r, f = torch.sigmoid(REAL), torch.sigmoid(FAKE)
    ref = -(torch.log(r).mean() + torch.log(1 - f).mean())
    assert L.minimax_d_loss(REAL, FAKE).item() == pytest.approx(ref.item(), rel=1e-6)


def test_label_smoothing_changes_real_target_only():
    t = 0.9
    real = sum(t * sp(-r) + (1 - t) * sp(r) for r in REAL.tolist()) / 2
    fake = sum(sp(f) for f in FAKE.tolist()) / 2
    loss = L.get_loss("ns", label_smoothing=0.1)
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(real + fake, rel=1e-6)
    assert loss.g_loss(FAKE).item() == pytest.approx(L.nonsaturating_g_loss(FAKE).item())


def test_hinge_values():
    # relu(1-2)=0, relu(1+1)=2 -> 1 ; relu(1+0.5)=1.5, relu(1-3)=0 -> 0.75
    assert L.hinge_d_loss(REAL, FAKE).item() == pytest.approx(1.75)
    assert L.hinge_g_loss(FAKE).item() == pytest.approx(1.25)


def test_wasserstein_values():
    assert L.wasserstein_d_loss(REAL, FAKE).item() == pytest.approx(-1.25 - 0.5)
    assert L.wasserstein_g_loss(FAKE).item() == pytest.approx(1.25)


def test_least_squares_values():
    # real: ((2-1)^2 + (-1-1)^2)/2 = 2.5 ; fake: (0.25 + 9)/2 = 4.625 ; halves
    assert L.least_squares_d_loss(REAL, FAKE).item() == pytest.approx(0.5 * 2.5 + 0.5 * 4.625)
    assert L.least_squares_g_loss(FAKE).item() == pytest.approx(0.5 * (0.25 + 16) / 2)


def test_label_smoothing_rejected_for_hinge():
    with pytest.raises(GanstyleError, match="label-smoothing"):
        L.get_loss("hinge", label_smoothing=0.1)
    with pytest.raises(GanstyleError, match="unknown loss"):
        L.get_loss("nope")


class Linear2D(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = torch.nn.Parameter(torch.as_tensor(a, dtype=torch.float32))

    def forward(self, x, y=None):
        return (x.flatten(1) * self.a).sum(1)


@pytest.mark.parametrize("a", [[3.0, 4.0], [0.3, 0.4], [0.6, 0.8]])
def test_gradient_penalty_on_linear_critic(a):
    D = Linear2D(a)
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    gp = L.gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(0))
    norm = math.hypot(*a)
    assert gp.item() == pytest.approx((norm - 1) ** 2, abs=1e-5)
    gp.backward()  # differentiable w.r.t. D's parameters: d/da (|a|-1)^2 = 2(|a|-1) a/|a|
    expected = [2 * (norm - 1) * v / norm for v in a]
    assert D.a.grad.tolist() == pytest.approx(expected, abs=1e-4)


def test_r1_penalty_on_linear_critic():
    D = Linear2D([3.0, 4.0])
    assert L.r1_penalty(D, torch.randn(8, 2)).item() == pytest.approx(25.0)


def test_r1_from_shared_forward_matches_separate_pass():
    torch.manual_seed(0)
    D = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    critic = lambda x, y=None: D(x).squeeze(1)  # noqa: E731
    real = torch.randn(6, 2)
    shared_input = real.clone().requires_grad_(True)
    shared = L.r1_penalty(critic, shared_input, real_logits=critic(shared_input))
    assert shared.item() == pytest.approx(L.r1_penalty(critic, real).item(), rel=1e-6)
    assert shared.item() > 0
