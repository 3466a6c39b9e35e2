/**
 * Runs netboot's DHCP service alone inside a namespace (from dist/, via
 * test/fixtures/dhcp/run-service.mjs) and follows its events.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { BootEvent } from '../../src/runtime/events.js';
import type { LeaseInfo } from '../../src/runtime/lease-view.js';
import { nsSpawn, stopProcess } from './netns.js';

export const DHCP_RUNNER = resolve(import.meta.dirname, '../fixtures/dhcp/run-service.mjs');
export const DHCP_DIST_SERVICE = resolve(import.meta.dirname, '../../dist/dhcp/service.js');

/** Why the DHCP service cannot be run from dist/, or null. */
export function dhcpDistMissing(): string | null {
  return existsSync(DHCP_DIST_SERVICE) ? null : 'needs a build: run `npx tsc -p tsconfig.build.json` (npm test does)';
}

export class DhcpServiceProcess {
  readonly events: BootEvent[] = [];
  stderr = '';
  private readonly lineWaiters: ((line: Record<string, unknown>) => boolean)[] = [];

  private constructor(readonly child: ChildProcess) {}

  static async start(namespace: string, configPath: string): Promise<DhcpServiceProcess> {
    const child = nsSpawn(namespace, process.execPath, [DHCP_RUNNER, configPath]);
    const service = new DhcpServiceProcess(child);
    child.stderr!.on('data', (chunk: Buffer) => { service.stderr += chunk.toString(); });
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: Record<string, unknown>;
      try { line = JSON.parse(text) as Record<string, unknown>; } catch { return; }
      if (line.event) service.events.push(line.event as BootEvent);
      for (let i = service.lineWaiters.length - 1; i >= 0; i--) if (service.lineWaiters[i]!(line)) service.lineWaiters.splice(i, 1);
    });
    await service.waitForLine((line) => line.ready !== undefined, 15_000, 'service ready');
    return service;
  }

  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr:\n${this.stderr}`)), timeoutMs);
      const onExit = (): void => { clearTimeout(timer); reject(new Error(`service exited while waiting for ${what}; stderr:\n${this.stderr}`)); };
      this.child.once('exit', onExit);
      this.lineWaiters.push((line) => {
        if (!match(line)) return false;
        clearTimeout(timer);
        this.child.off('exit', onExit);
        resolvePromise(line);
        return true;
      });
    });
  }

  /** Waits until an event matching `match` has been recorded (including ones already in). */
  async waitForEvent(match: (event: BootEvent) => boolean, timeoutMs = 10_000): Promise<BootEvent> {
    const found = this.events.find(match);
    if (found) return found;
    const line = await this.waitForLine((entry) => entry.event !== undefined && match(entry.event as BootEvent), timeoutMs, 'event');
    return line.event as BootEvent;
  }

  /** Waits until `count` events match. */
  async waitForEvents(match: (event: BootEvent) => boolean, count: number, timeoutMs = 10_000): Promise<BootEvent[]> {
    const matching = (): BootEvent[] => this.events.filter(match);
    if (matching().length >= count) return matching();
    await this.waitForLine(() => matching().length >= count, timeoutMs, `${count} matching events`);
    return matching();
  }

  async leases(): Promise<LeaseInfo[]> {
    return (await this.status()).leases;
  }

  /** The service's status() (counters, lease counts, pools) and its lease list. */
  async status(): Promise<{ status: Record<string, unknown>; leases: LeaseInfo[] }> {
    const answer = this.waitForLine((line) => line.leases !== undefined, 5000, 'status');
    this.child.stdin!.write('status\n');
    const line = await answer;
    return { status: line.status as Record<string, unknown>, leases: line.leases as LeaseInfo[] };
  }

  async stop(): Promise<void> {
    await stopProcess(this.child, 5000);
  }
}
