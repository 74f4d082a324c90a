import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig, type Options } from 'tsup';

/**
 * The one build config every package shares: ESM-only with declarations, one entry per
 * `exports` subpath, each `./dist/<name>.js` built from `src/<name>.ts`.
 */
export function packageConfig(packageDirectory: string): Options[] {
  const manifest = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { default?: string }>;
    bin?: Record<string, string>;
  };
  const outputs = new Set<string>();
  for (const target of Object.values(manifest.exports)) {
    const path = typeof target === 'string' ? target : target.default;
    if (path?.startsWith('./dist/') && path.endsWith('.js')) outputs.add(path);
  }
  for (const path of Object.values(manifest.bin ?? {})) outputs.add(path.startsWith('./') ? path : `./${path}`);
  const entry = Object.fromEntries(
    [...outputs].map((path) => {
      const name = path.slice('./dist/'.length, -'.js'.length);
      return [name, join(packageDirectory, 'src', `${name}.ts`)];
    }),
  );
  return [
    defineConfig({
      entry,
      format: ['esm'],
      dts: true,
      clean: true,
      target: 'node22',
      platform: 'node',
      sourcemap: true,
      splitting: true,
      treeshake: true,
    }) as Options,
  ];
}
