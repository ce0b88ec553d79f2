"""Peer for bench/hpo.ts: Optuna (Debian's python3-optuna) on the same test
functions and seeds, and its ask/tell overhead at N trials in memory and on
SQLite. Reads one JSON request on stdin, prints one JSON answer."""
import json
import math
import os
import sys
import tempfile
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)

H_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
H_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
H_C = [1.0, 1.2, 3.0, 3.2]
MIXED_SHIFT = {"relu": 0.0, "gelu": 0.3, "tanh": 1.0}
MIXED_CENTRE = {"relu": 0.2, "gelu": -0.4, "tanh": 0.6}


def branin(t):
    x = t.suggest_float("x", -5, 10)
    y = t.suggest_float("y", 0, 15)
    b = 5.1 / (4 * math.pi**2)
    c = 5 / math.pi
    return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


def hartmann6(t):
    x = [t.suggest_float(f"x{i}", 0, 1) for i in range(6)]
    s = 0.0
    for i in range(4):
        inner = sum(H_A[i][j] * (x[j] - H_P[i][j] * 1e-4) ** 2 for j in range(6))
        s += H_C[i] * math.exp(-inner)
    return -s


def mixed(t):
    act = t.suggest_categorical("activation", ["relu", "gelu", "tanh"])
    x = t.suggest_float("x", -1, 1)
    lr = t.suggest_float("lr", 1e-5, 1, log=True)
    n = t.suggest_int("layers", 1, 10)
    return (x - MIXED_CENTRE[act]) ** 2 + (math.log10(lr) + 3) ** 2 / 4 + abs(n - 4) / 6 + MIXED_SHIFT[act]


FUNCS = {"branin": branin, "hartmann6": hartmann6, "mixed": mixed}


def search(req):
    out = {}
    for name in req["functions"]:
        f = FUNCS[name]
        per = {"tpe": [], "random": []}
        for seed in range(req["seeds"]):
            for kind in per:
                sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True) if kind == "tpe" else optuna.samplers.RandomSampler(seed=seed)
                study = optuna.create_study(sampler=sampler)
                study.optimize(f, n_trials=req["trials"])
                per[kind].append(study.best_value)
        out[name] = per
    return out


def overhead(n):
    res = {}
    for where in ("memory", "sqlite"):
        tmp = None
        storage = None
        if where == "sqlite":
            tmp = tempfile.mkdtemp()
            storage = f"sqlite:///{os.path.join(tmp, 'optuna.db')}"
        study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
        t0 = time.perf_counter()
        for _ in range(n):
            trial = study.ask()
            v = trial.suggest_float("x", 0, 1) + trial.suggest_float("y", 0, 1)
            study.tell(trial, v)
        res[where] = (time.perf_counter() - t0) * 1000 / n
    return res


req = json.load(sys.stdin)
answer = {"optuna": optuna.__version__}
if req.get("functions"):
    answer["search"] = search(req)
if req.get("overheadTrials"):
    answer["overheadMs"] = overhead(req["overheadTrials"])
print(json.dumps(answer))
