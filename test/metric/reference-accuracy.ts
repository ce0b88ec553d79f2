/**
 * Retrieval metrics the slow, obvious way (reference note §2.3): float64
 * distances, each query's whole reference list sorted by (distance, index),
 * the query itself left out when the reference is the query set, lone queries
 * skipped. Returns [P@1, R-precision, MAP@R, MRR], micro-averaged.
 */
export function bruteForceAccuracy(x: Float32Array, labels: Int32Array, d: number, refX?: Float32Array, refLabels?: Int32Array): number[] {
  const self = refX === undefined;
  const rx = refX ?? x;
  const rl = refLabels ?? labels;
  const nq = labels.length;
  const sums = [0, 0, 0, 0];
  let count = 0;
  for (let i = 0; i < nq; i++) {
    const R = rl.filter((l) => l === labels[i]).length - (self ? 1 : 0);
    if (R <= 0) continue;
    const others: Array<[number, number]> = [];
    for (let j = 0; j < rl.length; j++) {
      if (self && j === i) continue;
      let s = 0;
      for (let t = 0; t < d; t++) s += ((x[i * d + t] as number) - (rx[j * d + t] as number)) ** 2;
      others.push([s, j]);
    }
    others.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    const correct = others.map(([, j]) => rl[j] === labels[i]);
    let hits = 0;
    let ap = 0;
    for (let r = 0; r < R; r++) {
      if (correct[r]) {
        hits++;
        ap += hits / (r + 1);
      }
    }
    sums[0] += correct[0] ? 1 : 0;
    sums[1] += hits / R;
    sums[2] += ap / R;
    sums[3] += 1 / (correct.indexOf(true) + 1);
    count++;
  }
  return sums.map((s) => s / count);
}
