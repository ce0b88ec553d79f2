"""PyTorch peer of bench/losses.ts: one Adam step of each metric loss, the
formulas of pytorch-metric-learning's defaults written in torch (normalised
embeddings; Euclidean distance for contrastive and triplet, cosine similarity
for the rest), on a 128 x 64 batch of 32 classes x 4. Prints one JSON object
of median milliseconds per step. Run with Debian's python3 (python3-torch).
argv: threads steps
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

from peer_timing import median_ms

threads = int(sys.argv[1])
steps = int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
N, D, C = 128, 64, 32
labels = torch.arange(N) % C
same = labels[:, None] == labels[None, :]
eye = torch.eye(N, dtype=torch.bool)
pos_mask = same & ~eye
neg_mask = ~same


def euclid(x):
    x = F.normalize(x, dim=1)
    sq = (x * x).sum(1)
    return (sq[:, None] + sq[None, :] - 2 * x @ x.T).clamp_min(0).sqrt()


def cosine(x):
    x = F.normalize(x, dim=1)
    return x @ x.T


def avg_nonzero(v):
    return v.sum() / (v > 0).sum().clamp_min(1)


def contrastive(x, _):
    d = euclid(x)
    return avg_nonzero(F.relu(d - 0.0)[pos_mask]) + avg_nonzero(F.relu(1.0 - d)[neg_mask])


def triplet(x, _):
    d = euclid(x)
    with torch.no_grad():  # TripletMarginMiner(margin 0.2, 'all')
        m = pos_mask[:, :, None] & neg_mask[:, None, :] & ((d[:, None, :] - d[:, :, None]) <= 0.2)
    a, p, n = m.nonzero(as_tuple=True)
    return avg_nonzero(F.relu(d[a, p] - d[a, n] + 0.05))


def multi_similarity(x, _):
    s = cosine(x)
    pos = torch.where(pos_mask, torch.exp(-2.0 * (s - 0.5)), torch.zeros_like(s)).sum(1)
    neg = torch.where(neg_mask, torch.exp(50.0 * (s - 0.5)), torch.zeros_like(s)).sum(1)
    return (torch.log1p(pos) / 2.0 + torch.log1p(neg) / 50.0).mean()


def ntxent(x, _):
    s = cosine(x) / 0.07
    neg = torch.where(neg_mask, torch.exp(s), torch.zeros_like(s)).sum(1, keepdim=True)
    a, p = pos_mask.nonzero(as_tuple=True)
    sp = s[a, p]
    return (-(sp - torch.log(torch.exp(sp) + neg[a, 0]))).mean()


def proxy_anchor(x, w):
    s = F.normalize(x, dim=1) @ F.normalize(w, dim=1).T  # N x C
    onehot = F.one_hot(labels, C).bool()
    pos = torch.where(onehot, torch.exp(-32.0 * (s - 0.1)), torch.zeros_like(s)).sum(0)
    neg = torch.where(~onehot, torch.exp(32.0 * (s + 0.1)), torch.zeros_like(s)).sum(0)
    with_pos = onehot.any(0)
    return torch.log1p(pos[with_pos]).sum() / with_pos.sum() + torch.log1p(neg).sum() / C


def arcface(x, w):
    cos = F.normalize(x, dim=1) @ F.normalize(w, dim=0)  # N x C
    m = math.radians(28.6)
    target = torch.acos(cos.gather(1, labels[:, None]).clamp(-1 + 1e-7, 1 - 1e-7))
    logits = cos.scatter(1, labels[:, None], torch.cos(target + m))
    return F.cross_entropy(64.0 * logits, labels)


LOSSES = {
    'contrastive': (contrastive, None),
    'triplet': (triplet, None),
    'multi_similarity': (multi_similarity, None),
    'ntxent': (ntxent, None),
    'proxy_anchor': (proxy_anchor, (C, D)),
    'arcface': (arcface, (D, C)),
}
out = {'torch': torch.__version__, 'threads': torch.get_num_threads()}
for name, (fn, wshape) in LOSSES.items():
    x = torch.randn(N, D, requires_grad=True)
    params = [x]
    w = None
    if wshape is not None:
        w = torch.randn(*wshape, requires_grad=True)
        params.append(w)
    opt = torch.optim.Adam(params, lr=1e-3)

    def step():
        opt.zero_grad()
        loss = fn(x, w)
        loss.backward()
        opt.step()
        loss.item()

    out[name] = median_ms(step, steps)
print(json.dumps(out))
