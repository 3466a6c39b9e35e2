#!/usr/bin/env node
// `npm run bench`: runs every benchmark side by side with its reference
// servers and assembles BENCHMARKS.md from their sections.
// `node bench/run.mjs tftp dhcp` runs a subset; `--assemble` only rebuilds BENCHMARKS.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const order = ['tftp', 'dhcp', 'http', 'boot', 'foundation'];
const available = readdirSync(here).filter((name) => name.endsWith('.mjs') && name !== 'run.mjs').map((name) => name.slice(0, -4));
// `--assemble`: rebuild BENCHMARKS.md from the sections already in bench/out/ without running anything.
const assembleOnly = process.argv.includes('--assemble');
const named = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const wanted = assembleOnly ? [] : named.length > 0 ? named : order.filter((name) => available.includes(name));
mkdirSync(join(here, 'out'), { recursive: true });

const failures = [];
for (const name of wanted) {
  console.log(`\n=== bench/${name}.mjs`);
  const result = spawnSync(process.execPath, [join(here, `${name}.mjs`)], { stdio: 'inherit' });
  if (result.status !== 0) failures.push(name);
}

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const sections = order
  .filter((name) => existsSync(join(here, 'out', `${name}.md`)))
  .map((name) => readFileSync(join(here, 'out', `${name}.md`), 'utf8').trim());
const text = `# netboot benchmarks

Produced by \`npm run bench\` (bench/run.mjs runs bench/<part>.mjs in turn; each runs netboot
and the reference servers side by side in one run, on loopback or between network namespaces
made for the run). Machines here are shared and noisy: read the ratios, not the absolute figures.

Last assembled: ${new Date().toISOString()} on ${machine}.
Each section below states its own run date and machine.

${sections.join('\n\n')}
`;
writeFileSync(join(here, '..', 'BENCHMARKS.md'), text);
console.log(`\nBENCHMARKS.md written (${sections.length} sections)${failures.length ? `; failed: ${failures.join(', ')}` : ''}`);
process.exit(failures.length ? 1 : 0);
