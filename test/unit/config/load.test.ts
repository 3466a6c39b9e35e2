import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatIssue, type ConfigIssue } from '../../../src/config/issues.js';
import { loadConfigFile, loadConfigText, type LoadResult } from '../../../src/config/load.js';
import { formatIpv4 } from '../../../src/net/ipv4.js';

const fixtures = fileURLToPath(new URL('../../fixtures/config/', import.meta.url));
const examplePath = fileURLToPath(new URL('../../../config/lab.example.yaml', import.meta.url));
/** Loaded as if the file sat in the fixtures folder, where tftproot/, templates/ and trees/ exist. */
const asFixture = (text: string, allowMissing = false): LoadResult => loadConfigText(text, `${fixtures}case.yaml`, { allowMissing, displayName: 'case.yaml' });

const BASE = `server: { address: 10.77.0.1 }
dhcp:
  mode: authoritative
  subnet: 10.77.0.0/24
  pool: 10.77.0.100-10.77.0.199
  router: 10.77.0.1
tftp: { root: tftproot, listen: 127.0.0.1 }
http: { listen: 127.0.0.1, port: 8080, trees: { debian12: trees/debian12 } }
profiles:
  inst:
    kernel: demo/vmlinuz
    initrd: demo/initrd.img
    cmdline: "ks={{kickstartUrl}} host={{host.name}}"
    kickstart: templates/answer.ks
  local: { localboot: true }
hosts:
  - { name: node01, mac: "52:54:00:12:34:56", ip: 10.77.0.11, profile: inst }
  - { name: node02, mac: "52:54:00:12:34:57", profile: inst }
defaultProfile: local
`;

function issuesOf(result: LoadResult): ConfigIssue[] {
  return result.ok ? result.warnings : result.issues;
}

function edit(...replacements: [string, string][]): string {
  let text = BASE;
  for (const [from, to] of replacements) {
    expect(text.includes(from), `base config contains ${from}`).toBe(true);
    text = text.replace(from, to);
  }
  return text;
}

