/**
 * The platform seam: the core alone (what a browser gets) has no files, so a
 * folder-based save says what to use instead, and a tfjs IO handler works;
 * the Node entry installs files, the environment and the addon's ranking.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { platform } from '../../src/index.js';

const root = path.resolve(import.meta.dirname, '..', '..');

describe('platform seam', () => {
  it('the core alone has no files: saving to a folder names tfjs IO handlers, saving through one works', () => {
    const script = `
      import { initEngine, platform, saveModel, tf, GanTrainer } from './src/core.ts';
      await initEngine({ backend: 'cpu' });
      const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
      let saved = 0;
      await saveModel(m, { save: async (a) => { saved = a.weightData.byteLength; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; } });
      let message = '';
      try { await saveModel(m, '/tmp/never-written'); } catch (e) { message = e.message; }
      console.log(JSON.stringify({ name: platform().name, saved, message }));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { name: string; saved: number; message: string };
    assert.equal(out.name, 'core', 'importing the core alone installed a platform: something in it imports Node code');
    assert.equal(out.saved, 12, 'a dense 2 → 1 has 3 float32 weights');
    assert.match(out.message, /saving a model to a folder needs a file system, which this platform \(core\) does not have: in a browser, save and load models through tfjs IO handlers/);
  });

  it('the Node entry installs files, the environment and the native ranking', () => {
    const p = platform();
    assert.equal(p.name, 'node');
    assert.ok(p.files?.exists(root));
    assert.equal(p.env?.('PATH'), process.env.PATH);
    assert.equal(typeof p.rankRows, 'function');
  });
});
