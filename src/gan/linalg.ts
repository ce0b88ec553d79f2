/**
 * Small dense linear algebra in Float64 for sample metrics: a cyclic Jacobi
 * eigen-solver for symmetric matrices, the symmetric PSD square root and the
 * unbiased covariance. Feature sizes here are tens to a few hundred, where
 * Jacobi is exact to rounding and needs no library (tfjs has no eig or SVD).
 */
import { check } from '../errors.js';

/** A row-major square matrix of size n×n. */
export interface SquareMatrix {
  n: number;
  values: Float64Array;
}

/** Eigen-decomposition of a symmetric matrix: `A = V·diag(λ)·Vᵀ`, eigenvectors in the columns of V (row-major n×n). */
export interface SymmetricEigen {
  eigenvalues: Float64Array;
  eigenvectors: Float64Array;
}

/**
 * Eigenvalues and eigenvectors of a symmetric matrix by the cyclic Jacobi
 * method (Golub & Van Loan §8.5): plane rotations zero each off-diagonal pair
 * until the off-diagonal mass is below 1e-30 of the total. Only the symmetric
 * part `(A + Aᵀ)/2` is used.
 */
export function symmetricEigen(matrix: SquareMatrix, maxSweeps = 100): SymmetricEigen {
  const { n } = matrix;
  check(Number.isInteger(n) && n >= 1 && matrix.values.length === n * n, 'matrix', `${matrix.values.length} values for n = ${n}`, 'n×n values, n ≥ 1');
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = 0.5 * ((matrix.values[i * n + j] as number) + (matrix.values[j * n + i] as number));
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += (a[i] as number) ** 2;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += (a[i * n + j] as number) ** 2;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q] as number;
        if (apq === 0) continue;
        const app = a[p * n + p] as number;
        const aqq = a[q * n + q] as number;
        // Rotation angle that zeroes a[p][q] (the smaller root, for stability).
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p] as number;
          const akq = a[k * n + q] as number;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k] as number;
          const aqk = a[q * n + k] as number;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p] as number;
          const vkq = v[k * n + q] as number;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const eigenvalues = new Float64Array(n);
  for (let i = 0; i < n; i++) eigenvalues[i] = a[i * n + i] as number;
  return { eigenvalues, eigenvectors: v };
}

/** `V·diag(f(λ))·Vᵀ` of a symmetric eigen-decomposition. */
function applyToSpectrum({ eigenvalues, eigenvectors }: SymmetricEigen, f: (lambda: number) => number): SquareMatrix {
  const n = eigenvalues.length;
  const fl = eigenvalues.map(f);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (eigenvectors[i * n + k] as number) * (fl[k] as number) * (eigenvectors[j * n + k] as number);
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return { n, values: out };
}

/**
 * The symmetric square root of a symmetric positive semi-definite matrix,
 * `V·diag(√max(λ, 0))·Vᵀ`; eigenvalues that rounding made slightly negative are taken as 0.
 */
export function symmetricSqrt(matrix: SquareMatrix): SquareMatrix {
  return applyToSpectrum(symmetricEigen(matrix), (l) => Math.sqrt(Math.max(l, 0)));
}

/** Row-major product of two n×n matrices. */
export function matMulSquare(a: SquareMatrix, b: SquareMatrix): SquareMatrix {
  const n = a.n;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a.values[i * n + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] = (out[i * n + j] as number) + aik * (b.values[k * n + j] as number);
    }
  }
  return { n, values: out };
}

/** Mean vector and unbiased covariance (divisor N − 1, as `np.cov`) of `rows` × `cols` row-major samples. */
export function meanAndCovariance(values: ArrayLike<number>, rows: number, cols: number): { mean: Float64Array; covariance: SquareMatrix } {
  check(Number.isInteger(rows) && rows >= 2, 'rows', rows, 'at least 2 samples for a covariance');
  check(values.length === rows * cols, 'values', values.length, `${rows} × ${cols} = ${rows * cols} numbers`);
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] = (mean[c] as number) + (values[r * cols + c] as number);
  for (let c = 0; c < cols; c++) mean[c] = (mean[c] as number) / rows;
  const cov = new Float64Array(cols * cols);
  const centred = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) centred[c] = (values[r * cols + c] as number) - (mean[c] as number);
    for (let i = 0; i < cols; i++) {
      const ci = centred[i] as number;
      for (let j = i; j < cols; j++) cov[i * cols + j] = (cov[i * cols + j] as number) + ci * (centred[j] as number);
    }
  }
  for (let i = 0; i < cols; i++) {
    for (let j = i; j < cols; j++) {
      const v = (cov[i * cols + j] as number) / (rows - 1);
      cov[i * cols + j] = v;
      cov[j * cols + i] = v;
    }
  }
  return { mean, covariance: { n: cols, values: cov } };
}