describe('loading the config', () => {
  it('loads the shipped example (missing demo kernels are warnings with allowMissing)', () => {
    const result = loadConfigFile(examplePath, { allowMissing: true });
    expect(result.ok, issuesOf(result).map(formatIssue).join('\n')).toBe(true);
    if (!result.ok) return;
    expect(result.config.hosts.map((host) => host.mac)).toEqual(['52:54:00:12:34:56', '52:54:00:12:34:57', '52:54:00:12:34:58']);
    expect(result.config.dhcp.mode).toBe('off');
    expect(result.config.http.baseUrl).toBe('http://127.0.0.1:8080');
    expect(result.warnings.every((warning) => warning.severity === 'warning')).toBe(true);
  });

  it('loads the base table config without problems and resolves it', () => {
    const result = asFixture(BASE);
    expect(issuesOf(result).map(formatIssue)).toEqual([]);
    if (!result.ok) return;
    const { config } = result;
    expect(formatIpv4(config.server.address)).toBe('10.77.0.1');
    expect(config.dhcp.leaseTimeS).toBe(3600);
    expect(config.tftp.root).toBe(`${fixtures}tftproot`);
    expect(config.http.trees.debian12).toBe(`${fixtures}trees/debian12`);
    expect(config.profiles.get('inst')?.kickstartTemplate).toContain('kickstart for {{host.name}}');
    expect(config.hostsByName.get('node01')?.ip).toBe(config.hosts[0]!.ip);
    expect(config.stateDir).toBe(`${fixtures}state`);
  });

  it('lists all five mistakes of five-mistakes.yaml, each with its line:col', () => {
    const result = loadConfigFile(`${fixtures}five-mistakes.yaml`, { displayName: 'five-mistakes.yaml' });
    expect(result.ok).toBe(false);
    const lines = issuesOf(result).map(formatIssue);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^five-mistakes\.yaml:10:9 dhcp\.pool: pool 10\.0\.10\.100-10\.0\.10\.199 is not inside subnet 127\.0\.0\.0\/8$/);
    expect(lines[1]).toBe('five-mistakes.yaml:11:3 dhcp.leaseTme: unknown key "leaseTme" (did you mean "leaseTime"?)');
    expect(lines[2]).toMatch(/^five-mistakes\.yaml:26:14 profiles\.demo-install\.cmdline: unknown template variable \{\{host\.nmae\}\}; did you mean \{\{host\.name\}\}\?/);
    expect(lines[3]).toBe('five-mistakes.yaml:32:26 hosts[1].mac: invalid MAC address "52:54:00:zz:00:01"');
    expect(lines[4]).toBe('five-mistakes.yaml:33:56 hosts[2].profile: unknown profile "demo-instal" (defined: demo-install, local)');
  });

  it('points an unknown key at the key itself, with a suggestion from the keys allowed there', () => {
    const result = asFixture(edit(['  router: 10.77.0.1\n', '  router: 10.77.0.1\n  leasetime: 2h\n']));
    expect(issuesOf(result).map(formatIssue)).toEqual(['case.yaml:7:3 dhcp.leasetime: unknown key "leasetime" (did you mean "leaseTime"?)']);
  });

  it('says where a key belongs when it is in the wrong section', () => {
    const result = asFixture(edit(['tftp: { root: tftproot,', 'tftp: { leaseFile: x.json, root: tftproot,']));
    expect(issuesOf(result).map((issue) => issue.message)).toEqual(['unknown key "leaseFile" ("leaseFile" belongs under "dhcp")']);
  });

  it('reports YAML syntax errors with their place', () => {
    const result = asFixture('server:\n  address: [10.0.0.1\n');
    expect(result.ok).toBe(false);
    expect(issuesOf(result)[0]!.line).toBeGreaterThan(0);
    expect(issuesOf(result)[0]!.message).toMatch(/^YAML: /);
  });

  it('refuses a key written twice', () => {
    const result = asFixture(edit(['  mode: authoritative\n', '  mode: authoritative\n  mode: proxy\n']));
    expect(result.ok).toBe(false);
    expect(issuesOf(result)[0]).toMatchObject({ line: 4 });
  });

  it('an unreadable file is one error without a place', () => {
    const result = loadConfigFile(`${fixtures}does-not-exist.yaml`);
    expect(result.ok).toBe(false);
    expect(issuesOf(result).map(formatIssue)[0]).toMatch(/does-not-exist\.yaml cannot read config: no such file/);
  });

  it('accepts MACs with ":" or "-", in any case, and normalises them', () => {
    const result = asFixture(edit(['"52:54:00:12:34:57"', '"52-54-00-AB-cd-EF"']));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.config.hosts[1]!.mac).toBe('52:54:00:ab:cd:ef');
  });
});

interface CrossCase {
  name: string;
  text: string;
  allowMissing?: boolean;
  path: string;
  severity: 'error' | 'warning';
  message: RegExp;
}

