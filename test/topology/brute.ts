/**
 * Independent brute-force topology of small images for the tests: connected
 * components by breadth-first search and the Euler characteristic by counting
 * cells. Nothing here shares code with src/topology.
 */

/** Number of connected components of the pixels where `inSet` holds (`eight`: 8-connectivity), and how many of them avoid the border. */
export function components(inSet: (r: number, c: number) => boolean, height: number, width: number, eight: boolean): { all: number; interior: number } {
  const seen = new Uint8Array(height * width);
  const steps = eight
    ? [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]]
    : [[-1, 0], [1, 0], [0, -1], [0, 1]];
  let all = 0;
  let interior = 0;
  for (let r0 = 0; r0 < height; r0++) {
    for (let c0 = 0; c0 < width; c0++) {
      if (seen[r0 * width + c0] || !inSet(r0, c0)) continue;
      all++;
      let touches = false;
      const queue: Array<[number, number]> = [[r0, c0]];
      seen[r0 * width + c0] = 1;
      while (queue.length > 0) {
        const [r, c] = queue.pop() as [number, number];
        if (r === 0 || c === 0 || r === height - 1 || c === width - 1) touches = true;
        for (const [dr, dc] of steps) {
          const rr = r + (dr as number);
          const cc = c + (dc as number);
          if (rr < 0 || rr >= height || cc < 0 || cc >= width || seen[rr * width + cc] || !inSet(rr, cc)) continue;
          seen[rr * width + cc] = 1;
          queue.push([rr, cc]);
        }
      }
      if (!touches) interior++;
    }
  }
  return { all, interior };
}

/**
 * Betti numbers of the cubical complex of the pixels where `inSet` holds:
 * T (closed squares; foreground 8-, holes 4-connected) or V (pixels are vertices;
 * foreground 4-, holes 8-connected). Holes are complement components that avoid the border.
 */
export function bettiBrute(inSet: (r: number, c: number) => boolean, height: number, width: number, construction: 'T' | 'V'): [number, number] {
  const fg = components(inSet, height, width, construction === 'T');
  const bg = components((r, c) => !inSet(r, c), height, width, construction === 'V');
  return [fg.all, bg.interior];
}

/** Euler characteristic V − E + F of the cubical complex of `inSet`, by counting its cells. */
export function eulerBrute(inSet: (r: number, c: number) => boolean, height: number, width: number, construction: 'T' | 'V'): number {
  const at = (r: number, c: number) => r >= 0 && r < height && c >= 0 && c < width && inSet(r, c);
  let v = 0;
  let e = 0;
  let f = 0;
  if (construction === 'T') {
    // Grid points (i, j), 0 ≤ i ≤ height, 0 ≤ j ≤ width; a cell is present when a present square contains it.
    for (let i = 0; i <= height; i++) for (let j = 0; j <= width; j++) if (at(i - 1, j - 1) || at(i - 1, j) || at(i, j - 1) || at(i, j)) v++;
    for (let i = 0; i <= height; i++) for (let j = 0; j < width; j++) if (at(i - 1, j) || at(i, j)) e++; // horizontal edges
    for (let i = 0; i < height; i++) for (let j = 0; j <= width; j++) if (at(i, j - 1) || at(i, j)) e++; // vertical edges
    for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) if (at(i, j)) f++;
  } else {
    for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) if (at(i, j)) v++;
    for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) if (at(i, j) && at(i, j + 1)) e++;
    for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) if (at(i, j) && at(i + 1, j)) e++;
    for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) if (at(i, j) && at(i + 1, j) && at(i, j + 1) && at(i + 1, j + 1)) f++;
  }
  return v - e + f;
}
