"""faiss peer of bench/retrieval.ts: leave-one-out kNN of the same embeddings.

Exact search (IndexFlatL2) with k = the largest class size, the kNN that
pytorch-metric-learning's AccuracyCalculator runs; its own entry is removed
from each query's neighbours by index. Prints one JSON object: the search's
wall time and P@1, R-precision and MAP@R computed from its neighbours.
Run with Debian's python3 (apt-get install python3-faiss).
argv: threads embeddings.npy labels.npy
"""
import json
import sys
import time

import faiss
import numpy as np

threads = int(sys.argv[1])
faiss.omp_set_num_threads(threads)
x = np.ascontiguousarray(np.load(sys.argv[2]), dtype=np.float32)
labels = np.load(sys.argv[3]).astype(np.int64)
counts = np.bincount(labels)
k = int(counts.max())  # R + 1 of the largest class: its own entry comes back too

t = time.perf_counter()
index = faiss.IndexFlatL2(x.shape[1])
index.add(x)
_, idx = index.search(x, k)
seconds = time.perf_counter() - t

p1 = rp = mapr = 0.0
n = 0
for i in range(x.shape[0]):
    r = int(counts[labels[i]]) - 1
    if r <= 0:
        continue
    row = idx[i]
    row = row[row != i][:r]
    hits = labels[row] == labels[i]
    p1 += float(hits[0])
    rp += hits.sum() / r
    cum = np.cumsum(hits)
    mapr += float((cum[hits] / (np.nonzero(hits)[0] + 1)).sum()) / r
    n += 1
print(json.dumps({'seconds': seconds, 'threads': threads, 'k': k, 'faiss': faiss.__version__,
                  'precision_at_1': p1 / n, 'r_precision': rp / n, 'mean_average_precision_at_r': mapr / n}))
