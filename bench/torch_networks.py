"""PyTorch peer of bench/networks.ts: ResNet-12 with RFS's widths, the same shapes and timing rules.

ResNet-12 as RFS (and src/nn/backbones.ts): four stages of one block, each
3 x (conv3x3 no bias -> BN) with LeakyReLU(0.1) after the first two, a 1x1 conv + BN
shortcut, add -> LeakyReLU(0.1) -> max-pool 2; global average pool; linear. Kaiming-normal
(fan-out) convolutions. No dropout or DropBlock here or in the eccvkit row (the timing
is of the network, not of the regulariser). channels_last. SGD(lr 0.05, momentum 0.9,
weight_decay 5e-4), cross-entropy. Prints one JSON object.
Run with Debian's python3 (apt-get install python3-torch).
argv: threads steps
"""
import json
import resource
import sys

import torch
import torch.nn as nn

from peer_timing import median_ms

threads = int(sys.argv[1])
steps = int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
WIDTHS = [64, 160, 320, 640]


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False) for i in range(3)])
        self.bns = nn.ModuleList([nn.BatchNorm2d(cout, momentum=0.1, eps=1e-5) for _ in range(3)])
        self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-5))
        self.act = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        r = x
        for i in range(3):
            r = self.bns[i](self.convs[i](r))
            if i < 2:
                r = self.act(r)
        return self.pool(self.act(r + self.short(x)))


class ResNet12(nn.Module):
    def __init__(self, classes):
        super().__init__()
        chans = [3] + WIDTHS
        self.stages = nn.Sequential(*[Block(chans[i], chans[i + 1]) for i in range(4)])
        self.fc = nn.Linear(WIDTHS[-1], classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='leaky_relu')

    def features(self, x):
        return self.stages(x).mean((2, 3))

    def forward(self, x):
        return self.fc(self.features(x))




net = ResNet12(64).to(memory_format=torch.channels_last)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
loss_fn = nn.CrossEntropyLoss()
x = torch.rand(32, 3, 32, 32).to(memory_format=torch.channels_last)
y = torch.randint(0, 64, (32,))
x128 = torch.rand(128, 3, 32, 32).to(memory_format=torch.channels_last)


def train_step():
    net.train()
    opt.zero_grad()
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()
    loss.item()


def forward():
    net.eval()
    with torch.no_grad():
        net.features(x128).sum().item()


train = median_ms(train_step, steps)
fwd = median_ms(forward, max(3, steps // 2))
print(json.dumps({
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "trainStepMs": train,
    "forwardMs": fwd,
    "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
