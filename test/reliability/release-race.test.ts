/**
 * A RELEASE followed at once by a new DORA from the same client: the RELEASE goes unicast to the server address
 * and the DISCOVER/REQUEST by broadcast, which netboot receives on two different sockets. The lease the client
 * was ACKed last must be bound in the file, never released by the earlier RELEASE handled late.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetbootProcess } from '../../src/tools/fuzz/target.js';
import { ClientPoolProcess, testMac } from '../helpers/dhcp-client-pool.js';
import { createRelLab, recordResult, reliabilitySkipReason, type RelLab } from './support.js';

const skip = reliabilitySkipReason();
const CLIENTS = 60;
const CYCLES = 30;

describe.skipIf(skip !== null)(`release then re-request at once${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let lab: RelLab;
  let pool: ClientPoolProcess;
  let netboot: NetbootProcess;

  beforeAll(async () => {
    lab = createRelLab(9);
    netboot = await lab.start();
    pool = await ClientPoolProcess.start(lab.veth.client, { mode: 'direct', sendTo: `${lab.prefix}.255`, timeoutMs: 400, retries: 3 });
  });
  afterAll(async () => {
    await pool?.stop();
    await netboot?.stop();
    lab?.destroy();
  });

  it('keeps the newest binding when a RELEASE and the next REQUEST race', async () => {
    await Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
      const mac = testMac(10, i);
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        await pool.dora(mac);
        if (cycle < CYCLES - 1) await pool.release(mac, lab.serverAddress);
      }
    }));
    const state = await pool.state();
    const listed = new Map(lab.leases().map((lease) => [lease.mac, lease]));
    const wrong = Object.entries(state.held).filter(([mac, ip]) => listed.get(mac)?.ip !== ip || listed.get(mac)?.state !== 'bound')
      .map(([mac, ip]) => `${mac} holds ${ip}, file: ${listed.get(mac)?.ip} ${listed.get(mac)?.state}`);
    recordResult('release-race', { clients: CLIENTS, cycles: CYCLES, held: Object.keys(state.held).length, wrong: wrong.length, examples: wrong.slice(0, 5) });
    expect(wrong).toEqual([]);
  }, 120_000);
});
