/**
 * Test side of the simulated DHCP client pool (src/tools/dhcp-client-pool.ts):
 * starts it inside a client network namespace and drives it with commands.
 * Every ACK the pool receives is recorded here the moment it is reported, so
 * a test that SIGKILLs the server knows which leases a client was promised.
 *
 * Needs `dist/tools/dhcp-client-pool.js` (npm test builds first).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { AckRecord, Conflict, Outcome, PoolOptions } from '../../src/tools/dhcp-client-pool.js';
import { nsSpawn, stopProcess } from './netns.js';

export type { AckRecord, Conflict, Outcome } from '../../src/tools/dhcp-client-pool.js';

export const POOL_SCRIPT = resolve(import.meta.dirname, '../../dist/tools/dhcp-client-pool.js');

export interface PoolState {
  held: Record<string, string>;
  conflicts: Conflict[];
  naks: number;
  acks: number;
  ignored: number;
}

export class ClientPoolProcess {
  readonly acks: AckRecord[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();
  private stderr = '';

  private constructor(readonly child: ChildProcess) {}

  static async start(namespace: string, options: Partial<PoolOptions>): Promise<ClientPoolProcess> {
    if (!existsSync(POOL_SCRIPT)) throw new Error(`${POOL_SCRIPT} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
    const child = nsSpawn(namespace, process.execPath, [POOL_SCRIPT, JSON.stringify(options)]);
    const pool = new ClientPoolProcess(child);
    child.stderr!.on('data', (chunk: Buffer) => { pool.stderr += chunk.toString(); });
    const ready = new Promise<void>((resolveReady, reject) => {
      child.once('exit', (code) => reject(new Error(`client pool exited (${code}) before it was ready: ${pool.stderr}`)));
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        const message = JSON.parse(line) as { event?: string; id?: number; result?: unknown } & AckRecord;
        if (message.event === 'ready') resolveReady();
        else if (message.event === 'ack') {
          const { event: _event, ...record } = message;
          pool.acks.push(record as AckRecord);
        } else if (message.id !== undefined) {
          pool.pending.get(message.id)?.(message.result);
          pool.pending.delete(message.id);
        }
      });
    });
    await ready;
    return pool;
  }

  private call<T>(command: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolveCall, reject) => {
      if (this.child.exitCode !== null) { reject(new Error(`client pool has exited: ${this.stderr}`)); return; }
      this.pending.set(id, (result) => resolveCall(result as T));
      this.child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  }

  dora(mac: string): Promise<Outcome> { return this.call({ op: 'dora', mac }); }
  renew(mac: string, server: string): Promise<Outcome> { return this.call({ op: 'renew', mac, server }); }
  initReboot(mac: string, ip: string): Promise<Outcome> { return this.call({ op: 'init-reboot', mac, ip }); }
  release(mac: string, server: string): Promise<void> { return this.call({ op: 'release', mac, server }); }
  state(): Promise<PoolState> { return this.call({ op: 'state' }); }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.stdin!.write(`${JSON.stringify({ op: 'quit' })}\n`);
      const exited = new Promise<void>((done) => this.child.once('exit', () => done()));
      const timer = setTimeout(() => void stopProcess(this.child, 1000), 5000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/** Distinct test MACs: 02:78:<round>:<index> (locally administered, never a real NIC). */
export function testMac(group: number, index: number): string {
  return ['02', '78', group & 255, (index >> 16) & 255, (index >> 8) & 255, index & 255]
    .map((part) => (typeof part === 'string' ? part : part.toString(16).padStart(2, '0'))).join(':');
}
