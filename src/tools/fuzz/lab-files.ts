/**
 * A scratch appliance for the fuzzer and the reliability tests: a TFTP root
 * and an installer tree with known files, a canary file *outside* every root
 * (reachable only through symlinks and traversal, so any response that
 * contains its text is a file served outside a root), a kickstart template,
 * a state folder, and a config file that ties them together.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LabHost {
  name: string;
  mac: string;
  ip?: string;
  profile?: string;
  once?: boolean;
}

export interface LabConfigOptions {
  serverAddress: string;
  dhcp?: {
    mode: 'authoritative' | 'proxy' | 'off';
    listen?: string;
    port?: number;
    clientPort?: number;
    proxyPort?: number;
    subnet: string;
    pool: string;
    leaseTime?: string;
    offerHold?: string;
    leaseFile?: string;
  };
  tftp: { listen: string; port: number; maxTransfers?: number; maxTransfersPerClient?: number; timeout?: number; retries?: number; windowsizeMax?: number };
  http: { listen: string; port: number; apiToken?: string; requestTimeout?: string; keepAliveTimeout?: string };
  hosts?: LabHost[];
  /** Extra top-level YAML appended verbatim (tests that need a key this helper does not know). */
  extraYaml?: string;
  stateDir?: string;
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

export interface LabFiles {
  dir: string;
  tftpRoot: string;
  treeDir: string;
  treeName: string;
  stateDir: string;
  configPath: string;
  /** Text of the file outside every root; must never appear in a response. */
  canary: string;
  files: Record<string, { size: number; sha256: string }>;
  writeConfig(options: LabConfigOptions): void;
}

export const TREE_NAME = 'debian';

