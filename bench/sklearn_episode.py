"""scikit-learn peer of bench/episode.ts: RFS's per-episode classifier.

For each episode: L2-normalise support and query rows, fit
LogisticRegression(penalty='l2', C=1, solver='lbfgs', max_iter=1000,
multi_class='multinomial'), predict the queries; the time of normalise + fit +
predict. Prints one JSON object with the median time and the predictions.
Run with Debian's python3 (apt-get install python3-sklearn).
argv: support.npy [E, S, D] support_labels.npy [E, S] query.npy [E, Q, D]
"""
import json
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings('ignore')
support = np.load(sys.argv[1]).astype(np.float64)
labels = np.load(sys.argv[2]).astype(np.int64)
query = np.load(sys.argv[3]).astype(np.float64)


def normalise(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


times = []
predictions = []
for e in range(support.shape[0]):
    t = time.perf_counter()
    clf = LogisticRegression(penalty='l2', C=1.0, solver='lbfgs', max_iter=1000, multi_class='multinomial')
    clf.fit(normalise(support[e]), labels[e])
    p = clf.predict(normalise(query[e]))
    times.append((time.perf_counter() - t) * 1000)
    predictions.append(p.tolist())
print(json.dumps({'sklearn': sklearn.__version__, 'medianMs': statistics.median(times[1:] or times), 'predictions': predictions}))
