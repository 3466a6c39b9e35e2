/**
 * A small lab for HTTP tests: a temp folder with a config file, a TFTP root
 * (kernel, initrd, a dotfile, a symlink pointing out), an installer tree,
 * answer-file templates, and a ServiceContext around it (the shared
 * makeTestContext, with the real file-backed boot-once store).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Config } from '../../../src/config/types.js';
import { loadConfigText } from '../../../src/config/load.js';
import { createLogger, type Logger } from '../../../src/log/logger.js';
import { parseIpv4 } from '../../../src/net/ipv4.js';
import type { EventLog } from '../../../src/runtime/events.js';
import type { LeaseInfo } from '../../../src/runtime/lease-view.js';
import type { Metrics } from '../../../src/runtime/metrics.js';
import type { TransferRegistry } from '../../../src/runtime/transfers.js';
import { FileBootOnceStore } from '../../../src/state/boot-once-store.js';
import { makeTestContext, type TestContext } from '../../helpers/service-context.js';

export const API_TOKEN = 'test-token-0123456789abcdef';
export const KERNEL_BYTES = 256 * 1024 + 17;

export interface LabOptions {
  apiToken?: string | null;
  /** Omit the defaultProfile line: unknown machines are ignored. */
  ignoreUnknown?: boolean;
  /** Extra profile YAML lines appended under `profiles:` (indented two spaces already). */
  extraProfiles?: string;
  /** Replaces the demo preseed template text. */
  preseed?: string;
  httpPort?: number;
}

export function labConfigYaml(dir: string, options: LabOptions = {}): string {
  const token = options.apiToken === undefined ? API_TOKEN : options.apiToken;
  return `
server: { address: 127.0.0.2 }
dhcp: { mode: off, subnet: 127.0.0.0/8, pool: 127.0.10.100-127.0.10.199, leaseFile: ${join(dir, 'state', 'leases.json')} }
tftp: { root: ${join(dir, 'tftpboot')}, listen: 127.0.0.1, port: 10069 }
http:
  port: ${options.httpPort ?? 8080}
  listen: 127.0.0.1
  baseUrl: http://10.77.0.1:8080
  trees: { debian12: ${join(dir, 'trees', 'debian12')} }
${token === null ? '' : `  apiToken: ${token}\n`}profiles:
  demo-install:
    loader: ipxe
    kernel: demo/vmlinuz
    initrd: [demo/initrd.img, demo/extra.img]
    cmdline: "console=ttyS0 netboot.host={{host.name}} ks={{kickstartUrl}} site={{vars.site}}"
    kickstart: templates/demo.preseed
    vars: { site: lab1 }
  demo-pxelinux:
    loader: pxelinux
    kernel: demo/vmlinuz
    initrd: demo/initrd.img
    cmdline: "console=ttyS0"
  local:
    localboot: true
${options.extraProfiles ?? ''}hosts:
  - { name: node01, mac: "52:54:00:12:34:56", ip: 127.0.10.11, profile: demo-install, vars: { site: rack7 } }
  - { name: node02, mac: "52-54-00-12-34-57", profile: demo-pxelinux }
  - { name: node03, mac: "52:54:00:12:34:58", ip: 127.0.0.1, profile: demo-install, once: true }
${options.ignoreUnknown ? '' : 'defaultProfile: local\n'}`;
}

export interface Lab {
  dir: string;
  config: Config;
  context: TestContext;
  events: EventLog;
  metrics: Metrics;
  transfers: TransferRegistry;
  bootOnce: FileBootOnceStore;
  /** Everything logged, as text (for "the token is never logged"). */
  logText(): string;
  setConfig(config: Config): void;
  setLeases(leases: LeaseInfo[]): void;
  reloadWith(options: LabOptions): Config;
  cleanup(): void;
}

export function loadLabConfig(dir: string, options: LabOptions = {}): Config {
  const result = loadConfigText(labConfigYaml(dir, options), join(dir, 'lab.yaml'));
  if (!result.ok) throw new Error(`lab config does not load: ${JSON.stringify(result.issues, null, 2)}`);
  return result.config;
}