function writeRandom(path: string, size: number): { size: number; sha256: string } {
  const bytes = randomBytes(size);
  writeFileSync(path, bytes);
  return { size, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Makes the scratch folder. `bigBytes` sizes big.bin (in the TFTP root and the tree). */
export function makeLabFiles(options: { bigBytes?: number; parent?: string } = {}): LabFiles {
  const dir = mkdtempSync(join(options.parent ?? tmpdir(), 'netboot-rel-'));
  const tftpRoot = join(dir, 'tftpboot');
  const treeDir = join(dir, 'trees', TREE_NAME);
  const outside = join(dir, 'outside');
  const stateDir = join(dir, 'state');
  for (const folder of [tftpRoot, join(tftpRoot, 'demo'), treeDir, outside, stateDir, join(dir, 'templates')]) mkdirSync(folder, { recursive: true });
  const canary = `NETBOOT-CANARY-${randomBytes(12).toString('hex')}`;
  writeFileSync(join(outside, 'secret.txt'), `${canary}\n`);
  symlinkSync(outside, join(tftpRoot, 'outside-link'));
  symlinkSync(outside, join(treeDir, 'outside-link'));
  writeFileSync(join(treeDir, '.hidden'), `${canary} dotfile\n`);
  const bigBytes = options.bigBytes ?? 2 * 1024 * 1024;
  const files: LabFiles['files'] = {
    'pxelinux.0': writeRandom(join(tftpRoot, 'pxelinux.0'), 42_000),
    'undionly.kpxe': writeRandom(join(tftpRoot, 'undionly.kpxe'), 70_000),
    'big.bin': writeRandom(join(tftpRoot, 'big.bin'), bigBytes),
    'demo/vmlinuz': writeRandom(join(tftpRoot, 'demo', 'vmlinuz'), 300_000),
    'demo/initrd.img': writeRandom(join(tftpRoot, 'demo', 'initrd.img'), 500_000),
  };
  files[`tree:big.bin`] = writeRandom(join(treeDir, 'big.bin'), bigBytes);
  writeFileSync(join(dir, 'templates', 'ks.cfg'), '# kickstart for {{host.name}}\nurl --url={{httpBase}}/trees/debian\n');
  const configPath = join(dir, 'netboot.yaml');
  const lab: LabFiles = {
    dir, tftpRoot, treeDir, treeName: TREE_NAME, stateDir, configPath, canary, files,
    writeConfig: (config) => writeFileSync(configPath, renderLabConfig(lab, config)),
  };
  return lab;
}

export function renderLabConfig(lab: Pick<LabFiles, 'tftpRoot' | 'treeDir' | 'stateDir' | 'dir'>, options: LabConfigOptions): string {
  const dhcp = options.dhcp ?? { mode: 'off' as const, subnet: '127.0.0.0/8', pool: '127.0.10.100-127.0.10.199' };
  const lines = [
    `server: { address: ${options.serverAddress} }`,
    'dhcp:',
    `  mode: ${dhcp.mode}`,
    `  listen: ${dhcp.listen ?? '0.0.0.0'}`,
    `  port: ${dhcp.port ?? 67}`,
    `  clientPort: ${dhcp.clientPort ?? 68}`,
    `  proxyPort: ${dhcp.proxyPort ?? 4011}`,
    `  subnet: ${dhcp.subnet}`,
    `  pool: ${dhcp.pool}`,
    `  leaseTime: ${dhcp.leaseTime ?? '1h'}`,
    `  offerHold: ${dhcp.offerHold ?? '30s'}`,
    `  leaseFile: ${dhcp.leaseFile ?? join(options.stateDir ?? lab.stateDir, 'leases.json')}`,
    'tftp:',
    `  listen: ${options.tftp.listen}`,
    `  port: ${options.tftp.port}`,
    `  root: ${lab.tftpRoot}`,
    ...(options.tftp.maxTransfers ? [`  maxTransfers: ${options.tftp.maxTransfers}`] : []),
    ...(options.tftp.maxTransfersPerClient ? [`  maxTransfersPerClient: ${options.tftp.maxTransfersPerClient}`] : []),
    ...(options.tftp.timeout ? [`  timeout: ${options.tftp.timeout}`] : []),
    ...(options.tftp.retries ? [`  retries: ${options.tftp.retries}`] : []),
    ...(options.tftp.windowsizeMax ? [`  windowsizeMax: ${options.tftp.windowsizeMax}`] : []),
    'http:',
    `  listen: ${options.http.listen}`,
    `  port: ${options.http.port}`,
    `  trees: { ${TREE_NAME}: ${lab.treeDir} }`,
    ...(options.http.apiToken ? [`  apiToken: ${options.http.apiToken}`] : []),
    ...(options.http.requestTimeout ? [`  requestTimeout: ${options.http.requestTimeout}`] : []),
    ...(options.http.keepAliveTimeout ? [`  keepAliveTimeout: ${options.http.keepAliveTimeout}`] : []),
    'profiles:',
    '  install:',
    '    loader: pxelinux',
    '    kernel: demo/vmlinuz',
    '    initrd: demo/initrd.img',
    '    cmdline: "console=ttyS0 netboot.host={{host.name}}"',
    `    kickstart: ${join(lab.dir, 'templates', 'ks.cfg')}`,
    '  local: { localboot: true }',
    ...hostLines(options.hosts ?? [{ name: 'node01', mac: '52:54:00:78:00:01', profile: 'install', once: true }]),
    'defaultProfile: install',
    `state: { dir: ${options.stateDir ?? lab.stateDir} }`,
    `log: { level: ${options.logLevel ?? 'info'} }`,
    options.extraYaml ?? '',
  ];
  return `${lines.join('\n')}\n`;
}

function hostLines(hosts: LabHost[]): string[] {
  if (hosts.length === 0) return ['hosts: []'];
  return ['hosts:', ...hosts.map((host) =>
    `  - { name: ${host.name}, mac: "${host.mac}"${host.ip ? `, ip: ${host.ip}` : ''}, profile: ${host.profile ?? 'install'}${host.once ? ', once: true' : ''} }`)];
}
