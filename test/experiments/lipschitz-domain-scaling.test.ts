import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { domainScalingFindings, fdSpread, getExperiment, resolveConfig, type DomainScalingCell } from '../../src/experiments/index.js';
import { EccvkitInputError } from '../../src/errors.js';

const cell = (loss: DomainScalingCell['loss'], regulariser: DomainScalingCell['regulariser'], alpha: number, fd: number, diverged = false): DomainScalingCell => ({
  loss,
  regulariser,
  alpha,
  fd,
  kid: 0,
  diverged,
  steps: 1,
  seconds: 0,
  grid: '',
});

describe('lipschitz-domain-scaling', () => {
  it('registers with presets that validate; the quick preset is a small grid', () => {
    const e = getExperiment('lipschitz-domain-scaling');
    const quick = resolveConfig(e, 'quick') as unknown as { losses: string[]; regularisers: string[]; alphas: number[]; steps: number };
    assert.ok(quick.losses.length * quick.regularisers.length * quick.alphas.length <= 12 && quick.steps <= 100);
    const full = resolveConfig(e, 'full') as unknown as { losses: string[]; regularisers: string[] };
    assert.deepEqual(full.regularisers, ['none', 'sn1', 'snLarge']);
    assert.equal(full.losses.length, 6);
    assert.throws(() => resolveConfig(e, 'quick', ['losses=["cosine"]']), EccvkitInputError);
  });

  it('fdSpread is max/min FD over a row, ∞ when a loss diverged', () => {
    assert.equal(fdSpread([cell('hinge', 'none', 1, 2), cell('exp', 'none', 1, 8)]), 4);
    assert.equal(fdSpread([cell('hinge', 'none', 1, 2), cell('exp', 'none', 1, NaN, true)]), Infinity);
  });

  it('findings name the most and least alike settings and how the spread moves with α', () => {
    const lines = domainScalingFindings([
      cell('nonSaturating', 'none', 1, 10),
      cell('exp', 'none', 1, 40),
      cell('nonSaturating', 'none', 0.01, 10),
      cell('exp', 'none', 0.01, 12),
      cell('nonSaturating', 'sn1', 1, 10),
      cell('exp', 'sn1', 1, 11),
    ]);
    assert.match(lines[0]!, /most alike under sn1, α = 1 \(max\/min FD across losses 1\.10\)/);
    assert.match(lines[0]!, /least alike under none, α = 1 \(max\/min FD across losses 4\.00\)/);
    assert.ok(lines.includes('With none, the spread shrinks from 4.00 at α = 1 to 1.20 at α = 0.01.'), lines.join('\n'));
  });
});
