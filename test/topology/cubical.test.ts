/**
 * The cubical persistence core against hand-worked images, brute-force Betti
 * numbers and Euler characteristics at every threshold, the duality identities
 * of the reference note (§3.3), tie-independence and bad input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../src/engine/rng.js';
import { bettiNumber, cubicalPersistence, diagramPoints, sortPixels, type Construction, type Filtration, type PersistencePairs } from '../../src/topology/index.js';
import { throwsInput } from '../helpers.js';
import { bettiBrute, eulerBrute } from './brute.js';

type Pt = [number, number];
const pts = (p: PersistencePairs | undefined): Pt[] => diagramPoints(p as PersistencePairs);
const sortPts = (a: Pt[]): Pt[] => [...a].sort((x, y) => x[0] - y[0] || (x[1] === y[1] ? 0 : x[1] < y[1] ? -1 : 1));

function ph(rows: number[][], construction: Construction = 'T', filtration: Filtration = 'sublevel') {
  return cubicalPersistence(rows.flat(), [rows.length, (rows[0] as number[]).length], { construction, filtration });
}

function randomImage(h: number, w: number, seed: number, levels = 0): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: h * w }, () => (levels > 0 ? rng.int(levels) : rng.next()));
}

describe('cubical persistence: hand-worked images', () => {
  // A ring of 1s around a centre of 5, in a background of 9.
  const ring = [
    [9, 9, 9, 9, 9],
    [9, 1, 1, 1, 9],
    [9, 1, 5, 1, 9],
    [9, 1, 1, 1, 9],
    [9, 9, 9, 9, 9],
  ];

  it('a ring: one component born at 1, one hole born at 1 that the centre (5) fills', () => {
    for (const c of ['T', 'V'] as const) {
      const r = ph(ring, c);
      assert.deepEqual(pts(r.diagrams[0]), [[1, Infinity]], c);
      assert.deepEqual(pts(r.diagrams[1]), [[1, 5]], c);
      assert.equal(r.diagrams[1]?.deathPixel[0], 12, 'the hole dies at the centre pixel');
      assert.equal(ring.flat()[r.diagrams[1]?.birthPixel[0] as number], 1, 'born at a ring pixel');
      assert.equal(r.diagrams[0]?.birthPixel[0], 6, 'ties: the first ring pixel in row-major order is the birth');
    }
  });

  it('a ring, superlevel: the centre is a component (5 → 1), the frame of 9s encloses a hole (9 → 1)', () => {
    const r = ph(ring, 'T', 'superlevel');
    assert.deepEqual(pts(r.diagrams[0]), [[5, 1], [9, -Infinity]]);
    assert.deepEqual(pts(r.diagrams[1]), [[9, 1]]);
    assert.equal(r.diagrams[0]?.birthPixel[0], 12);
  });

  it('two blobs in a row: the younger dies where they meet (elder rule)', () => {
    const r = ph([[0, 3, 1, 3, 2]]);
    assert.deepEqual(pts(r.diagrams[0]), [[0, Infinity], [1, 3], [2, 3]]);
    assert.deepEqual([...(r.diagrams[0] as PersistencePairs).birthPixel], [0, 2, 4]);
    assert.deepEqual([...(r.diagrams[0] as PersistencePairs).deathPixel], [-1, 1, 3]);
    assert.deepEqual(pts(r.diagrams[1]), []);
  });

  it('diagonal neighbours: one component in T (8-connected), two in V (4-connected)', () => {
    const img = [
      [0, 5],
      [5, 1],
    ];
    assert.deepEqual(pts(ph(img, 'T').diagrams[0]), [[0, Infinity]]);
    assert.deepEqual(pts(ph(img, 'V').diagrams[0]), [[0, Infinity], [1, 5]]);
  });

  it('a 4×4 checkerboard with ties: T sees one component and two holes, V eight components and no hole', () => {
    const board = Array.from({ length: 4 }, (_, r) => Array.from({ length: 4 }, (_, c) => (r + c) % 2));
    const t = ph(board, 'T');
    assert.deepEqual(pts(t.diagrams[0]), [[0, Infinity]]);
    assert.deepEqual(pts(t.diagrams[1]), [[0, 1], [0, 1]]);
    assert.deepEqual(new Set(t.diagrams[1]?.deathPixel), new Set([6, 9]), 'the interior 1-pixels (1,2) and (2,1)');
    const v = ph(board, 'V');
    assert.deepEqual(pts(v.diagrams[0]), [...Array.from({ length: 7 }, (): Pt => [0, 1]), [0, Infinity]]);
    assert.deepEqual(pts(v.diagrams[1]), []);
  });

  it('constant, 1×1 and 1-pixel-wide images', () => {
    assert.deepEqual(pts(ph([[3, 3], [3, 3]]).diagrams[0]), [[3, Infinity]]);
    assert.deepEqual(pts(ph([[3, 3], [3, 3]]).diagrams[1]), []);
    assert.deepEqual(pts(ph([[7]]).diagrams[0]), [[7, Infinity]]);
    const col = cubicalPersistence([2, 0, 4, 1, 3], [5, 1]);
    assert.deepEqual(pts(col.diagrams[0]), [[0, Infinity], [1, 4]]);
    assert.deepEqual(pts(col.diagrams[1]), []);
  });

  it('dims selects what is computed; superlevel keeps essential deaths at −∞', () => {
    const r = cubicalPersistence([1, 2, 3, 4], [2, 2], { dims: [1] });
    assert.equal(r.diagrams[0], undefined);
    assert.deepEqual(pts(r.diagrams[1]), []);
    assert.equal(cubicalPersistence([1, 2, 3, 4], [2, 2], { filtration: 'superlevel' }).diagrams[0]?.death[0], -Infinity);
  });
});

describe('cubical persistence: brute force on random images', () => {
  const cases: Array<[number, number, number, number]> = [
    [6, 7, 1, 0],
    [7, 5, 2, 3],
    [8, 8, 3, 2],
    [5, 9, 4, 0],
    [1, 9, 5, 3],
    [9, 1, 6, 0],
    [10, 10, 7, 4],
  ];
  for (const [h, w, seed, levels] of cases) {
    for (const construction of ['T', 'V'] as const) {
      for (const filtration of ['sublevel', 'superlevel'] as const) {
        it(`${h}×${w} ${levels ? `${levels} levels` : 'continuous'} ${construction} ${filtration}: Betti numbers and χ at every threshold`, () => {
          const img = randomImage(h, w, seed, levels);
          const r = cubicalPersistence(img, [h, w], { construction, filtration });
          const d0 = pts(r.diagrams[0]);
          const d1 = pts(r.diagrams[1]);
          assert.equal(d0.filter((p) => !Number.isFinite(p[1])).length, 1, 'one essential class in dimension 0');
          assert.ok(d1.every((p) => Number.isFinite(p[1])), 'no essential class in dimension 1');
          const up = filtration === 'sublevel';
          for (const [i, p] of d0.entries()) {
            assert.ok(up ? p[0] < p[1] : p[0] > p[1], `pair ${p} has positive length`);
            assert.equal(p[0], img[r.diagrams[0]?.birthPixel[i] as number], 'birth = value at the birth pixel');
          }
          for (const [i, p] of d1.entries()) {
            assert.ok(up ? p[0] < p[1] : p[0] > p[1]);
            assert.equal(p[0], img[r.diagrams[1]?.birthPixel[i] as number]);
            assert.equal(p[1], img[r.diagrams[1]?.deathPixel[i] as number], 'death = value at the death pixel');
          }
          const values = [...new Set(img)].sort((a, b) => a - b);
          const thresholds = [...values, ...values.slice(1).map((v, i) => (v + (values[i] as number)) / 2), (values[0] as number) - 1];
          for (const t of thresholds) {
            const inSet = (rr: number, cc: number) => (up ? (img[rr * w + cc] as number) <= t : (img[rr * w + cc] as number) >= t);
            const [b0, b1] = bettiBrute(inSet, h, w, construction);
            assert.equal(bettiNumber(d0, t, filtration), b0, `β0 at ${t}`);
            assert.equal(bettiNumber(d1, t, filtration), b1, `β1 at ${t}`);
            assert.equal(b0 - b1, eulerBrute(inSet, h, w, construction), `χ at ${t} (cell count) vs β0 − β1`);
          }
        });
      }
    }
  }
});

describe('cubical persistence: identities', () => {
  it('duality (reference §3.3): PH1_T(I) = −swap PH0_V(−I with a −∞ ring), PH1_V(I) = −swap PH0_T(…)', () => {
    for (const seed of [11, 12, 13]) {
      const h = 9;
      const w = 11;
      const img = randomImage(h, w, seed, seed === 13 ? 4 : 0);
      const padded = new Float64Array((h + 2) * (w + 2)).fill(-1e9); // below every value: the "−∞" ring
      for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) padded[(r + 1) * (w + 2) + c + 1] = -(img[r * w + c] as number);
      for (const [primal, dual] of [
        ['T', 'V'],
        ['V', 'T'],
      ] as const) {
        const holes = pts(cubicalPersistence(img, [h, w], { construction: primal, dims: [1] }).diagrams[1]);
        const comps = pts(cubicalPersistence(padded, [h + 2, w + 2], { construction: dual, dims: [0] }).diagrams[0])
          .filter((p) => Number.isFinite(p[1]))
          .map((p): Pt => [-p[1] + 0, -p[0] + 0]);
        assert.deepEqual(sortPts(holes), sortPts(comps), `${primal} seed ${seed}`);
      }
    }
  });

  it('V of an image equals T of its max-refinement (vertices, edges and squares as pixels of a (2h−1)×(2w−1) image)', () => {
    // Each cell of the V-complex becomes a square of the refined image with the cell's value (max of its vertices);
    // the union of those squares is a thickening of the V-complex, so the diagrams agree. Superlevel uses min.
    const refine = (img: Float64Array, h: number, w: number, pick: (a: number, b: number) => number) => {
      const out = new Float64Array((2 * h - 1) * (2 * w - 1));
      for (let r = 0; r < 2 * h - 1; r++) {
        for (let c = 0; c < 2 * w - 1; c++) {
          const rows = r % 2 ? [(r - 1) / 2, (r + 1) / 2] : [r / 2];
          const cols = c % 2 ? [(c - 1) / 2, (c + 1) / 2] : [c / 2];
          out[r * (2 * w - 1) + c] = rows.flatMap((i) => cols.map((j) => img[i * w + j] as number)).reduce((a, b) => pick(a, b));
        }
      }
      return out;
    };
    for (const seed of [51, 52, 53, 54]) {
      const h = 5 + (seed % 3);
      const w = 8 - (seed % 2);
      const img = randomImage(h, w, seed, seed % 2 ? 3 : 0);
      for (const filtration of ['sublevel', 'superlevel'] as const) {
        const v = cubicalPersistence(img, [h, w], { construction: 'V', filtration });
        const refined = refine(img, h, w, filtration === 'sublevel' ? Math.max : Math.min);
        const t = cubicalPersistence(refined, [2 * h - 1, 2 * w - 1], { construction: 'T', filtration });
        for (const d of [0, 1] as const) assert.deepEqual(pts(v.diagrams[d]), pts(t.diagrams[d]), `seed ${seed} ${filtration} dim ${d}`);
      }
    }
  });

  it('superlevel of I is the sublevel of −I, negated', () => {
    const img = randomImage(8, 9, 21, 5);
    for (const c of ['T', 'V'] as const) {
      const sup = cubicalPersistence(img, [8, 9], { construction: c, filtration: 'superlevel' });
      const sub = cubicalPersistence(img.map((v) => -v), [8, 9], { construction: c });
      for (const d of [0, 1] as const) {
        assert.deepEqual(sortPts(pts(sup.diagrams[d])), sortPts(pts(sub.diagrams[d]).map((p): Pt => [-p[0] + 0, -p[1] + 0])));
      }
    }
  });

  it('ties: the diagram of a tied image is the limit of the diagrams of its generic perturbations', () => {
    for (const seed of [31, 32]) {
      const img = randomImage(9, 9, seed, 3);
      const rng = createRng(seed + 100);
      const jittered = img.map((v) => v + 1e-6 * rng.next());
      for (const c of ['T', 'V'] as const) {
        const exact = cubicalPersistence(img, [9, 9], { construction: c });
        const near = cubicalPersistence(jittered, [9, 9], { construction: c });
        for (const d of [0, 1] as const) {
          const rounded = pts(near.diagrams[d])
            .map((p): Pt => [Math.round(p[0]), Number.isFinite(p[1]) ? Math.round(p[1]) : p[1]])
            .filter((p) => p[0] !== p[1]);
          assert.deepEqual(sortPts(pts(exact.diagrams[d])), sortPts(rounded), `${c} dim ${d} seed ${seed}`);
        }
      }
    }
  });

  it('pairs come sorted by birth then death; same input, same output; the input is not modified', () => {
    const img = randomImage(12, 12, 41, 4);
    const copy = img.slice();
    const a = cubicalPersistence(img, [12, 12]);
    const b = cubicalPersistence(img, [12, 12]);
    assert.deepEqual(a, b);
    assert.deepEqual(img, copy);
    for (const d of [0, 1] as const) {
      const p = pts(a.diagrams[d]);
      assert.deepEqual(p, sortPts(p));
    }
  });

  it('sortPixels orders by value with ties by index, across signs, zeros and magnitudes', () => {
    const values = Float64Array.from([3, -1, 0, -0, 2.5, -1e300, 1e-300, 3, -1, 7.25, Math.fround(0.1), 0.1]);
    const order = [...sortPixels(values.map((v) => v + 0))];
    const expected = [...values.keys()].sort((a, b) => (values[a] as number) - (values[b] as number) || a - b);
    assert.deepEqual(order, expected);
  });
});

describe('cubical persistence: bad input', () => {
  it('names the problem', () => {
    throwsInput(() => cubicalPersistence([1, 2, 3], [3]), 'image shape', 'a 2-D shape');
    throwsInput(() => cubicalPersistence([1], 1 as unknown as number[]), 'image shape');
    throwsInput(() => cubicalPersistence([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), 'image shape');
    throwsInput(() => cubicalPersistence([], [0, 3]), 'image height', 'empty images');
    throwsInput(() => cubicalPersistence([1, 2, 3], [2, 2]), 'image length', '2 × 2 = 4');
    throwsInput(() => cubicalPersistence([1, NaN, 3, 4], [2, 2]), 'image[0, 1]', 'NaN');
    throwsInput(() => cubicalPersistence([1, 2, Infinity, 4], [2, 2]), 'image[1, 0]', 'finite');
    throwsInput(() => cubicalPersistence(new BigInt64Array(4) as unknown as number[], [2, 2]), 'image dtype', 'BigInt64Array');
    throwsInput(() => cubicalPersistence([1, 2, 3, 4], [2, 2], { construction: 'X' as Construction }), 'construction');
    throwsInput(() => cubicalPersistence([1, 2, 3, 4], [2, 2], { filtration: 'up' as Filtration }), 'filtration');
    throwsInput(() => cubicalPersistence([1, 2, 3, 4], [2, 2], { dims: [2 as 0] }), 'dims');
  });
});
