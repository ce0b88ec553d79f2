/**
 * Diagram distances and summaries against hand-worked values and brute-force
 * enumeration of every matching on small random diagrams.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../src/engine/rng.js';
import {
  bettiCurve,
  bettiNumber,
  bottleneckDistance,
  persistenceEntropy,
  solveAssignment,
  sortedWasserstein1D,
  thresholdGrid,
  uniformTransport,
  uniformWasserstein1D,
  wassersteinDistance,
  type DiagramPoints,
} from '../../src/topology/index.js';
import { throwsInput } from '../helpers.js';

type Pt = [number, number];

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  return out;
}

/** Every bijection of X ∪ diag(Y) with Y ∪ diag(X): returns the min of Σ cost^p and of max cost (L∞ ground metric). */
function bruteDistances(x: Pt[], y: Pt[], p: number): { wasserstein: number; bottleneck: number } {
  const n = x.length;
  const m = y.length;
  const diag = (a: Pt) => (a[1] - a[0]) / 2;
  let bestSum = Infinity;
  let bestMax = Infinity;
  for (const perm of permutations(n + m)) {
    let sum = 0;
    let max = 0;
    for (let i = 0; i < n + m; i++) {
      const j = perm[i] as number;
      let c = 0;
      if (i < n && j < m) c = Math.max(Math.abs((x[i] as Pt)[0] - (y[j] as Pt)[0]), Math.abs((x[i] as Pt)[1] - (y[j] as Pt)[1]));
      else if (i < n) c = diag(x[i] as Pt);
      else if (j < m) c = diag(y[j] as Pt);
      sum += c ** p;
      max = Math.max(max, c);
    }
    bestSum = Math.min(bestSum, sum);
    bestMax = Math.min(bestMax, max);
  }
  return { wasserstein: bestSum ** (1 / p), bottleneck: bestMax };
}

function randomDiagram(rng: ReturnType<typeof createRng>, k: number): Pt[] {
  return Array.from({ length: k }, (): Pt => {
    const b = rng.int(6);
    return [b, b + 1 + rng.int(5)];
  });
}

describe('diagram distances', () => {
  it('hand-worked Wasserstein and bottleneck values', () => {
    assert.equal(wassersteinDistance([[0, 2]], []), 1);
    assert.equal(wassersteinDistance([[0, 2]], [[0, 3]]), 1);
    assert.equal(wassersteinDistance([[0, 4], [1, 2]], [[0, 4]]), 0.5);
    assert.equal(wassersteinDistance([[0, 4], [1, 2]], [[0, 4]], { order: 2 }), 0.5);
    assert.equal(wassersteinDistance([[0, 2]], [], { internalP: 2 }), Math.SQRT2);
    assert.equal(wassersteinDistance([[0, 2], [5, 9]], [[0, 2], [5, 9]]), 0);
    assert.equal(bottleneckDistance([[0, 2]], []), 1);
    assert.equal(bottleneckDistance([[0, 10]], [[1, 10]]), 1);
    assert.equal(bottleneckDistance([[0, 10], [3, 4]], [[0, 9]]), 1);
    assert.equal(bottleneckDistance([], []), 0);
  });

  it('essential classes are matched among themselves; different counts give Infinity', () => {
    assert.equal(wassersteinDistance([[0, Infinity], [1, 3]], [[2, Infinity]]), 2 + 1);
    assert.equal(bottleneckDistance([[0, Infinity], [1, 3]], [[2, Infinity]]), 2);
    assert.equal(wassersteinDistance([[0, Infinity]], []), Infinity);
    assert.equal(bottleneckDistance([[0, Infinity]], [[0, -Infinity]]), Infinity);
  });

  it('agree with brute-force enumeration of every matching on random small diagrams', () => {
    const rng = createRng(5);
    for (let trial = 0; trial < 40; trial++) {
      const x = randomDiagram(rng, rng.int(4));
      const y = randomDiagram(rng, rng.int(4));
      for (const p of [1, 2]) {
        const brute = bruteDistances(x, y, p);
        assert.ok(Math.abs(wassersteinDistance(x, y, { order: p }) - brute.wasserstein) < 1e-12, `W${p} ${JSON.stringify([x, y])}`);
        if (p === 1) assert.equal(bottleneckDistance(x, y), brute.bottleneck, JSON.stringify([x, y]));
      }
    }
  });

  it('are symmetric and satisfy the triangle inequality', () => {
    const rng = createRng(6);
    for (let trial = 0; trial < 20; trial++) {
      const [a, b, c] = [randomDiagram(rng, 1 + rng.int(6)), randomDiagram(rng, 1 + rng.int(6)), randomDiagram(rng, 1 + rng.int(6))] as [Pt[], Pt[], Pt[]];
      for (const d of [(u: Pt[], v: Pt[]) => wassersteinDistance(u, v), (u: Pt[], v: Pt[]) => wassersteinDistance(u, v, { order: 2 }), bottleneckDistance]) {
        assert.ok(Math.abs(d(a, b) - d(b, a)) < 1e-12);
        assert.ok(d(a, c) <= d(a, b) + d(b, c) + 1e-12);
      }
      assert.ok(bottleneckDistance(a, b) <= wassersteinDistance(a, b, { order: 2 }) + 1e-12, 'bottleneck ≤ W2');
    }
  });

  it('solveAssignment finds the minimum over all permutations', () => {
    const rng = createRng(7);
    for (const n of [1, 2, 3, 5, 6]) {
      const cost = Float64Array.from({ length: n * n }, () => rng.int(20));
      let best = Infinity;
      for (const perm of permutations(n)) best = Math.min(best, perm.reduce((s, j, i) => s + (cost[i * n + j] as number), 0));
      const { assignment, total } = solveAssignment(cost, n);
      assert.equal(total, best);
      assert.deepEqual([...assignment].sort(), [...Array(n).keys()]);
    }
  });

  it('bad input names the argument', () => {
    throwsInput(() => wassersteinDistance([[0, NaN]], []), 'x[0]');
    throwsInput(() => wassersteinDistance([], [[Infinity, 1]]), 'y[0]');
    throwsInput(() => wassersteinDistance([], [], { order: 0.5 }), 'order');
    throwsInput(() => bottleneckDistance('no' as unknown as DiagramPoints, []), 'x');
  });
});

