/**
 * The `netboot` command as users run it: `node dist/cli/main.js ...` (built
 * by `npm test` before vitest runs; skipped with a message when dist/ is
 * missing). Exit codes, what is printed, and the files it changes.
 */
import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(root, 'test/fixtures/config');
const cli = join(root, 'dist/cli/main.js');
const distMissing = existsSync(cli) ? null : 'dist/cli/main.js is not built: run `npm run build` (npm test does) first';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, timeout: 55_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

const scratch = mkdtempSync(join(tmpdir(), `netboot-cli-${process.pid}-`));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** valid.yaml, with paths pointing into the fixtures and state into a scratch folder. */
function writeConfig(name: string, replacements: [string | RegExp, string][] = []): string {
  let text = readFileSync(join(fixtures, 'valid.yaml'), 'utf8')
    .replace('root: tftproot', `root: ${fixtures}/tftproot`)
    .replace('templates/answer.ks', `${fixtures}/templates/answer.ks`)
    .replace('trees/debian12', `${fixtures}/trees/debian12`)
    .replace('leaseFile: state/leases.json', `leaseFile: ${scratch}/${name}-state/leases.json`);
  for (const [from, to] of replacements) text = text.replace(from, to);
  const path = join(scratch, `${name}.yaml`);
  writeFileSync(path, text);
  return path;
}


