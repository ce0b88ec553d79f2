/**
 * Straightforward loop implementations of the loss formulas in the reference
 * note (§2.6), in float64, written independently of src/metric: every pair,
 * triplet and anchor is visited explicitly. Tests compare the tensor losses to these.
 */
export type Vec = number[];

export function normalize(v: Vec): Vec {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
export function dot(a: Vec, b: Vec): number {
  return a.reduce((s, x, i) => s + x * (b[i] as number), 0);
}
export function euclid(a: Vec, b: Vec): number {
  return Math.sqrt(a.reduce((s, x, i) => s + (x - (b[i] as number)) ** 2, 0));
}
const relu = (x: number) => Math.max(0, x);
const softplus = (x: number) => Math.log1p(Math.exp(x));
function avgNonZero(xs: number[]): number {
  const nz = xs.filter((x) => x > 0);
  return nz.length ? nz.reduce((a, b) => a + b, 0) / nz.length : 0;
}
function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
}

interface Batch {
  emb: Vec[];
  labels: number[];
}
const d = (b: Batch, i: number, j: number) => euclid(normalize(b.emb[i] as Vec), normalize(b.emb[j] as Vec));
const s = (b: Batch, i: number, j: number) => dot(normalize(b.emb[i] as Vec), normalize(b.emb[j] as Vec));

function pairs(b: Batch): { pos: [number, number][]; neg: [number, number][] } {
  const pos: [number, number][] = [];
  const neg: [number, number][] = [];
  for (let i = 0; i < b.labels.length; i++)
    for (let j = 0; j < b.labels.length; j++) {
      if (i === j) continue;
      (b.labels[i] === b.labels[j] ? pos : neg).push([i, j]);
    }
  return { pos, neg };
}
function triplets(b: Batch): [number, number, number][] {
  const out: [number, number, number][] = [];
  const { pos } = pairs(b);
  for (const [a, p] of pos) for (let n = 0; n < b.labels.length; n++) if (b.labels[n] !== b.labels[a]) out.push([a, p, n]);
  return out;
}

export function contrastive(b: Batch, posMargin = 0, negMargin = 1): number {
  const { pos, neg } = pairs(b);
  return avgNonZero(pos.map(([i, j]) => relu(d(b, i, j) - posMargin))) + avgNonZero(neg.map(([i, j]) => relu(negMargin - d(b, i, j))));
}

export function contrastiveCosine(b: Batch, posMargin: number, negMargin: number): number {
  const { pos, neg } = pairs(b);
  return avgNonZero(pos.map(([i, j]) => relu(posMargin - s(b, i, j)))) + avgNonZero(neg.map(([i, j]) => relu(s(b, i, j) - negMargin)));
}

export function triplet(b: Batch, margin = 0.05, opts: { smooth?: boolean; swap?: boolean } = {}): number {
  return avgNonZero(
    triplets(b).map(([a, p, n]) => {
      const an = opts.swap ? Math.min(d(b, a, n), d(b, p, n)) : d(b, a, n);
      const v = d(b, a, p) - an + margin;
      return opts.smooth ? softplus(v) : relu(v);
    }),
  );
}

export function multiSimilarity(b: Batch, alpha = 2, beta = 50, base = 0.5): number {
  const n = b.labels.length;
  const per: number[] = [];
  for (let i = 0; i < n; i++) {
    let sp = 0;
    let sn = 0;
    for (let k = 0; k < n; k++) {
      if (k === i) continue;
      if (b.labels[k] === b.labels[i]) sp += Math.exp(-alpha * (s(b, i, k) - base));
      else sn += Math.exp(beta * (s(b, i, k) - base));
    }
    per.push(Math.log(1 + sp) / alpha + Math.log(1 + sn) / beta);
  }
  return mean(per);
}

export function ntxent(b: Batch, t = 0.07): number {
  const { pos } = pairs(b);
  return mean(
    pos.map(([a, p]) => {
      const terms = [s(b, a, p) / t];
      for (let k = 0; k < b.labels.length; k++) if (b.labels[k] !== b.labels[a]) terms.push(s(b, a, k) / t);
      return logSumExp(terms) - s(b, a, p) / t;
    }),
  );
}

