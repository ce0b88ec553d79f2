/** The scikit-learn MIG fixture (fixtures/mig.json, made by fixtures/make_mig_fixture.py), typed once for the tests that read it. */
import fs from 'node:fs';

export interface MigCase {
  name: string;
  bins: number;
  discrete: number[];
  codes: number[][];
  factors: number[][];
  /** Per column: np.digitize(x, np.histogram(x, bins)[1][:-1]) (continuous) or the labels (discrete). */
  codeLabels: number[][];
  factorLabels: number[][];
  mi: number[][];
  entropy: number[];
  perFactor: number[];
  mig: number;
}

export const MIG_CASES = JSON.parse(fs.readFileSync(new URL('./fixtures/mig.json', import.meta.url), 'utf8')) as MigCase[];
