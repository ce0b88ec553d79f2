/**
 * Dashboard row of `fewshot-rfs`: RFS-simple against the episodically trained
 * ProtoNet and RFS-distill against RFS-simple, paired by episode, beside the
 * paper's miniImageNet accuracies for the same backbone.
 */
import { combineVerdict, registerClaims, resolved, signedCi, storedCi } from '../claims.js';
import { RFS_PUBLISHED } from '../fewshot-rfs.js';
import { intervalDirection } from '../intervals.js';

registerClaims('fewshot-rfs', {
  headline: 'A frozen cross-entropy embedding + logistic regression matches or beats ProtoNet; distillation adds a little.',
  paperFigure(run) {
    const backbone = run?.config.backbone === 'resnet12' ? 'resnet12' : 'conv4';
    const p = RFS_PUBLISHED[backbone];
    const v = (x: [number, number] | [number]) => x[0].toFixed(1);
    return `mini ${backbone === 'conv4' ? 'Conv-4' : 'ResNet-12'} 1/5-shot: ${v(p.simple[1])}/${v(p.simple[5])}%, distill ${v(p.distill[1])}/${v(p.distill[5])}%`;
  },
  assess(run, store) {
    const m = store.finalMetrics(run.id);
    const shots = ((run.config.shots as number[] | undefined) ?? [1, 5]).filter((k) => Number.isFinite(storedCi(m, `lr_${k}shot_mean`).mean));
    if (shots.length === 0) throw new Error('no RFS-simple accuracy is stored');
    const vsProto = shots.map((k) => ({ k, ci: storedCi(m, `lr_minus_protonet_${k}shot_mean`, `lr_minus_protonet_${k}shot_ci95`) })).filter((d) => Number.isFinite(d.ci.mean));
    const distill = shots.map((k) => ({ k, ci: storedCi(m, `distill_minus_lr_${k}shot_mean`, `distill_minus_lr_${k}shot_ci95`) })).filter((d) => Number.isFinite(d.ci.mean));
    const parts: boolean[] = [];
    if (vsProto.length) parts.push(vsProto.every((d) => intervalDirection(d.ci) !== 'down'));
    if (distill.length) parts.push(distill.some((d) => intervalDirection(d.ci) === 'up'));
    const signal = run.preset !== 'quick' || [...vsProto, ...distill].some((d) => resolved(d.ci));
    const k = Math.max(...shots);
    const acc = storedCi(m, `lr_${k}shot_mean`, `lr_${k}shot_ci95`);
    const pct = (c: { mean: number; halfWidth: number }) => `${(100 * c.mean).toFixed(1)} ± ${(100 * c.halfWidth).toFixed(1)}%`;
    const at = <T extends { k: number }>(ds: T[]) => ds.find((d) => d.k === k);
    const measured = [`${k}-shot RFS-simple ${pct(acc)}`, at(vsProto) ? `− ProtoNet ${signedCi(at(vsProto)!.ci, 1, 100)}` : '', at(distill) ? `distill − simple ${signedCi(at(distill)!.ci, 1, 100)} pts` : ''].filter(Boolean).join('; ');
    const verdict = parts.length === 0 ? 'pipeline check only' : combineVerdict(parts, signal);
    const word = (ci: { mean: number; halfWidth: number }) => ({ up: 'above', down: 'below', unclear: 'level with' })[intervalDirection(ci)];
    const why = !signal
      ? `quick run (${run.config.episodes} episodes): no paired interval excludes 0`
      : parts.length === 0
        ? 'neither ProtoNet nor distillation was run'
        : [vsProto.length ? `RFS-simple is ${vsProto.map((d) => `${word(d.ci)} ProtoNet at ${d.k}-shot`).join(', ')}` : '', distill.length ? `distillation is ${distill.map((d) => `${word(d.ci)} simple at ${d.k}-shot`).join(', ')}` : ''].filter(Boolean).join('; ');
    const findings = [
      ...vsProto.map((d) => `${d.k}-shot: RFS-simple − ProtoNet = ${signedCi(d.ci, 2, 100)} points (paired by episode).`),
      ...distill.map((d) => `${d.k}-shot: RFS-distill − RFS-simple = ${signedCi(d.ci, 2, 100)} points.`),
    ];
    return { measured, verdict, why, findings };
  },
});