const CROSS_CASES: CrossCase[] = [
  { name: 'authoritative without a subnet', text: edit(['  subnet: 10.77.0.0/24\n  pool: 10.77.0.100-10.77.0.199\n  router: 10.77.0.1\n', ''], ['ip: 10.77.0.11, ', '']), path: 'dhcp.mode', severity: 'error', message: /authoritative mode needs dhcp\.subnet/ },
  { name: 'server outside its subnet', text: edit(['server: { address: 10.77.0.1 }', 'server: { address: 10.78.0.1 }']), path: 'dhcp.subnet', severity: 'error', message: /server\.address 10\.78\.0\.1 is not inside 10\.77\.0\.0\/24/ },
  { name: 'pool outside the subnet', text: edit(['pool: 10.77.0.100-10.77.0.199', 'pool: 10.77.0.100-10.77.1.10']), path: 'dhcp.pool', severity: 'error', message: /not inside subnet 10\.77\.0\.0\/24/ },
  { name: 'pool over the broadcast address', text: edit(['pool: 10.77.0.100-10.77.0.199', 'pool: 10.77.0.100-10.77.0.255']), path: 'dhcp.pool', severity: 'error', message: /network or broadcast/ },
  { name: 'pool containing the server', text: edit(['pool: 10.77.0.100-10.77.0.199', 'pool: [10.77.0.1-10.77.0.9, 10.77.0.100-10.77.0.199]']), path: 'dhcp.pool[0]', severity: 'warning', message: /contains server\.address/ },
  { name: 'router outside the subnet', text: edit(['router: 10.77.0.1', 'router: 10.9.0.1']), path: 'dhcp.router', severity: 'error', message: /router 10\.9\.0\.1 is not inside/ },
  { name: 'pool without subnet', text: edit(['  mode: authoritative\n  subnet: 10.77.0.0/24\n', '  mode: proxy\n'], ['  router: 10.77.0.1\n', '']), path: 'dhcp.pool', severity: 'error', message: /needs dhcp\.subnet/ },
  { name: 'relay pool outside its subnet', text: edit(['  router: 10.77.0.1\n', '  router: 10.77.0.1\n  subnets: [{ subnet: 10.80.0.0/24, pool: 10.81.0.10-10.81.0.20 }]\n']), path: 'dhcp.subnets[0].pool', severity: 'error', message: /not inside subnet 10\.80\.0\.0\/24/ },
  { name: 'duplicate host name', text: edit(['name: node02', 'name: node01']), path: 'hosts[1].name', severity: 'error', message: /duplicate name "node01" \(also hosts\[0\]\.name\)/ },
  { name: 'duplicate MAC spelled differently', text: edit(['"52:54:00:12:34:57"', '"52-54-00-12-34-56"']), path: 'hosts[1].mac', severity: 'error', message: /duplicate mac 52-54-00-12-34-56 \(also hosts\[0\]\.mac\)/ },
  { name: 'duplicate MAC in upper case', text: edit(['"52:54:00:12:34:56"', '"52:54:00:ab:cd:ef"'], ['"52:54:00:12:34:57"', '"52:54:00:AB:CD:EF"']), path: 'hosts[1].mac', severity: 'error', message: /duplicate mac 52:54:00:AB:CD:EF \(also hosts\[0\]\.mac\)/ },
  { name: 'duplicate reserved address', text: edit(['mac: "52:54:00:12:34:57", profile', 'mac: "52:54:00:12:34:57", ip: 10.77.0.11, profile']), path: 'hosts[1].ip', severity: 'error', message: /duplicate ip 10\.77\.0\.11/ },
  { name: 'reservation on the server address', text: edit(['ip: 10.77.0.11', 'ip: 10.77.0.1']), path: 'hosts[0].ip', severity: 'error', message: /is server\.address/ },
  { name: 'reservation outside every subnet', text: edit(['ip: 10.77.0.11', 'ip: 10.99.0.11']), path: 'hosts[0].ip', severity: 'error', message: /not inside any DHCP subnet \(10\.77\.0\.0\/24\)/ },
  { name: 'unknown profile on a host', text: edit(['profile: inst }\n  - { name: node02', 'profile: insta }\n  - { name: node02']), path: 'hosts[0].profile', severity: 'error', message: /unknown profile "insta" \(defined: inst, local\)/ },
  { name: 'unknown default profile', text: edit(['defaultProfile: local', 'defaultProfile: lcoal']), path: 'defaultProfile', severity: 'error', message: /unknown profile "lcoal"/ },
  { name: 'once on a host with no profile at all', text: edit(['defaultProfile: local\n', ''], ['mac: "52:54:00:12:34:57", profile: inst }', 'mac: "52:54:00:12:34:57", once: true }']), path: 'hosts[1].once', severity: 'warning', message: /does nothing/ },
  { name: 'template variable not in the whitelist', text: edit(['host={{host.name}}', 'host={{hostname}}']), path: 'profiles.inst.cmdline', severity: 'error', message: /unknown template variable \{\{hostname\}\}/ },
  { name: 'template variable in the answer file not in the whitelist', text: edit(['templates/answer.ks', 'templates/bad-var.ks']), path: 'profiles.inst.kickstart', severity: 'error', message: /bad-var\.ks: unknown template variable \{\{host\.nmae\}\}/ },
  { name: 'template syntax error in the answer file', text: edit(['templates/answer.ks', 'templates/bad-syntax.ks']), path: 'profiles.inst.kickstart', severity: 'error', message: /template syntax error/ },
  { name: 'vars.<name> nobody defines', text: edit(['host={{host.name}}', 'host={{vars.role}}']), path: 'profiles.inst.cmdline', severity: 'error', message: /\{\{vars\.role\}\} is not defined/ },
  { name: 'unknown tree', text: edit(['host={{host.name}}', 'repo={{trees.debian13}}']), path: 'profiles.inst.cmdline', severity: 'error', message: /unknown tree "debian13".*defined: debian12/ },
  { name: 'profile with neither kernel nor localboot', text: edit(['  local: { localboot: true }', '  local: { cmdline: "x" }']), path: 'profiles.local', severity: 'error', message: /needs a kernel, or localboot/ },
  { name: 'pxelinux profile with an http kernel', text: edit(['    kernel: demo/vmlinuz\n', '    loader: pxelinux\n    kernel: http://10.77.0.1/vmlinuz\n']), path: 'profiles.inst.kernel', severity: 'error', message: /pxelinux fetches by TFTP/ },
  { name: 'kernel path leaving the TFTP root', text: edit(['kernel: demo/vmlinuz', 'kernel: ../five-mistakes.yaml']), path: 'profiles.inst.kernel', severity: 'error', message: /stay inside it/ },
  { name: 'missing kernel (serve)', text: edit(['kernel: demo/vmlinuz', 'kernel: demo/vmlinuz-6.1']), path: 'profiles.inst.kernel', severity: 'error', message: /demo\/vmlinuz-6\.1 does not exist in the TFTP root/ },
  { name: 'missing kernel (check, --allow-missing)', allowMissing: true, text: edit(['kernel: demo/vmlinuz', 'kernel: demo/vmlinuz-6.1']), path: 'profiles.inst.kernel', severity: 'warning', message: /does not exist in the TFTP root/ },
  { name: 'missing initrd in a list', text: edit(['initrd: demo/initrd.img', 'initrd: [demo/initrd.img, demo/extra.img]']), path: 'profiles.inst.initrd[1]', severity: 'error', message: /demo\/extra\.img does not exist/ },
  { name: 'missing answer file', text: edit(['templates/answer.ks', 'templates/nope.ks']), path: 'profiles.inst.kickstart', severity: 'error', message: /nope\.ks does not exist or cannot be read/ },
  { name: 'missing tree folder', text: edit(['debian12: trees/debian12', 'debian12: trees/debian13']), path: 'http.trees.debian12', severity: 'error', message: /tree folder .*debian13 does not exist/ },
  { name: 'missing TFTP root', text: edit(['root: tftproot', 'root: tftproot-nope']), path: 'tftp.root', severity: 'error', message: /tftproot-nope is not a folder \(run `netboot init --dir \/.*\/tftproot-nope` to create it/ },
  { name: 'API beyond loopback without a token', text: edit(['http: { listen: 127.0.0.1,', 'http: { listen: 0.0.0.0,']), path: 'http.listen', severity: 'warning', message: /without http\.apiToken/ },
  { name: 'TFTP port range smaller than maxTransfers', text: edit(['tftp: { root: tftproot,', 'tftp: { portRange: 30000-30009, root: tftproot,']), path: 'tftp.portRange', severity: 'warning', message: /10 ports allow at most 10 transfers/ },
  { name: 'invalid MAC', text: edit(['"52:54:00:12:34:57"', '"52:54:00:zz:00:01"']), path: 'hosts[1].mac', severity: 'error', message: /invalid MAC address "52:54:00:zz:00:01"/ },
  { name: 'MAC with mixed separators', text: edit(['"52:54:00:12:34:57"', '"52:54-00:12:34:57"']), path: 'hosts[1].mac', severity: 'error', message: /invalid MAC address/ },
  { name: 'invalid IP', text: edit(['ip: 10.77.0.11', 'ip: 10.77.0.256']), path: 'hosts[0].ip', severity: 'error', message: /invalid IPv4 address "10\.77\.0\.256"/ },
  { name: 'subnet with host bits', text: edit(['subnet: 10.77.0.0/24', 'subnet: 10.77.0.5/24']), path: 'dhcp.subnet', severity: 'error', message: /invalid subnet/ },
  { name: 'invalid duration', text: edit(['  router: 10.77.0.1\n', '  router: 10.77.0.1\n  leaseTime: 1 hour\n']), path: 'dhcp.leaseTime', severity: 'error', message: /invalid duration "1 hour"/ },
  { name: 'invalid mode', text: edit(['mode: authoritative', 'mode: authorative']), path: 'dhcp.mode', severity: 'error', message: /authoritative/ },
  { name: 'a quoted number', text: edit(['http: { listen: 127.0.0.1, port: 8080,', 'http: { listen: 127.0.0.1, port: "8080",']), path: 'http.port', severity: 'error', message: /^expected a number, got the text "8080" \(write 8080 without quotes\)$/ },
  { name: 'a value of the wrong type', text: edit(['ip: 10.77.0.11', 'ip: [10.77.0.11]']), path: 'hosts[0].ip', severity: 'error', message: /^expected text, got a list$/ },
  { name: 'an enum typo, with a suggestion', text: edit(['mode: authoritative', 'mode: Proxy']), path: 'dhcp.mode', severity: 'error', message: /^invalid value "Proxy" \(did you mean "proxy"\?\); one of: authoritative, proxy, off$/ },
  { name: 'one bad range in a pool list', text: edit(['pool: 10.77.0.100-10.77.0.199', 'pool: [10.77.0.100-10.77.0.199, 10.77.0.250]']), path: 'dhcp.pool[1]', severity: 'error', message: /^invalid address range "10\.77\.0\.250"/ },
  { name: 'a number out of range', text: edit(['tftp: { root: tftproot,', 'tftp: { retries: 50, root: tftproot,']), path: 'tftp.retries', severity: 'error', message: /^50 is too big \(at most 20\)$/ },
  { name: 'a profile name that cannot be used in URLs', text: edit(['  local: { localboot: true }', '  "lo cal": { localboot: true }'], ['defaultProfile: local', 'defaultProfile: inst']), path: 'profiles.lo cal', severity: 'error', message: /^invalid name "lo cal": names use letters, digits/ },
  { name: 'missing server address', text: edit(['server: { address: 10.77.0.1 }', 'server: {}']), path: 'server.address', severity: 'error', message: /required/ },
];

describe('cross-checks and value checks', () => {
  it.each(CROSS_CASES)('$name', ({ text, allowMissing, path, severity, message }) => {
    const issues = issuesOf(asFixture(text, allowMissing ?? false));
    const match = issues.find((issue) => issue.path === path && message.test(issue.message));
    expect(match, `expected ${severity} at ${path} matching ${message}; got:\n${issues.map(formatIssue).join('\n')}`).toBeDefined();
    expect(match!.severity).toBe(severity);
    expect(match!.line).toBeGreaterThan(0);
  });

  it('still runs cross-checks when the schema rejects something else, with original host indexes', () => {
    const text = edit(['"52:54:00:12:34:57", profile: inst', '"zz", profile: inst }\n  - { name: node03, mac: "52:54:00:12:34:56", profile: insta']);
    const lines = issuesOf(asFixture(text)).map(formatIssue);
    expect(lines).toContain('case.yaml:18:26 hosts[1].mac: invalid MAC address "zz"');
    expect(lines).toContain('case.yaml:19:26 hosts[2].mac: duplicate mac 52:54:00:12:34:56 (also hosts[0].mac)');
    expect(lines).toContain('case.yaml:19:56 hosts[2].profile: unknown profile "insta" (defined: inst, local)');
  });

  it('does not echo a dropped value as a second, misleading error', () => {
    const lines = issuesOf(asFixture(edit(['subnet: 10.77.0.0/24', 'subnet: 10.77.0.0/33']))).map(formatIssue);
    expect(lines).toEqual([expect.stringMatching(/dhcp\.subnet: invalid subnet "10\.77\.0\.0\/33"/)]);
  });
});