export function supcon(b: Batch, t = 0.1): number {
  const n = b.labels.length;
  const per: number[] = [];
  for (let i = 0; i < n; i++) {
    const others = [...Array(n).keys()].filter((k) => k !== i);
    const positives = others.filter((k) => b.labels[k] === b.labels[i]);
    if (positives.length === 0) {
      per.push(0);
      continue;
    }
    const denom = logSumExp(others.map((k) => s(b, i, k) / t));
    per.push(-mean(positives.map((p) => s(b, i, p) / t - denom)));
  }
  return avgNonZero(per);
}

export function liftedStructure(b: Batch, posMargin = 0, negMargin = 1): number {
  const { pos, neg } = pairs(b);
  return mean(
    pos.map(([a, p]) => {
      const negs = neg.filter(([i]) => i === a || i === p).map(([i, n]) => negMargin - d(b, i, n));
      const lse = negs.length ? logSumExp(negs) : 0;
      return relu(lse + d(b, a, p) - posMargin) ** 2 / 2;
    }),
  );
}

export function circle(b: Batch, m = 0.4, gamma = 80): number {
  const n = b.labels.length;
  const per: number[] = [];
  for (let i = 0; i < n; i++) {
    const posL: number[] = [];
    const negL: number[] = [];
    for (let k = 0; k < n; k++) {
      if (k === i) continue;
      const sik = s(b, i, k);
      if (b.labels[k] === b.labels[i]) posL.push(-gamma * relu(1 + m - sik) * (sik - (1 - m)));
      else negL.push(gamma * relu(sik + m) * (sik - m));
    }
    per.push(posL.length && negL.length ? softplus(logSumExp(posL) + logSumExp(negL)) : 0);
  }
  return avgNonZero(per);
}

export function marginLoss(b: Batch, margin = 0.2, beta = 1.2): number {
  let sum = 0;
  let count = 0;
  for (const [a, p, n] of triplets(b)) {
    const pl = relu(d(b, a, p) - beta + margin);
    const nl = relu(beta - d(b, a, n) + margin);
    sum += pl + nl;
    count += (pl > 0 ? 1 : 0) + (nl > 0 ? 1 : 0);
  }
  return count ? sum / count : 0;
}

export function fastAP(b: Batch, bins = 10): number {
  const n = b.labels.length;
  const delta = 4 / bins;
  const per: number[] = [];
  for (let i = 0; i < n; i++) {
    const positives = [...Array(n).keys()].filter((k) => k !== i && b.labels[k] === b.labels[i]);
    if (positives.length === 0) continue;
    let cumPos = 0;
    let cumAll = 0;
    let ap = 0;
    for (let e = 0; e <= bins; e++) {
      const mid = e * delta;
      let hp = 0;
      let hn = 0;
      for (let k = 0; k < n; k++) {
        if (k === i) continue;
        const w = relu(1 - Math.abs(d(b, i, k) ** 2 - mid) / delta);
        if (b.labels[k] === b.labels[i]) hp += w;
        else hn += w;
      }
      cumPos += hp;
      cumAll += hp + hn;
      if (hp * cumPos > 0 && cumAll > 0) ap += (hp * cumPos) / cumAll;
    }
    per.push(1 - ap / positives.length);
  }
  return mean(per);
}

/** Proxies given as rows `[C][D]`. */
export function proxyAnchor(b: Batch, proxies: Vec[], margin = 0.1, alpha = 32): number {
  const C = proxies.length;
  const withPos = new Set(b.labels).size;
  let pos = 0;
  let neg = 0;
  for (let c = 0; c < C; c++) {
    let sp = 0;
    let sn = 0;
    for (let i = 0; i < b.labels.length; i++) {
      const sc = dot(normalize(b.emb[i] as Vec), normalize(proxies[c] as Vec));
      if (b.labels[i] === c) sp += Math.exp(-alpha * (sc - margin));
      else sn += Math.exp(alpha * (sc + margin));
    }
    pos += Math.log(1 + sp);
    neg += Math.log(1 + sn);
  }
  return pos / withPos + neg / C;
}