describe('transport for TopoGAN', () => {
  it('sortedWasserstein1D on ascending copies equals uniformWasserstein1D bit for bit, ties and empty lists included', () => {
    const rng = createRng(21);
    for (let trial = 0; trial < 200; trial++) {
      // Integers give ties; the scaled draws give distinct values in any order.
      const draw = () => Array.from({ length: rng.int(7) }, () => (trial % 2 === 0 ? rng.int(6) : rng.next() * 5));
      const a = draw();
      const b = draw();
      const sorted = (v: number[]) => Float64Array.from(v).sort();
      assert.equal(sortedWasserstein1D(sorted(a), sorted(b)), uniformWasserstein1D(a, b).distance, `${a} vs ${b}`);
    }
  });

  it('uniformWasserstein1D equals ∫|F_a − F_b| and splits mass like POT', () => {
    const w = uniformWasserstein1D([0], [1, 3]);
    assert.equal(w.distance, 2);
    assert.deepEqual(w.plan, [
      { i: 0, j: 0, mass: 0.5 },
      { i: 0, j: 1, mass: 0.5 },
    ]);
    const rng = createRng(8);
    for (let trial = 0; trial < 20; trial++) {
      const a = Array.from({ length: 1 + rng.int(5) }, () => rng.int(10));
      const b = Array.from({ length: 1 + rng.int(5) }, () => rng.int(10));
      // ∫|F_a − F_b| over the breakpoints, an independent formula.
      const cdf = (v: number[], t: number) => v.filter((x) => x <= t).length / v.length;
      const knots = [...new Set([...a, ...b])].sort((x, y) => x - y);
      let integral = 0;
      for (let k = 0; k + 1 < knots.length; k++) integral += Math.abs(cdf(a, knots[k] as number) - cdf(b, knots[k] as number)) * ((knots[k + 1] as number) - (knots[k] as number));
      const r = uniformWasserstein1D(a, b);
      assert.ok(Math.abs(r.distance - integral) < 1e-12, `${a} vs ${b}`);
      const out = new Float64Array(a.length);
      for (const e of r.plan) out[e.i] += e.mass;
      for (const v of out) assert.ok(Math.abs(v - 1 / a.length) < 1e-12, 'source marginals');
    }
    assert.deepEqual(uniformWasserstein1D([], [1]), { distance: 0, plan: [] });
  });

  it('uniformTransport: hand case, marginals, and the assignment optimum when n = m', () => {
    const xs = [0, 10];
    const ys = [0, 1, 10, 11];
    const cost = xs.flatMap((x) => ys.map((y) => Math.abs(x - y)));
    const r = uniformTransport(cost, 2, 4);
    assert.ok(Math.abs(r.total - 0.5) < 1e-12);
    assert.deepEqual([...r.plan], [0.25, 0.25, 0, 0, 0, 0, 0.25, 0.25]);
    const rng = createRng(9);
    for (const [n, m] of [
      [3, 3],
      [4, 4],
      [3, 5],
      [5, 2],
    ] as const) {
      const c = Float64Array.from({ length: n * m }, () => rng.int(30));
      const t = uniformTransport(c, n, m);
      for (let i = 0; i < n; i++) assert.ok(Math.abs(t.plan.slice(i * m, (i + 1) * m).reduce((s, v) => s + v, 0) - 1 / n) < 1e-12, 'row marginal');
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += t.plan[i * m + j] as number;
        assert.ok(Math.abs(s - 1 / m) < 1e-12, 'column marginal');
      }
      assert.ok(t.plan.every((v) => v >= 0));
      if (n === m) assert.ok(Math.abs(t.total - solveAssignment(c, n).total / n) < 1e-12, 'Birkhoff: the optimum is a permutation');
      // The product plan (every source spread evenly) is feasible, so the optimum costs no more.
      let product = 0;
      for (const v of c) product += v / (n * m);
      assert.ok(t.total <= product + 1e-12);
    }
  });
});

describe('diagram summaries', () => {
  it('Betti numbers and curves count the bars alive at each threshold', () => {
    const d: Pt[] = [[0, Infinity], [1, 3], [2, 3]];
    assert.deepEqual([...bettiCurve(d, [-1, 0, 1, 2, 2.5, 3, 10])], [0, 1, 2, 3, 3, 1, 1]);
    assert.equal(bettiNumber([[5, 1], [9, -Infinity]], 5, 'superlevel'), 2);
    assert.equal(bettiNumber([[5, 1], [9, -Infinity]], 1, 'superlevel'), 1);
    assert.deepEqual([...thresholdGrid(0, 1, 5)], [0, 0.25, 0.5, 0.75, 1]);
  });

  it('persistence entropy: ln 2 for two equal bars, the Shannon formula otherwise', () => {
    assert.ok(Math.abs(persistenceEntropy([[0, 1], [2, 3], [0, Infinity]]) - Math.LN2) < 1e-15);
    const e = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    assert.ok(Math.abs(persistenceEntropy([[0, 1], [0, 3]]) - e) < 1e-15);
    assert.ok(Math.abs(persistenceEntropy([[0, 1], [2, Infinity]], { essential: 5 }) - e) < 1e-15);
    assert.equal(persistenceEntropy([]), 0);
  });
});
