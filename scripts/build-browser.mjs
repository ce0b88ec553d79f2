/**
 * Writes dist/browser/eccvkit.js: the browser entry (src/browser.ts) as one
 * ES module with TensorFlow.js inside, importable from a plain
 * `<script type="module">` with no bundler, and the tfjs wasm binaries beside
 * it (the engine resolves them from the bundle's own URL). A Node built-in
 * reached from eccvkit's sources fails the build, naming the importer.
 * Also writes dist/playground/: the playground's pages (playground/) beside
 * their own copy of the bundle, static files that can be hosted anywhere.
 */
import { builtinModules } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'browser');
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Fails on a Node built-in imported from eccvkit's own files (packages' own `browser` stubs still apply). */
export const refuseNodeBuiltins = {
  name: 'refuse-node-builtins',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (!builtins.has(args.path) && !args.path.startsWith('node:')) return undefined;
      if (!args.importer.startsWith(path.join(root, 'src'))) return undefined;
      return { errors: [{ text: `${path.relative(root, args.importer)} imports the Node built-in "${args.path}": the browser entry must import no Node module` }] };
    });
  },
};

export async function buildBrowserBundle({ outdir = out, minify = true, entry = path.join(root, 'src', 'browser.ts') } = {}) {
  fs.mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { eccvkit: entry },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [refuseNodeBuiltins],
    // tfjs-backend-webgpu is imported only when an adapter exists; keeping it in one file keeps the bundle importable as one module.
    splitting: false,
  });
  const wasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) fs.copyFileSync(path.join(wasmDir, f), path.join(outdir, f));
  return result;
}

/** The playground's pages and their bundle in `outdir` (default dist/playground). */
export async function buildPlayground({ outdir = path.join(root, 'dist', 'playground'), minify = true } = {}) {
  await buildBrowserBundle({ outdir, minify });
  const pages = path.join(root, 'playground');
  fs.cpSync(pages, outdir, { recursive: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const result = await buildBrowserBundle();
    const bytes = fs.statSync(path.join(out, 'eccvkit.js')).size;
    console.log(`dist/browser/eccvkit.js: ${(bytes / 1024 / 1024).toFixed(2)} MB (${Object.keys(result.metafile.inputs).length} inputs), wasm binaries beside it`);
    await buildPlayground();
    console.log('dist/playground/: the playground (eccvkit playground serves it)');
  } catch (err) {
    console.error(`build-browser: ${err.errors?.map((e) => e.text).join('\n') ?? err.message}`);
    process.exit(1);
  }
}
