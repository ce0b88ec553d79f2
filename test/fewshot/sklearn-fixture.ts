/** The scikit-learn logistic-regression fixture shared by the classifier and CLI tests. */
import fs from 'node:fs';

/** One episode fitted by scikit-learn 1.2.1 (see fixtures/make_sklearn_fixtures.py). */
export interface SklearnCase {
  name: string;
  normalize: boolean;
  support: number[][];
  supportLabels: number[];
  query: number[][];
  /** With RFS's settings (C=1, lbfgs, max_iter=1000, tol=1e-4). */
  predictions: number[];
  /** From a tightly converged fit (tol=1e-10) of the same objective. */
  tightPredictions: number[];
  tightProbabilities: number[][];
  tightCoef: number[][];
  tightIntercept: number[];
}

// Made by test/fewshot/fixtures/make_sklearn_fixtures.py with scikit-learn 1.2.1 (see its docstring).
export const SKLEARN_CASES = JSON.parse(fs.readFileSync(new URL('./fixtures/sklearn-lr.json', import.meta.url), 'utf8')) as SklearnCase[];
