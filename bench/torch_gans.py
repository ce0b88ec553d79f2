"""PyTorch peer of bench/gans.ts: the two GAN steps the experiments train, same nets and rules.

(1) WGAN-GP on the 64x64 DCGAN (topogan's nets: width 16, latent 64, one channel):
5 critic steps, each on a fresh real batch and G(z) without a gradient to G, loss
mean D(fake) - mean D(real) + 10 * E(||grad D(x_hat)|| - 1)^2 on random
interpolates (second-order gradient), then one generator step on -mean D(G(z)).
(2) The 28x28 DCGAN with spectral norm k = 1 on every critic layer (lipschitz's
nets: width 16, latent 32): one critic and one generator step of the
non-saturating loss. Both batch 64, Adam 2e-4 (0.5, 0.999), channels_last.

The nets follow src/nn/gan-nets.ts: G = linear (no bias) -> BN -> ReLU -> reshape ->
n x [4x4 stride-2 transposed conv (no bias) -> BN -> ReLU] with halving filters ->
3x3 conv -> tanh; D = n x [4x4 stride-2 conv -> LeakyReLU 0.2] with doubling filters ->
flatten -> linear(1). N(0, 0.02) weights. Prints one JSON object.
argv: threads steps
"""
import json
import resource
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from peer_timing import median_ms

threads = int(sys.argv[1])
steps = int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)


def init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)


class Generator(nn.Module):
    def __init__(self, size, latent, width):
        super().__init__()
        self.start, n = (7, 2) if size == 28 else (4, {32: 3, 64: 4}[size])
        self.top = width * 2 ** (n - 1)
        self.fc = nn.Linear(latent, self.start * self.start * self.top, bias=False)
        self.bn = nn.BatchNorm1d(self.start * self.start * self.top, eps=1e-3)
        ups = []
        for i in range(n):
            cin = width * 2 ** (n - i) if i > 0 else self.top
            cout = width * 2 ** (n - 1 - i)
            ups += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU()]
        self.ups = nn.Sequential(*ups)
        self.out = nn.Conv2d(width, 1, 3, padding=1)
        self.apply(init)

    def forward(self, z):
        x = F.relu(self.bn(self.fc(z))).view(-1, self.top, self.start, self.start).contiguous(memory_format=torch.channels_last)
        return torch.tanh(self.out(self.ups(x)))


class Critic(nn.Module):
    def __init__(self, size, width, sn):
        super().__init__()
        n = 2 if size == 28 else {32: 3, 64: 4}[size]
        wrap = nn.utils.spectral_norm if sn else (lambda m: m)
        layers, cin = [], 1
        for i in range(n):
            layers += [wrap(nn.Conv2d(cin, width * 2 ** i, 4, 2, 1)), nn.LeakyReLU(0.2)]
            cin = width * 2 ** i
        self.trunk = nn.Sequential(*layers)
        side = size // 2 ** n
        self.head = wrap(nn.Linear(cin * side * side, 1))
        self.apply(init)

    def forward(self, x):
        return self.head(torch.flatten(self.trunk(x), 1))


def adam(params):
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))


def setup(size, latent, sn):
    g = Generator(size, latent, 16).to(memory_format=torch.channels_last)
    d = Critic(size, 16, sn).to(memory_format=torch.channels_last)
    real_all = (torch.rand(1024, 1, size, size) * 2 - 1).contiguous(memory_format=torch.channels_last)
    return g, d, adam(g.parameters()), adam(d.parameters()), real_all


def wgan_gp(batch=64, latent=64, size=64):
    g, d, og, od, real_all = setup(size, latent, False)

    def step():
        for _ in range(5):
            real = real_all[torch.randint(0, 1024, (batch,))]
            with torch.no_grad():
                fake = g(torch.randn(batch, latent))
            od.zero_grad(set_to_none=True)
            u = torch.rand(batch, 1, 1, 1)
            x_hat = (real + u * (fake - real)).requires_grad_(True)
            grad, = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
            penalty = ((grad.flatten(1).square().sum(1) + 1e-12).sqrt() - 1).square().mean()
            loss = d(fake).mean() - d(real).mean() + 10 * penalty
            loss.backward()
            od.step()
        og.zero_grad(set_to_none=True)
        (-d(g(torch.randn(batch, latent))).mean()).backward()
        og.step()

    return median_ms(step, steps)


def sn_dcgan(batch=64, latent=32, size=28):
    g, d, og, od, real_all = setup(size, latent, True)

    def step():
        real = real_all[torch.randint(0, 1024, (batch,))]
        with torch.no_grad():
            fake = g(torch.randn(batch, latent))
        od.zero_grad(set_to_none=True)
        (F.softplus(-d(real)).mean() + F.softplus(d(fake)).mean()).backward()
        od.step()
        og.zero_grad(set_to_none=True)
        F.softplus(-d(g(torch.randn(batch, latent)))).mean().backward()
        og.step()

    return median_ms(step, steps)


print(json.dumps({
    'torch': torch.__version__,
    'threads': threads,
    'wganGpStepMs': wgan_gp(),
    'snDcganStepMs': sn_dcgan(),
    'peakRssMiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