describe.skipIf(distMissing)('netboot CLI', () => {
  let valid: string;
  beforeAll(() => {
    valid = writeConfig('valid');
  });

  describe('usage', () => {
    it('--help prints the commands and exits 0', async () => {
      const result = await run(['--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/netboot serve\s+--config FILE \[--allow-missing\]/);
      expect(result.stdout).toMatch(/Exit codes: 0 ok, 1 config errors, 2 usage, 3 cannot bind or start/);
    });

    it('no command: usage on stderr, exit 2', async () => {
      const result = await run([]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/Usage:/);
    });

    it('--version prints the package version', async () => {
      const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
      const result = await run(['--version']);
      expect(result).toMatchObject({ code: 0, stdout: `netboot ${version}\n` });
    });

    it.each([
      [['frobnicate'], /unknown command "frobnicate"/],
      [['check'], /netboot check: --config FILE is required \(NETBOOT_ERR_USAGE\)/],
      [['check', '--config', 'x.yaml', '--verbose'], /netboot check: Unknown option '--verbose'/],
      [['explain', '--config', 'x.yaml'], /netboot explain: missing MAC/],
      [['explain', '--config', 'x.yaml', 'nonsense'], /invalid MAC address "nonsense"/],
      [['explain', '--config', 'x.yaml', '52:54:00:12:34:56', '--arch', 'sparc'], /--arch must be one of bios, uefi-x64, uefi-ia32, uefi-arm64, ipxe, uefi-http/],
      [['firewall', '--config', 'x.yaml', '--nft', '--iptables'], /choose one of --nft and --iptables/],
      [['reinstall', '--config', 'x.yaml', 'a', 'b'], /unexpected argument "b"/],
    ])('%j: exit 2 with the reason and the usage', async (args, message) => {
      const result = await run(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/Usage:\s+netboot /);
    });

    it('COMMAND --help prints that command\'s usage', async () => {
      const result = await run(['explain', '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^netboot explain --config FILE MAC/);
    });
  });

  describe('check', () => {
    it('the shipped example: summary, warnings for the demo files, exit 0', async () => {
      const result = await run(['check', '--config', 'config/lab.example.yaml']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/hosts {5}3; unknown machines get profile local/);
      expect(result.stdout).toMatch(/node01 {11}52:54:00:12:34:56 {2}127\.0\.10\.11/);
      expect(result.stdout).toMatch(/dhcp {6}off/);
      expect(result.stdout.trim().split('\n').at(-1)).toMatch(/^config\/lab\.example\.yaml: OK/);
    });

    it('a valid config: services, profiles and hosts summarised', async () => {
      const result = await run(['check', '--config', valid]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('dhcp      authoritative on udp 0.0.0.0:10067; 10.77.0.0/24 (pool 10.77.0.100-10.77.0.199); lease 3600 s');
      expect(result.stdout).toContain(`tftp      udp 127.0.0.1:10069, root ${fixtures}/tftproot, transfer ports 30000-30999`);
      expect(result.stdout).toMatch(/debian-install +ipxe, kernel demo\/vmlinuz; 2 hosts; answer file/);
      expect(result.stdout).toMatch(/node03 +52:54:00:12:34:58 +from pool +debian-install, boot once/);
      expect(result.stdout).toMatch(/valid\.yaml: OK\n$/);
    });

    it('five mistakes: all five as file:line:col path: reason, exit 1', async () => {
      const result = await run(['check', '--config', 'test/fixtures/config/five-mistakes.yaml']);
      expect(result.code).toBe(1);
      const lines = result.stdout.trim().split('\n');
      expect(lines.map((line) => line.replace(/ .*/, ''))).toEqual([
        'test/fixtures/config/five-mistakes.yaml:10:9',
        'test/fixtures/config/five-mistakes.yaml:11:3',
        'test/fixtures/config/five-mistakes.yaml:26:14',
        'test/fixtures/config/five-mistakes.yaml:32:26',
        'test/fixtures/config/five-mistakes.yaml:33:56',
        'test/fixtures/config/five-mistakes.yaml:',
      ]);
      expect(lines.at(-1)).toBe('test/fixtures/config/five-mistakes.yaml: 5 errors');
    });

    it('a missing file a profile names is a warning for check', async () => {
      const path = writeConfig('missing-kernel', [['kernel: demo/vmlinuz\n    initrd: demo/initrd.img\n    cmdline: "auto', 'kernel: demo/vmlinuz-9\n    initrd: demo/initrd.img\n    cmdline: "auto']]);
      const result = await run(['check', '--config', path]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/missing-kernel\.yaml:17:13 profiles\.debian-install\.kernel: warning: demo\/vmlinuz-9 does not exist in the TFTP root/);
      expect(result.stdout).toMatch(/OK \(1 warning\)/);
    });

    it('warns when the API listens beyond loopback without a token', async () => {
      const path = writeConfig('open-api', [['http: { port: 18080, listen: 127.0.0.1,', 'http: { port: 18080, listen: 0.0.0.0,']]);
      const result = await run(['check', '--config', path]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/open-api\.yaml:13:\d+ http\.listen: warning: the API listens on 0\.0\.0\.0 without http\.apiToken/);
    });

    it('a file that does not exist: exit 1', async () => {
      const result = await run(['check', '--config', 'nope.yaml']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/nope\.yaml cannot read config: no such file/);
    });
  });

  describe('explain', () => {
    it('a known host booting BIOS PXE: reservation, iPXE binary, its script and answer file', async () => {
      const result = await run(['explain', '--config', valid, '52-54-00-12-34-56']);
      expect(result.code).toBe(0);
      const out = result.stdout;
      expect(out).toContain('machine     52:54:00:12:34:56 = host node01, asking as BIOS PXE firmware (option 93 = 0)');
      expect(out).toContain('address     10.77.0.11 (reservation)');
      expect(out).toContain('next-server 10.77.0.1');
      expect(out).toContain('boot file   undionly.kpxe');
      expect(out).toContain('option 60   PXEClient');
      expect(out).toContain('then        iPXE starts, asks DHCP again, and is handed http://10.77.0.1:18080/boot/52:54:00:12:34:56.ipxe');
      expect(out).toContain('--- iPXE script http://10.77.0.1:18080/boot/52:54:00:12:34:56.ipxe ---\n#!ipxe\n');
      expect(out).toContain('kernel http://10.77.0.1:18080/tftp/demo/vmlinuz initrd=initrd.img auto=true url=http://10.77.0.1:18080/ks/node01 hostname=node01 quiet');
      expect(out).toContain('--- answer file http://10.77.0.1:18080/ks/node01 ---\n# kickstart for node01 (52:54:00:12:34:56) at 10.77.0.11');
    });

    it('an iPXE client: handed its script URL', async () => {
      const result = await run(['explain', '--config', valid, '52:54:00:12:34:56', '--arch', 'ipxe']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('boot file   http://10.77.0.1:18080/boot/52:54:00:12:34:56.ipxe');
      expect(result.stdout).not.toContain('option 60');
      expect(result.stdout).not.toContain('then        iPXE starts');
    });

    it('an unknown host: the default profile, an address from the pool, a script that boots the disk', async () => {
      const result = await run(['explain', '--config', valid, '52:54:00:aa:bb:cc', '--arch', 'uefi-x64']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('machine     52:54:00:aa:bb:cc (not listed under hosts), asking as UEFI x64 PXE firmware (option 93 = 7)');
      expect(result.stdout).toContain('decision    unknown machine: profile boots locally; uefi-x64 gets ipxe snponly.efi');
      expect(result.stdout).toContain('address     from pool');
      expect(result.stdout).toMatch(/echo netboot: booting from local disk\nexit\n/);
    });

    it('an unknown host without a default profile: ignored', async () => {
      const path = writeConfig('no-default', [[/defaultProfile: local\n/, '']]);
      const result = await run(['explain', '--config', path, '52:54:00:aa:bb:cc']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/decision {4}ignored: not listed under hosts and no defaultProfile/);
    });

    it('a pxelinux host on an iPXE ROM: pxelinux.0 and its pxelinux.cfg', async () => {
      const result = await run(['explain', '--config', valid, '52:54:00:12:34:57', '--arch', 'ipxe']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('boot file   pxelinux.0');
      expect(result.stdout).toContain('--- pxelinux.cfg/01-52-54-00-12-34-57 (TFTP) ---');
      expect(result.stdout).toContain('  KERNEL demo/vmlinuz');
    });

    it('UEFI HTTP boot: a URL and HTTPClient', async () => {
      const result = await run(['explain', '--config', valid, '52:54:00:12:34:56', '--arch', 'uefi-http']);
      expect(result.stdout).toContain('boot file   http://10.77.0.1:18080/tftp/snponly.efi');
      expect(result.stdout).toContain('option 60   HTTPClient');
    });

    it('a GRUB host under UEFI: grubnetx64.efi and its grub.cfg', async () => {
      const result = await run(['explain', '--config', valid, '52:54:00:12:34:59', '--arch', 'uefi-x64']);
      expect(result.stdout).toContain('boot file   grubnetx64.efi');
      expect(result.stdout).toContain('--- grub.cfg-01-52-54-00-12-34-59 (TFTP) ---');
    });

    it('a config with errors: the errors, exit 1', async () => {
      const result = await run(['explain', '--config', 'test/fixtures/config/five-mistakes.yaml', '52:54:00:12:34:56']);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(5);
    });
  });

  describe('leases', () => {
    it('no lease file yet: an empty table and a note', async () => {
      const result = await run(['leases', '--config', valid]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^ADDRESS +MAC +HOST +STATE +EXPIRES +FIRMWARE\n0 leases in /);
      expect(result.stderr).toMatch(/no lease file yet/);
    });

    it('reads the DHCP journal, as a table and as JSON', async () => {
      const path = writeConfig('with-leases');
      mkdirSync(join(scratch, 'with-leases-state'), { recursive: true });
      const future = Date.now() + 3_600_000;
      const lines = [
        { mac: '52:54:00:12:34:57', ip: '10.77.0.150', state: 'bound', expiresAt: future, hostName: 'node02', firmware: 'bios', reserved: false, lastSeenAt: Date.now() },
        { mac: '52:54:00:12:34:56', ip: '10.77.0.11', state: 'bound', expiresAt: future, hostName: 'node01', firmware: 'uefi-x64', reserved: true, lastSeenAt: Date.now() },
      ];
      writeFileSync(join(scratch, 'with-leases-state/leases.json'), `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
      const table = await run(['leases', '--config', path]);
      expect(table.code).toBe(0);
      const rows = table.stdout.trim().split('\n');
      expect(rows[1]).toMatch(/^10\.77\.0\.11 +52:54:00:12:34:56 +node01 +bound \(reserved\) +\d{4}-\d\d-\d\dT[\d:]+Z +uefi-x64$/);
      expect(rows[2]).toMatch(/^10\.77\.0\.150 +52:54:00:12:34:57 +node02 +bound/);
      expect(rows[3]).toMatch(/^2 leases in /);
      const json = await run(['leases', '--config', path, '--json']);
      expect(JSON.parse(json.stdout)).toMatchObject([{ ip: '10.77.0.11', hostName: 'node01' }, { ip: '10.77.0.150', mac: '52:54:00:12:34:57' }]);

      // explain shows a pool machine's current lease.
      const explained = await run(['explain', '--config', path, '52:54:00:12:34:57']);
      expect(explained.stdout).toContain('address     from pool (currently leased: 10.77.0.150, bound)');
    });
  });

  describe('reinstall and done', () => {
    it('without a running server: change the boot-once state file directly', async () => {
      const port = await freePort('tcp');
      const path = writeConfig('once-offline', [['http: { port: 18080,', `http: { port: ${port},`]]);
      const done = await run(['done', '--config', path, 'node03']);
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(/^node03: done: boots from disk until re-armed \(no server answered at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); changed .*boot-once\.json directly/);
      const state = JSON.parse(readFileSync(join(scratch, 'once-offline-state/boot-once.json'), 'utf8')) as { hosts: Record<string, unknown> };
      expect(Object.keys(state.hosts)).toEqual(['node03']);
      const explained = await run(['explain', '--config', path, '52:54:00:12:34:58', '--arch', 'ipxe']);
      expect(explained.stdout).toContain('boot once   install done, boots from disk until `netboot reinstall`');
      expect(explained.stdout).toMatch(/\nexit\n/);

      const reinstall = await run(['reinstall', '--config', path, 'node03']);
      expect(reinstall.code).toBe(0);
      expect(reinstall.stdout).toMatch(/^node03: re-armed: installs on its next network boot/);
      expect(JSON.parse(readFileSync(join(scratch, 'once-offline-state/boot-once.json'), 'utf8'))).toMatchObject({ hosts: {} });
    });

    it('a host without once: true: exit 4, nothing changed', async () => {
      const result = await run(['done', '--config', valid, 'node01']);
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/host node01 is not a boot-once host \(set once: true on it/);
    });

    it('against a real `netboot serve`: the server changes its own state', async () => {
      const port = await freePort('tcp');
      const path = writeConfig('once-served', [
        ['mode: authoritative', 'mode: off'],
        ['tftp: { port: 10069,', 'tftp: { enabled: false, port: 10069,'],
        ['http: { port: 18080,', `http: { port: ${port}, apiToken: a-token-of-sixteen-chars,`],
      ]);
      const server = spawn(process.execPath, [cli, 'serve', '--config', path], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let out = '';
        await new Promise<void>((resolve, reject) => {
          server.stdout!.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            if (out.includes('"netboot ready"')) resolve();
          });
          server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
        });
        const done = await run(['done', '--config', path, 'node03']);
        expect(done.code, done.stderr).toBe(0);
        expect(done.stdout).toMatch(/via the running server/);
        const state = JSON.parse(readFileSync(join(scratch, 'once-served-state/boot-once.json'), 'utf8')) as { hosts: Record<string, unknown> };
        expect(Object.keys(state.hosts)).toEqual(['node03']);
        const reinstall = await run(['reinstall', '--config', path, 'node03']);
        expect(reinstall.code, reinstall.stderr).toBe(0);
        expect(JSON.parse(readFileSync(join(scratch, 'once-served-state/boot-once.json'), 'utf8'))).toMatchObject({ hosts: {} });
      } finally {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      }
    });

    it('an unknown host: exit 4 naming the hosts there are', async () => {
      const result = await run(['reinstall', '--config', valid, 'node99']);
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/no host "node99" in .* \(hosts: node01, node02, node03, node04\) \(NETBOOT_ERR_NOT_FOUND\)/);
    });

    describe('with a running server', () => {
      let server: http.Server;
      let port: number;
      const requests: { method: string; url: string; authorization: string | undefined }[] = [];
      beforeAll(async () => {
        server = http.createServer((request, response) => {
          requests.push({ method: request.method!, url: request.url!, authorization: request.headers.authorization });
          if (request.headers.authorization !== 'Bearer a-token-of-sixteen-chars') {
            response.statusCode = 401;
            response.end('{"error":"bad token"}');
            return;
          }
          response.end('{"ok":true}');
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        port = (server.address() as net.AddressInfo).port;
      });
      afterAll(() => server.close());

      it('calls POST /api/hosts/<name>/reinstall with the config\'s token', async () => {
        const path = writeConfig('once-online', [['http: { port: 18080,', `http: { port: ${port}, apiToken: a-token-of-sixteen-chars,`]]);
        const result = await run(['reinstall', '--config', path, 'node03']);
        expect(result.code).toBe(0);
        expect(result.stdout).toBe(`node03: re-armed: installs on its next network boot (via the running server, http://127.0.0.1:${port}/api/hosts/node03/reinstall)\n`);
        expect(requests.at(-1)).toEqual({ method: 'POST', url: '/api/hosts/node03/reinstall', authorization: 'Bearer a-token-of-sixteen-chars' });
        const done = await run(['done', '--config', path, 'node03']);
        expect(done.code).toBe(0);
        expect(requests.at(-1)?.url).toBe('/api/hosts/node03/done');
        expect(existsSync(join(scratch, 'once-online-state/boot-once.json'))).toBe(false);
      });

      it('a wrong token: exit 5 and why, the state file untouched', async () => {
        const path = writeConfig('once-badtoken', [['http: { port: 18080,', `http: { port: ${port}, apiToken: not-the-right-token-at-all,`]]);
        const result = await run(['done', '--config', path, 'node03']);
        expect(result.code).toBe(5);
        expect(result.stderr).toMatch(/the server refused the token.*\(NETBOOT_ERR_API\)/);
        expect(existsSync(join(scratch, 'once-badtoken-state/boot-once.json'))).toBe(false);
      });
    });
  });

  describe('firewall', () => {
    it('nft with a TFTP port range: the range instead of the helper', async () => {
      const result = await run(['firewall', '--config', valid, '--nft']);
      expect(result.code).toBe(0);
      const rules = result.stdout.split('\n').filter((line) => line.startsWith('add '));
      expect(rules).toEqual([
        'add rule inet filter input iifname "br0" udp dport 10067 accept',
        'add rule inet filter input iifname "br0" udp dport 10069 accept',
        'add rule inet filter input iifname "br0" udp dport 30000-30999 accept',
        'add rule inet filter input iifname "br0" tcp dport 18080 accept',
      ]);
      expect(result.stdout).toMatch(/Why TFTP needs more than port 10069: RFC 1350 §4/);
      expect(result.stdout).toMatch(/pins transfer ports to tftp\.portRange 30000-30999/);
    });

    it('iptables in proxy mode without a port range: 4011 and the conntrack TFTP helper', async () => {
      const path = writeConfig('proxy', [
        [/  subnet:[\s\S]*?leaseFile:/, '  leaseFile:'],
        ['mode: authoritative', 'mode: proxy'],
        [', portRange: 30000-30999', ''],
        [/ip: 10\.77\.0\.11, /, ''],
      ]);
      const result = await run(['firewall', '--config', path, '--iptables']);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const rules = result.stdout.split('\n').filter((line) => /^(iptables|modprobe)/.test(line));
      expect(rules).toEqual([
        // The kernel's TFTP helper watches port 69 only unless told the configured port.
        'modprobe nf_conntrack_tftp ports=10069',
        'iptables -t raw -A PREROUTING -i br0 -p udp --dport 10069 -j CT --helper tftp',
        'iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
        'iptables -A INPUT -i br0 -p udp --dport 10067 -j ACCEPT',
        'iptables -A INPUT -i br0 -p udp --dport 4011 -j ACCEPT',
        'iptables -A INPUT -i br0 -p udp --dport 10069 -j ACCEPT',
        'iptables -A INPUT -i br0 -p tcp --dport 18080 -j ACCEPT',
      ]);
    });
  });

  describe('init', () => {
    it('copies the boot loaders from a package tree, is idempotent, and names the package of what is missing', async () => {
      const usr = join(scratch, 'fake-root');
      for (const file of ['usr/lib/PXELINUX/pxelinux.0', 'usr/lib/syslinux/modules/bios/ldlinux.c32', 'usr/lib/ipxe/undionly.kpxe']) {
        mkdirSync(join(usr, file, '..'), { recursive: true });
        writeFileSync(join(usr, file), `contents of ${file}`);
      }
      const dir = join(scratch, 'tftpboot-init');
      const first = await run(['init', '--dir', dir, '--source-root', usr]);
      expect(first.code).toBe(4);
      expect(first.stdout).toMatch(/copied +pxelinux\.0 +from \/usr\/lib\/PXELINUX\/pxelinux\.0/);
      expect(first.stderr).toMatch(/missing +snponly\.efi +UEFI x64 iPXE .* install the Debian package ipxe/);
      expect(first.stderr).toMatch(/apt-get install -y pxelinux syslinux-common ipxe, then run netboot init again \(NETBOOT_ERR_INIT_MISSING\)/);
      expect(readFileSync(join(dir, 'undionly.kpxe'), 'utf8')).toBe('contents of usr/lib/ipxe/undionly.kpxe');

      const second = await run(['init', '--dir', dir, '--source-root', usr]);
      expect(second.stdout).toMatch(/up to date pxelinux\.0/);
      expect(second.stdout).not.toMatch(/copied/);

      writeFileSync(join(usr, 'usr/lib/ipxe/undionly.kpxe'), 'a newer build');
      const third = await run(['init', '--dir', dir, '--source-root', usr]);
      expect(third.stdout).toMatch(/updated +undionly\.kpxe/);
      expect(readFileSync(join(dir, 'undionly.kpxe'), 'utf8')).toBe('a newer build');
    });

    const installed = ['/usr/lib/PXELINUX/pxelinux.0', '/usr/lib/syslinux/modules/bios/ldlinux.c32', '/usr/lib/ipxe/snponly.efi'].every((file) => existsSync(file));
    it.skipIf(!installed)('with the Debian packages installed: every required loader copied, exit 0', async () => {
      const dir = join(scratch, 'tftpboot-real');
      const result = await run(['init', '--dir', dir]);
      expect(result.code, result.stderr).toBe(0);
      for (const name of ['pxelinux.0', 'lpxelinux.0', 'ldlinux.c32', 'libcom32.c32', 'libutil.c32', 'menu.c32', 'vesamenu.c32', 'undionly.kpxe', 'ipxe.efi', 'snponly.efi']) {
        expect(readFileSync(join(dir, name)).equals(readFileSync(result.stdout.match(new RegExp(`${name.replace('.', '\\.')} +from (\\S+)`))![1]!))).toBe(true);
      }
    });
  });

  describe('serve', () => {
    it('a config with errors: every error, nothing started, exit 1', async () => {
      const result = await run(['serve', '--config', 'test/fixtures/config/five-mistakes.yaml']);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(6);
      expect(result.stderr).toMatch(/5 errors; nothing was started \(NETBOOT_ERR_CONFIG_INVALID\)/);
    });

    it('a missing kernel is an error for serve, unless --allow-missing (which then goes on to bind)', async () => {
      const squatter = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => squatter.bind(0, '127.0.0.1', resolve));
      const taken = squatter.address().port;
      try {
        const path = writeConfig('serve-missing', [
          ['kernel: demo/vmlinuz\n    initrd: demo/initrd.img\n    cmdline: "console', 'kernel: demo/vmlinuz-9\n    initrd: demo/initrd.img\n    cmdline: "console'],
          ['mode: authoritative', 'mode: off'],
          ['tftp: { port: 10069,', `tftp: { port: ${taken},`],
          ['http: { port: 18080,', 'http: { enabled: false, port: 18080,'],
        ]);
        const strict = await run(['serve', '--config', path]);
        expect(strict.code).toBe(1);
        expect(strict.stderr).toMatch(/profiles\.grub-install\.kernel: demo\/vmlinuz-9 does not exist in the TFTP root/);

        // Past validation, the real TFTP service finds its port taken: one line, exit 3.
        const lenient = await run(['serve', '--config', path, '--allow-missing']);
        expect(lenient.code).toBe(3);
        // Warnings go to the log (stdout, journald); stderr has the one line that matters.
        expect(lenient.stdout).toMatch(/warning: demo\/vmlinuz-9 does not exist/);
        const lines = lenient.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines.at(-1)).toBe(`netboot: TFTP udp 127.0.0.1:${taken}: port ${taken} is already in use (stop the other server, e.g. \`ss -lunp 'sport = :${taken}'\` shows it, or change the port in the config) (NETBOOT_ERR_BIND_IN_USE)`);
      } finally {
        squatter.close();
      }
    });
  });
});
