/**
 * Benchmark entry: `npm run bench [-- <name> ...]` runs the named benchmarks
 * (all when none is named). Each prints its own table and ratios.
 */
const BENCHES: Record<string, () => Promise<{ main(argv: string[]): Promise<void> }>> = {
  engine: () => import('./engine.js'),
  topology: () => import('./topology.js'),
  hpo: () => import('./hpo.js'),
  retrieval: () => import('./retrieval.js'),
  networks: () => import('./networks.js'),
  gans: () => import('./gans.js'),
  episode: () => import('./episode.js'),
  losses: () => import('./losses.js'),
  presets: () => import('./presets.js'),
  browser: () => import('./browser.js'),
};

const [name, ...rest] = process.argv.slice(2);
const names = name === undefined || name.startsWith('-') ? Object.keys(BENCHES) : [name];
for (const n of names) {
  const load = BENCHES[n];
  if (load === undefined) {
    console.error(`bench: unknown benchmark "${n}", expected one of ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== bench ${n} ==`);
  await (await load()).main(name === undefined || name.startsWith('-') ? process.argv.slice(2) : rest);
}
