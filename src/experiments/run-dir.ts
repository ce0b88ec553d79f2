/**
 * Experiments whose stages resume from files in their run folder share one
 * rule: the folder must belong to this run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../node/fs.js';
import type { RunRecord } from '../store/index.js';

/**
 * Marks `run.dir` as this run's (owner.json: id, start time, config hash). Run
 * folders are named `<id>-<experiment>` beside the store, so a second store in
 * the same folder can meet another run's files there: those are removed before
 * the first stage, or the run would "resume" from someone else's results.
 * The store's own `checkpoints` folder is kept.
 */
export function claimRunDir(run: RunRecord): void {
  const marker = path.join(run.dir, 'owner.json');
  const owner = JSON.stringify({ id: run.id, startedAt: run.startedAt, configHash: run.configHash });
  const current = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : undefined;
  if (current === owner) return;
  for (const entry of fs.readdirSync(run.dir)) if (entry !== 'checkpoints') fs.rmSync(path.join(run.dir, entry), { recursive: true, force: true });
  writeFileAtomic(marker, owner);
}
