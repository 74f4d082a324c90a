// Runs the benchmarks one after another, each in its own process so one run's heap does not
// colour the next: `pnpm bench` (all) or `pnpm bench parse-webhook engine` (some).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  console.log(`\n=== ${name}`);
  const result = spawnSync(
    process.execPath,
    [
      '--conditions=@coexist/source',
      '--disable-warning=ExperimentalWarning',
      '--expose-gc',
      join(here, `${name}.bench.ts`),
    ],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
