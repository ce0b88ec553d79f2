/** Convolution shapes both backends' kernel tests run: odd sizes, strides 1–3, 'same', 'valid' and explicit padding, batch 1. */
export type Shape4 = [number, number, number, number];

export interface ConvCase {
  x: Shape4;
  f: Shape4;
  strides: [number, number];
  pad: 'same' | 'valid' | number;
}

export const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: [1, 1], pad: 'same' },
  { x: [2, 9, 8, 3], f: [3, 3, 3, 4], strides: [1, 1], pad: 'valid' },
  { x: [3, 10, 11, 2], f: [4, 4, 2, 5], strides: [2, 2], pad: 'same' },
  { x: [3, 11, 10, 2], f: [3, 3, 2, 5], strides: [2, 2], pad: 'valid' },
  { x: [1, 13, 12, 4], f: [5, 3, 4, 2], strides: [3, 2], pad: 'same' },
  { x: [2, 8, 8, 1], f: [1, 1, 1, 6], strides: [1, 1], pad: 'valid' },
  { x: [2, 7, 7, 2], f: [3, 3, 2, 3], strides: [1, 1], pad: 1 },
  { x: [1, 5, 6, 3], f: [3, 3, 3, 2], strides: [2, 2], pad: 'same' },
  { x: [2, 6, 6, 2], f: [2, 2, 2, 3], strides: [3, 3], pad: 'same' },
  // 1×1 filters: a residual shortcut's strided projection (the native addon computes their filter gradient as one product).
  { x: [4, 32, 32, 4], f: [1, 1, 4, 8], strides: [2, 2], pad: 'same' },
  { x: [2, 9, 7, 3], f: [1, 1, 3, 5], strides: [2, 3], pad: 'valid' },
  { x: [2, 5, 5, 2], f: [1, 1, 2, 3], strides: [1, 1], pad: 1 },
];

export const convCaseName = (c: ConvCase): string => `x${c.x.join('x')} f${c.f.join('x')} s${c.strides.join(',')} ${c.pad}`;
