/**
 * Property 2: torn and damaged state files. A lease journal written by a real
 * netboot (killed with SIGKILL) is damaged the ways a crash or a stray tool
 * leaves it: the last record cut mid-line, a zero-filled tail (what a
 * filesystem can show after a power cut), foreign bytes between records, a
 * stray temp file from an interrupted atomic write, a file of pure garbage,
 * and a torn boot-once file. Each time netboot must start, keep every
 * complete record (INIT-REBOOT gets the same address), log what it skipped
 * with file and position, keep a copy of the damaged file beside it, and
 * serve (a new client gets a lease, TFTP answers).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetbootProcess } from '../../src/tools/fuzz/target.js';
import { ClientPoolProcess, testMac } from '../helpers/dhcp-client-pool.js';
import { createRelLab, inClient, recordResult, reliabilitySkipReason, type RelLab } from './support.js';

const skip = reliabilitySkipReason(['atftp']);
const CLIENTS = 12;

interface Damage {
  name: string;
  /** Damages the lease journal text; returns the new bytes. */
  leases: (text: string) => Buffer;
  /** Whether the complete records survive (false only for a file that is garbage from the first byte). */
  recordsSurvive: boolean;
  strayTemp?: boolean;
  bootOnce?: Buffer;
}

const DAMAGES: Damage[] = [
  {
    name: 'last record torn mid-line',
    leases: (text) => Buffer.from(`${text}{"mac":"02:78:02:00:00:63","ip":"10.78.2.1`),
    recordsSurvive: true,
    bootOnce: Buffer.from('{"version":1,"hosts":{"node01":{"doneAt":17'),
  },
  {
    name: 'zero-filled tail after the last record',
    leases: (text) => Buffer.concat([Buffer.from(text), Buffer.alloc(4096)]),
    recordsSurvive: true,
  },
  {
    name: 'foreign bytes between records, and a stray temp file',
    leases: (text) => {
      const lines = text.split('\n');
      const middle = Math.floor(lines.length / 2);
      return Buffer.concat([Buffer.from(lines.slice(0, middle).join('\n') + '\n'), randomBytes(300).map((byte) => (byte === 10 ? 32 : byte)), Buffer.from('\n' + lines.slice(middle).join('\n'))]);
    },
    recordsSurvive: true,
    strayTemp: true,
  },
  {
    name: 'a file of garbage',
    leases: () => randomBytes(8192),
    recordsSurvive: false,
    bootOnce: randomBytes(512),
  },
];

describe.skipIf(skip !== null)(`damaged state files${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let lab: RelLab;
  let pool: ClientPoolProcess;
  let netboot: NetbootProcess | null = null;
  const leaseFile = (): string => join(lab.files.stateDir, 'leases.json');
  const results: Record<string, unknown>[] = [];

  beforeAll(async () => {
    lab = createRelLab(2);
    lab.writeConfig((config) => { config.hosts = [{ name: 'node01', mac: '52:54:00:78:02:01', profile: 'install', once: true }]; });
    pool = await ClientPoolProcess.start(lab.veth.client, { mode: 'direct', sendTo: `${lab.prefix}.255`, timeoutMs: 400, retries: 3 });
  });

  afterAll(async () => {
    await pool?.stop();
    await netboot?.stop();
    lab?.destroy();
    recordResult('damaged-state', { cases: results });
  });

  it.each(DAMAGES)('starts and keeps complete records: $name', async (damage) => {
    // A real journal: leases taken from a running netboot, then kill -9.
    netboot = await lab.start();
    const held = new Map<string, string>();
    for (let i = 0; i < CLIENTS; i++) {
      const mac = testMac(3, i);
      const outcome = await pool.dora(mac);
      expect(outcome.type).toBe('ack');
      if (outcome.type === 'ack') held.set(mac, outcome.ip);
    }
    await netboot.kill9();
    netboot = null;
    const complete = readFileSync(leaseFile(), 'utf8');
    const damaged = damage.leases(complete);
    writeFileSync(leaseFile(), damaged);
    const before = new Set(readdirSync(lab.files.stateDir));
    const strayName = '.leases.json.tmp-4242-kx1';
    if (damage.strayTemp) writeFileSync(join(lab.files.stateDir, strayName), '{"mac":"02:78:02:99:99:99","ip":"10.78.2.150","state":"bou');
    if (damage.bootOnce) writeFileSync(join(lab.files.stateDir, 'boot-once.json'), damage.bootOnce);

    netboot = await lab.start();

    // It logged what it skipped, with the file and the position.
    const warning = netboot.lines.find((line) => typeof line.msg === 'string' && /lease file was damaged|damaged/i.test(line.msg) && String(line.file ?? '').endsWith('leases.json'));
    expect(warning, 'a log line naming the damaged lease file').toBeDefined();
    expect(JSON.stringify(warning)).toMatch(/line \d+|offset|byte \d+/);

    // The rewritten journal is owner-only (property 8), like every state file.
    expect(statSync(leaseFile()).mode & 0o777).toBe(0o600);

    // A copy of the damaged file, byte for byte, beside it.
    const copies = readdirSync(lab.files.stateDir).filter((name) => name.startsWith('leases.json.damaged') && !before.has(name));
    expect(copies.length).toBe(1);
    expect(readFileSync(join(lab.files.stateDir, copies[0]!)).equals(damaged)).toBe(true);
    if (damage.bootOnce) {
      expect(readdirSync(lab.files.stateDir).some((name) => name.startsWith('boot-once.json.damaged'))).toBe(true);
    }

    // Every complete record kept: the same client's INIT-REBOOT gets the same address.
    let kept = 0;
    for (const [mac, ip] of held) {
      const outcome = await pool.initReboot(mac, ip);
      if (outcome.type === 'ack' && outcome.ip === ip) kept++;
    }
    if (damage.recordsSurvive) expect(kept).toBe(held.size);

    // Still serving: a new client gets a lease, and TFTP answers.
    const fresh = await pool.dora(testMac(4, results.length));
    expect(fresh.type).toBe('ack');
    const fetched = inClient(lab, 'atftp', ['-g', '-r', 'pxelinux.0', '-l', '/dev/null', lab.serverAddress, '69'], 30_000);
    expect(fetched.code).toBe(0);

    const strayRemoved = damage.strayTemp ? !existsSync(join(lab.files.stateDir, strayName)) : null;
    if (damage.strayTemp) {
      expect(strayRemoved, 'the stray temp file is removed at start').toBe(true);
      expect(netboot.lines.some((line) => /temp file left by an interrupted lease file write/.test(String(line.msg)) && line.tempFile === strayName)).toBe(true);
    }
    results.push({ case: damage.name, leaseFileMode: (statSync(leaseFile()).mode & 0o777).toString(8), completeRecords: held.size, kept, copyKept: copies.length === 1, logged: warning !== undefined, newClientServed: fresh.type === 'ack', tftpServed: fetched.code === 0, strayTempRemoved: strayRemoved });

    await netboot.stop();
    netboot = null;
    // The next case starts from a clean journal again (the clients keep their leases in the pool's memory only).
    for (const mac of held.keys()) await pool.release(mac, lab.serverAddress);
  });
});
