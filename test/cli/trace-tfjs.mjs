// Preloaded by lazy-loading.test.ts: prints one line to stderr for each TensorFlow.js package the process imports.
import { register } from 'node:module';

const hook = "export async function resolve(specifier, context, next) { if (specifier.startsWith('@tensorflow/')) process.stderr.write('trace: imported ' + specifier + '\\n'); return next(specifier, context); }";
register(`data:text/javascript,${encodeURIComponent(hook)}`);
