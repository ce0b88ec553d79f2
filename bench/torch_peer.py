"""PyTorch peer of bench/engine.ts: the same reference net, shapes and timing rules.

Prints one JSON object. Run with Debian's python3 (apt-get install python3-torch).
argv: threads steps
"""
import json
import sys
import time

import torch
import torch.nn as nn

from peer_timing import median_ms

threads = int(sys.argv[1])
steps = int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)




net = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
x = torch.rand(128, 1, 28, 28)
y = torch.randint(0, 10, (128,))
loss_fn = nn.CrossEntropyLoss()


def train_step():
    opt.zero_grad()
    loss = loss_fn(net(x), y)
    loss.backward()
    opt.step()
    loss.item()


def forward():
    with torch.no_grad():
        net(x).sum().item()


a = torch.rand(1024, 1024) * 2 - 1
b = torch.rand(1024, 1024) * 2 - 1
cx = torch.rand(128, 32, 28, 28).to(memory_format=torch.channels_last)
cw = torch.rand(64, 32, 3, 3).to(memory_format=torch.channels_last)


def matmul():
    with torch.no_grad():
        (a @ b)[0, 0].item()


def conv():
    with torch.no_grad():
        torch.nn.functional.conv2d(cx, cw, padding=1)[0, 0, 0, 0].item()


print(json.dumps({
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "trainStepMs": median_ms(train_step, steps),
    "forwardMs": median_ms(forward, max(3, steps)),
    "matMulMs": median_ms(matmul, 5),
    "convMs": median_ms(conv, 5),
}))
