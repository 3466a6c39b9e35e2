/**
 * Property 1: crash consistency of state. Simulated clients take, renew and
 * release leases while the boot-once state of a host is flipped through the
 * API; netboot is killed with SIGKILL at a random moment, then:
 * - `netboot leases` (the admin's view of the file, server dead) lists every
 *   lease whose ACK reached a client;
 * - after a restart, each of those clients' INIT-REBOOT is ACKed with the
 *   same address;
 * - no address was ever ACKed to two clients, and new clients after the
 *   restart are never given an address a client holds;
 * - the boot-once state is the last one the API acknowledged (or the one in
 *   flight at the kill).
 * 3 rounds in CI, 50 with NETBOOT_LONG=1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/tools/fuzz/rng.js';
import type { NetbootProcess } from '../../src/tools/fuzz/target.js';
import { ClientPoolProcess, testMac } from '../helpers/dhcp-client-pool.js';
import { createRelLab, LONG, recordResult, reliabilitySkipReason, sleep, type RelLab } from './support.js';

const skip = reliabilitySkipReason(['curl']);
const ROUNDS = LONG ? 50 : 3;
const CLIENTS = 60;
const WORKERS = 8;
const TOKEN = 'rel-crash-token-0123456789abcdef';

describe.skipIf(skip !== null)(`crash consistency under SIGKILL (${ROUNDS} rounds)${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let lab: RelLab;
  let pool: ClientPoolProcess;
  let netboot: NetbootProcess | null = null;

  beforeAll(async () => {
    lab = createRelLab(1, { leaseTime: '1h', http: { apiToken: TOKEN } });
    lab.writeConfig((config) => {
      config.hosts = [{ name: 'node01', mac: '52:54:00:78:01:01', profile: 'install', once: true }];
    });
    pool = await ClientPoolProcess.start(lab.veth.client, { mode: 'direct', sendTo: `${lab.prefix}.255`, timeoutMs: 300, retries: 2 });
  });

  afterAll(async () => {
    await pool?.stop();
    await netboot?.stop();
    lab?.destroy();
  });

  it('keeps every ACKed lease and the acknowledged boot-once state across kill -9', async () => {
    const seed = Number(process.env.NETBOOT_SEED ?? Date.now() % 1_000_000);
    const rng = new Rng(seed);
    const macs = Array.from({ length: CLIENTS }, (_, i) => testMac(1, i));
    const totals = { rounds: 0, acks: 0, ackedHeldAtKill: 0, keptInFile: 0, lost: 0, initRebootSame: 0, initRebootOther: 0, duplicates: 0, newClientsChecked: 0, bootOnceFlips: 0, bootOnceWrong: 0, killDelaysMs: [] as number[] };
    const failures: string[] = [];
    let bootOnceAcked: 'done' | 'armed' = 'armed';

    for (let round = 1; round <= ROUNDS; round++) {
      netboot = await lab.start();
      totals.rounds++;

      // After a restart: every lease a client holds comes back by INIT-REBOOT with the same address.
      const heldBefore = (await pool.state()).held;
      for (const [mac, ip] of Object.entries(heldBefore)) {
        const outcome = await pool.initReboot(mac, ip);
        if (outcome.type === 'ack' && outcome.ip === ip) totals.initRebootSame++;
        else {
          totals.initRebootOther++;
          failures.push(`round ${round}: INIT-REBOOT of ${mac} for ${ip} after restart got ${JSON.stringify(outcome)}`);
        }
      }
      // The boot-once state survived as acknowledged.
      const hosts = JSON.parse(lab.http('/api/hosts').body) as { hosts: { name: string; bootOnce: string | null }[] };
      const node01 = hosts.hosts.find((host) => host.name === 'node01');
      const shown = node01?.bootOnce === 'done' ? 'done' : 'armed';
      if (round > 1 && shown !== bootOnceAcked) {
        totals.bootOnceWrong++;
        failures.push(`round ${round}: boot-once after restart shows ${node01?.bootOnce}, last acknowledged ${bootOnceAcked}`);
      }
      bootOnceAcked = shown;

      // Churn, and a kill at a random moment in it.
      const ackCountBefore = pool.acks.length;
      let churning = true;
      const busy = new Set<string>();
      let bootOncePending: 'done' | 'armed' | null = null;
      const worker = async (): Promise<void> => {
        while (churning) {
          const mac = rng.pick(macs);
          if (busy.has(mac)) continue;
          busy.add(mac);
          const state = await pool.state().then((s) => s.held[mac]);
          const roll = rng.below(10);
          if (state === undefined) await pool.dora(mac);
          else if (roll < 6) await pool.renew(mac, lab.serverAddress);
          else if (roll < 8) await pool.release(mac, lab.serverAddress);
          else await pool.initReboot(mac, state);
          busy.delete(mac);
        }
      };
      const flipper = async (): Promise<void> => {
        while (churning) {
          const target = bootOnceAcked === 'done' ? 'armed' : 'done';
          bootOncePending = target;
          const result = lab.http(`/api/hosts/node01/${target === 'done' ? 'done' : 'reinstall'}`, { method: 'POST', token: TOKEN, timeoutS: 3 });
          if (result.status === 200) {
            bootOnceAcked = target;
            bootOncePending = null;
            totals.bootOnceFlips++;
          }
          await sleep(rng.between(20, 120));
        }
      };
      const work = [...Array.from({ length: WORKERS }, worker), flipper()];
      const killDelayMs = rng.between(150, 1500);
      totals.killDelaysMs.push(killDelayMs);
      await sleep(killDelayMs);
      const killedAt = Date.now();
      await netboot.kill9();
      churning = false;
      await Promise.all(work);

      // Right after the kill, as the admin sees it: every lease a client holds is in the file.
      const state = await pool.state();
      totals.acks += pool.acks.length - ackCountBefore;
      const listed = new Map(lab.leases().map((lease) => [lease.mac, lease]));
      for (const [mac, ip] of Object.entries(state.held)) {
        totals.ackedHeldAtKill++;
        const lease = listed.get(mac);
        if (lease && lease.ip === ip && lease.state === 'bound') totals.keptInFile++;
        else {
          totals.lost++;
          // The evidence for routing: this client's ACKs as it saw them, and its lines in the journal.
          const seen = pool.acks.filter((ack) => ack.mac === mac).slice(-4).map((ack) => `${ack.kind} ${ack.ip} xid ${ack.xid} at ${ack.at}`);
          const journal = readFileSync(join(lab.files.stateDir, 'leases.json'), 'utf8').split('\n').filter((line) => line.includes(mac)).slice(-4);
          failures.push(`round ${round}: ${mac} holds ${ip} (ACKed) but netboot leases shows ${lease ? `${lease.ip} ${lease.state}` : 'nothing'}; client saw [${seen.join('; ')}]; journal [${journal.join(' ')}]; kill after ${killDelayMs} ms at ${killedAt}`);
        }
      }
      // Boot-once on disk: the last acknowledged state, or the one that was in flight at the kill.
      const onDisk = readBootOnce(lab);
      if (onDisk !== bootOnceAcked && onDisk !== bootOncePending) {
        totals.bootOnceWrong++;
        failures.push(`round ${round}: boot-once file says ${onDisk}, acknowledged ${bootOnceAcked}, in flight ${bootOncePending}`);
      }
      bootOnceAcked = onDisk;
    }

    // Last restart: INIT-REBOOT for everyone, then new clients must never get an address someone holds.
    netboot = await lab.start();
    const held = (await pool.state()).held;
    for (const [mac, ip] of Object.entries(held)) {
      const outcome = await pool.initReboot(mac, ip);
      if (outcome.type === 'ack' && outcome.ip === ip) totals.initRebootSame++;
      else { totals.initRebootOther++; failures.push(`final: INIT-REBOOT of ${mac} for ${ip} got ${JSON.stringify(outcome)}`); }
    }
    const heldAddresses = new Set(Object.values(held));
    for (let i = 0; i < 20; i++) {
      const outcome = await pool.dora(testMac(2, i));
      totals.newClientsChecked++;
      if (outcome.type === 'ack' && heldAddresses.has(outcome.ip)) failures.push(`new client ${testMac(2, i)} was given ${outcome.ip}, which another client holds`);
    }
    const final = await pool.state();
    totals.duplicates = final.conflicts.length;
    for (const conflict of final.conflicts) failures.push(`address ${conflict.ip} ACKed to ${conflict.ackedTo} while ${conflict.heldBy} held it`);
    await netboot.stop();
    netboot = null;

    recordResult('crash-consistency', { seed, ...totals, killDelaysMs: undefined, killDelayRangeMs: [Math.min(...totals.killDelaysMs), Math.max(...totals.killDelaysMs)], clients: CLIENTS, failures: failures.slice(0, 20) });
    expect(failures).toEqual([]);
    expect(totals.ackedHeldAtKill).toBeGreaterThan(0);
    expect(totals.lost).toBe(0);
    expect(totals.duplicates).toBe(0);
  }, (LONG ? 60 : 3) * 60_000);
});

function readBootOnce(lab: RelLab): 'done' | 'armed' {
  try {
    const parsed = JSON.parse(readFileSync(join(lab.files.stateDir, 'boot-once.json'), 'utf8')) as { hosts?: Record<string, unknown> };
    return parsed.hosts?.node01 ? 'done' : 'armed';
  } catch {
    return 'armed';
  }
}
