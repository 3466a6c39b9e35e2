import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchNodeFlags, NODE_FLAGS } from '../../../src/runtime/node-flags.js';

const repo = join(import.meta.dirname, '..', '..', '..');
const read = (path: string): string => readFileSync(join(repo, path), 'utf8');

describe('the V8 flags netboot runs with', () => {
  const shebang = read('src/cli/main.ts').split('\n')[0]!;

  it('are on the #! line of the netboot executable, in a form env(1) splits', () => {
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    expect(shebang.slice('#!/usr/bin/env -S node '.length).split(' ')).toEqual([...NODE_FLAGS]);
  });

  it('are what `npm start` serves with', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!;
    expect(start).toContain(`node ${NODE_FLAGS.join(' ')} dist/cli/main.js serve`);
  });

  it('are what the benchmarks start netboot with', () => {
    for (const bench of ['bench/tftp.mjs', 'bench/dhcp.mjs', 'bench/http.mjs']) expect(read(bench), bench).toContain('...NODE_FLAGS');
  });

  it('are accepted by this Node, the way the kernel runs the #! line', () => {
    // The kernel hands env the rest of the line as one argument; -S splits it.
    const [interpreter, ...rest] = shebang.slice(2).split(' ');
    const out = execFileSync(interpreter!, [rest.join(' '), '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'], { encoding: 'utf8' });
    expect((JSON.parse(out) as string[]).slice(0, NODE_FLAGS.length)).toEqual([...NODE_FLAGS]);
  });
});

describe('benchNodeFlags', () => {
  it.each([
    [undefined, [...NODE_FLAGS]],
    ['', []],
    ['--max-semi-space-size=1', ['--max-semi-space-size=1']],
    ['  --a   --b ', ['--a', '--b']],
  ])('BENCH_NODE_FLAGS=%j gives %j', (value, expected) => {
    expect(benchNodeFlags(value === undefined ? {} : { BENCH_NODE_FLAGS: value })).toEqual(expected);
  });
});