export function proxyNCA(b: Batch, proxies: Vec[], scale = 1): number {
  return mean(
    b.labels.map((y, i) => {
      const z = proxies.map((p) => -scale * euclid(normalize(b.emb[i] as Vec), normalize(p)) ** 2);
      return logSumExp(z) - (z[y] as number);
    }),
  );
}

/** Class weights given as columns: `W[D][C]`. */
function columns(W: Vec[]): Vec[] {
  return (W[0] as Vec).map((_, c) => W.map((row) => row[c] as number));
}

/** `weights`: per-sample miner weights (default all 1). */
export function normalizedSoftmax(b: Batch, W: Vec[], temperature = 0.05, weights?: number[]): number {
  const cls = columns(W);
  return mean(
    b.labels.map((y, i) => {
      const z = cls.map((w) => dot(normalize(b.emb[i] as Vec), normalize(w)) / temperature);
      return (weights?.[i] ?? 1) * (logSumExp(z) - (z[y] as number));
    }),
  );
}

export function cosFace(b: Batch, W: Vec[], margin = 0.35, scale = 64): number {
  const cls = columns(W);
  return mean(
    b.labels.map((y, i) => {
      const z = cls.map((w, c) => scale * (dot(normalize(b.emb[i] as Vec), normalize(w)) - (c === y ? margin : 0)));
      return logSumExp(z) - (z[y] as number);
    }),
  );
}

export function arcFace(b: Batch, W: Vec[], marginDeg = 28.6, scale = 64): number {
  const m = (marginDeg * Math.PI) / 180;
  const cls = columns(W);
  return mean(
    b.labels.map((y, i) => {
      const z = cls.map((w, c) => {
        const cos = dot(normalize(b.emb[i] as Vec), normalize(w));
        if (c !== y) return scale * cos;
        const theta = Math.acos(cos);
        return scale * (theta > Math.PI - m ? cos - m * Math.sin(m) : Math.cos(theta + m));
      });
      return logSumExp(z) - (z[y] as number);
    }),
  );
}

export function softTriple(b: Batch, W: Vec[], C: number, K: number, la = 20, gamma = 0.1, margin = 0.01): number {
  const centres = columns(W);
  return mean(
    b.labels.map((y, i) => {
      const x = normalize(b.emb[i] as Vec);
      const z: number[] = [];
      for (let c = 0; c < C; c++) {
        const sims = centres.slice(c * K, (c + 1) * K).map((w) => dot(x, normalize(w)));
        const lse = logSumExp(sims.map((v) => v / gamma));
        const sc = sims.reduce((acc, v) => acc + Math.exp(v / gamma - lse) * v, 0);
        z.push(la * (sc - (c === y ? margin : 0)));
      }
      return logSumExp(z) - (z[y] as number);
    }),
  );
}

/** Contrastive with a chosen pair distance and reduction ("avg_non_zero" per term, or "mean" per term). */
export function contrastiveWith(b: Batch, dist: (x: Vec, y: Vec) => number, reduce: 'avg_non_zero' | 'mean', posMargin = 0, negMargin = 1): number {
  const { pos, neg } = pairs(b);
  const r = reduce === 'mean' ? mean : avgNonZero;
  return r(pos.map(([i, j]) => relu(dist(b.emb[i] as Vec, b.emb[j] as Vec) - posMargin))) + r(neg.map(([i, j]) => relu(negMargin - dist(b.emb[i] as Vec, b.emb[j] as Vec))));
}

/** SNR distance var(x − y) / var(x) on L2-normalised vectors (population variances; the ratio is the same either way). */
export function snrDistance(x: Vec, y: Vec): number {
  const a = normalize(x);
  const c = normalize(y);
  const variance = (v: Vec) => {
    const m = mean(v);
    return mean(v.map((t) => (t - m) ** 2));
  };
  return variance(a.map((t, i) => t - (c[i] as number))) / variance(a);
}