export function makeLabFiles(dir: string, options: LabOptions = {}): void {
  const tftp = join(dir, 'tftpboot');
  mkdirSync(join(tftp, 'demo'), { recursive: true });
  mkdirSync(join(tftp, 'sub'), { recursive: true });
  const kernel = Buffer.alloc(KERNEL_BYTES);
  for (let i = 0; i < kernel.length; i++) kernel[i] = (i * 31 + 7) & 0xff;
  writeFileSync(join(tftp, 'demo', 'vmlinuz'), kernel);
  writeFileSync(join(tftp, 'demo', 'initrd.img'), 'initrd-bytes\n');
  writeFileSync(join(tftp, 'demo', 'extra.img'), 'extra\n');
  writeFileSync(join(tftp, 'undionly.kpxe'), 'ipxe-binary\n');
  writeFileSync(join(tftp, '.secret'), 'hidden\n');
  writeFileSync(join(tftp, 'sub', '.htpasswd'), 'hidden\n');
  writeFileSync(join(tftp, 'name with space.txt'), 'spaced\n');
  // Symlinks: one pointing out of the root (refused), one staying inside (served).
  mkdirSync(join(dir, 'outside'), { recursive: true });
  writeFileSync(join(dir, 'outside', 'passwd'), 'root:x:0:0\n');
  symlinkSync(join(dir, 'outside'), join(tftp, 'escape'));
  symlinkSync('/etc/passwd', join(tftp, 'passwd-link'));
  symlinkSync('demo/initrd.img', join(tftp, 'initrd-link'));
  const tree = join(dir, 'trees', 'debian12');
  mkdirSync(join(tree, 'dists'), { recursive: true });
  writeFileSync(join(tree, 'dists', 'Release'), 'Origin: Debian\n');
  writeFileSync(join(tree, '.git-credentials'), 'secret\n');
  symlinkSync(tftp, join(tree, 'tftp-link'));
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'templates', 'demo.preseed'), options.preseed ?? 'host={{host.name}} mac={{host.mac}} ip={{host.ip}} done={{doneUrl}} site={{vars.site}}\n');
}

export function makeLab(options: LabOptions = {}): Lab {
  const dir = mkdtempSync(join(tmpdir(), `netboot-http-${process.pid}-`));
  let config: Config;
  try {
    makeLabFiles(dir, options);
    config = loadLabConfig(dir, options);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const chunks: string[] = [];
  const sink = new Writable({ write(chunk, _encoding, callback) { chunks.push(String(chunk)); callback(); } });
  const log: Logger = createLogger({ level: 'debug', pretty: false, destination: sink });
  // The shared test context (test/helpers/service-context.ts), with the real file-backed boot-once store
  // (HTTP tests restart across it) and a lease list the test can set.
  const context = makeTestContext(config, { log });
  const bootOnce = new FileBootOnceStore(config.stateDir, log);
  context.bootOnce = bootOnce;
  context.bootState = { isOnceDone: (name) => bootOnce.isDone(name) };
  let leases: LeaseInfo[] = [];
  context.registerLeaseView({
    macForAddress: (address) => leases.find((lease) => parseIpv4(lease.ip) === address)?.mac ?? null,
    addressForMac: (mac) => {
      const lease = leases.find((entry) => entry.mac === mac);
      return lease ? parseIpv4(lease.ip) : null;
    },
    list: () => leases,
  });
  const { events, metrics, transfers } = context;
  return {
    dir,
    get config() { return config; },
    context,
    events,
    metrics,
    transfers,
    bootOnce,
    logText: () => chunks.join(''),
    setConfig: (next) => { config = next; context.setConfig(next); },
    setLeases: (next) => { leases = next; },
    reloadWith: (next) => { config = loadLabConfig(dir, next); context.setConfig(config); return config; },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
