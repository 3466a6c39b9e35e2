/**
 * Property 7: reload under load. While 100 TFTP transfers run (atftp in the
 * client namespace) and simulated DHCP clients take and renew leases,
 * netboot gets SIGHUP with a changed config (a new host with a reservation):
 * no transfer fails, no lease is lost, no exchange is refused, and the new
 * host takes effect. Then a broken config is sent the same way, under the
 * same load: it is refused, the running config (hash) stays, and again
 * nothing fails.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetbootProcess } from '../../src/tools/fuzz/target.js';
import { ClientPoolProcess, testMac, type Outcome } from '../helpers/dhcp-client-pool.js';
import { createRelLab, inClientAsync, LONG, recordResult, reliabilitySkipReason, sleep, type RelLab } from './support.js';

const skip = reliabilitySkipReason(['atftp']);
const TRANSFERS = 100;
const CHURN_CLIENTS = 40;
const NEW_HOST = { name: 'node99', mac: '52:54:00:78:07:99', ip: '10.78.7.50' };

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe.skipIf(skip !== null)(`reload under load${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let lab: RelLab;
  let netboot: NetbootProcess;
  let pool: ClientPoolProcess;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    lab = createRelLab(7, { bigBytes: (LONG ? 4 : 1) * 1024 * 1024, tftp: { maxTransfers: 500, maxTransfersPerClient: 200 } });
    netboot = await lab.start();
    pool = await ClientPoolProcess.start(lab.veth.client, { mode: 'direct', sendTo: `${lab.prefix}.255`, timeoutMs: 400, retries: 3 });
    for (let i = 0; i < CHURN_CLIENTS; i++) await pool.dora(testMac(8, i));
  });

  afterAll(async () => {
    await pool?.stop();
    await netboot?.stop();
    lab?.destroy();
    recordResult('reload-under-load', figures);
  });

  /** Runs the storm and the churn, calling `during` once both are under way; returns what happened. */
  const underLoad = async (during: () => Promise<void>) => {
    const expected = lab.files.files['big.bin']!.sha256;
    const transfers = Array.from({ length: TRANSFERS }, async (_, i) => {
      await sleep(i * 10); // a ramp: transfers start and end throughout the reload
      const out = join(lab.files.dir, `storm-${i}.bin`);
      const run = await inClientAsync(lab, 'atftp', ['--option', 'blksize 1468', '-g', '-r', 'big.bin', '-l', out, lab.serverAddress, '69'], 180_000);
      let exact = false;
      try { exact = run.code === 0 && sha256(readFileSync(out)) === expected; } catch { /* missing */ }
      return { exact, error: exact ? null : `exit ${run.code}: ${run.stderr.trim().split('\n').slice(-2).join(' / ')}` };
    });
    let churning = true;
    const outcomes: { kind: string; outcome: Outcome }[] = [];
    const churn = Array.from({ length: 4 }, async (_, worker) => {
      let i = worker;
      while (churning) {
        const mac = testMac(8, i % CHURN_CLIENTS);
        outcomes.push({ kind: 'renew', outcome: await pool.renew(mac, lab.serverAddress) });
        i += 4;
      }
    });
    await sleep(400);
    const activeAtReload = (JSON.parse(lab.http('/api/transfers').body) as { transfers: unknown[] }).transfers.length;
    await during();
    const results = await Promise.all(transfers);
    churning = false;
    await Promise.all(churn);
    return {
      transfersStarted: TRANSFERS,
      activeAtReload,
      transfersExact: results.filter((result) => result.exact).length,
      transferErrors: results.filter((result) => !result.exact).map((result) => result.error).slice(0, 5),
      renewals: outcomes.length,
      renewalsAcked: outcomes.filter((each) => each.outcome.type === 'ack').length,
      renewalsNaked: outcomes.filter((each) => each.outcome.type === 'nak').length,
      renewalsUnanswered: outcomes.filter((each) => each.outcome.type === 'none').length,
    };
  };

  it('takes a changed config on SIGHUP during a TFTP storm and DHCP churn: nothing fails, nothing is lost, the new host takes effect', async () => {
    const before = lab.status().config as { sha256: string };
    const reloaded = netboot.lines.length;
    const load = await underLoad(async () => {
      lab.writeConfig((config) => { config.hosts = [...(config.hosts ?? [{ name: 'node01', mac: '52:54:00:78:00:01', profile: 'install', once: true }]), { ...NEW_HOST, profile: 'install' }]; });
      netboot.signal('SIGHUP');
      await netboot.waitFor((line) => line.msg === 'config reloaded' && netboot.lines.indexOf(line) >= reloaded, 20_000);
    });
    const after = lab.status().config as { sha256: string };
    const newHost = await pool.dora(NEW_HOST.mac);
    const state = await pool.state();
    const listed = new Map(lab.leases().map((lease) => [lease.mac, lease.ip]));
    const lost = Object.entries(state.held).filter(([mac, ip]) => listed.get(mac) !== ip);
    figures.goodReload = { ...load, configChanged: before.sha256 !== after.sha256, newHostGot: newHost.type === 'ack' ? newHost.ip : newHost.type, leasesHeld: Object.keys(state.held).length, leasesLost: lost.length, duplicates: state.conflicts.length };
    expect(load.transferErrors).toEqual([]);
    expect(load.transfersExact).toBe(TRANSFERS);
    expect(load.renewalsNaked).toBe(0);
    expect(load.renewalsUnanswered).toBe(0);
    expect(before.sha256).not.toBe(after.sha256);
    expect(newHost).toEqual({ type: 'ack', ip: NEW_HOST.ip });
    expect(lost).toEqual([]);
    expect(state.conflicts).toEqual([]);
  }, 5 * 60_000);

  it('refuses a broken config sent the same way, under the same load, and changes nothing', async () => {
    const before = lab.status().config as { sha256: string };
    const good = readFileSync(lab.files.configPath, 'utf8');
    const mark = netboot.lines.length;
    const load = await underLoad(async () => {
      // Two mistakes: a bad MAC and an unknown key.
      writeFileSync(lab.files.configPath, good.replace(`mac: "${NEW_HOST.mac}"`, 'mac: "52:54:00:zz:07:99"').replace('defaultProfile: install', 'defaultProfile: install\ntypo_key: 1'));
      netboot.signal('SIGHUP');
      await netboot.waitFor((line) => typeof line.msg === 'string' && line.msg.startsWith('new config refused') && netboot.lines.indexOf(line) >= mark, 20_000);
    });
    writeFileSync(lab.files.configPath, good);
    const after = lab.status().config as { sha256: string };
    const refusal = netboot.lines.slice(mark).find((line) => typeof line.msg === 'string' && line.msg.startsWith('new config refused'));
    const newHost = await pool.initReboot(NEW_HOST.mac, NEW_HOST.ip);
    figures.brokenReload = { ...load, refused: refusal !== undefined, refusalMessage: String(refusal?.msg ?? '').slice(0, 300), configUnchanged: before.sha256 === after.sha256, newHostStillReserved: newHost.type === 'ack' && newHost.ip === NEW_HOST.ip };
    expect(refusal).toBeDefined();
    // The refusal names the mistake (in the log line's fields or the lines printed with it).
    expect(JSON.stringify(netboot.lines.slice(mark)) + netboot.rawOutput).toContain('52:54:00:zz:07:99');
    expect(before.sha256).toBe(after.sha256);
    expect(load.transferErrors).toEqual([]);
    expect(load.transfersExact).toBe(TRANSFERS);
    expect(load.renewalsNaked + load.renewalsUnanswered).toBe(0);
    expect(newHost).toEqual({ type: 'ack', ip: NEW_HOST.ip });
  }, 5 * 60_000);
});
