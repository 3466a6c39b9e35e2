/**
 * vitest globalSetup: makes sure dist/ is built and not older than src/
 * before any test spawns `node dist/...` (the CLI, the supervisor child). Runs
 * once per `vitest run`, before the test files, so parallel files never race
 * a build. `npm test` builds first anyway; this covers `npx vitest run FILE`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const marker = join(root, 'dist/cli/main.js');
  if (existsSync(marker) && statSync(marker).mtimeMs >= newestMtimeMs(join(root, 'src'))) return;
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    // tsc emits even with type errors (someone's work in progress); tests of what built still run.
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? '';
    process.stderr.write(`global-setup: tsc reported errors (dist/ was still written):\n${output.split('\n').slice(0, 10).join('\n')}\n`);
  }
}
