/**
 * The shipped systemd units say what docs/cli.md promises: notify readiness
 * from a child (NotifyAccess=all), reload by SIGHUP after a check, a
 * dedicated user with only the capabilities to bind low ports, and a
 * read-only system. `systemd-analyze verify` checks the syntax where it exists.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hasProgram } from '../helpers/netns.js';

const systemd = fileURLToPath(new URL('../../systemd/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), `netboot-units-${process.pid}-`));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `Key=value` lines of a unit, in order, repeated keys kept. */
function directives(file: string): [string, string][] {
  return readFileSync(join(systemd, file), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Za-z]+=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
}

describe('systemd units', () => {
  const service = directives('netboot.service');
  const get = (key: string) => service.filter(([name]) => name === key).map(([, value]) => value);

  it('netboot.service: Type=notify with NotifyAccess=all, reload by check then SIGHUP', () => {
    expect(get('Type')).toEqual(['notify']);
    expect(get('NotifyAccess')).toEqual(['all']);
    expect(get('ExecStart')[0]).toMatch(/netboot serve --config \/etc\/netboot\/netboot\.yaml$/);
    expect(get('ExecReload')).toEqual([expect.stringMatching(/netboot check --config /), '/bin/kill -HUP $MAINPID']);
  });

  it('netboot.service: dedicated user, low ports by capability, state directory, sandbox', () => {
    expect(get('User')).toEqual(['netboot']);
    expect(get('AmbientCapabilities')).toEqual(['CAP_NET_BIND_SERVICE CAP_NET_RAW']);
    expect(get('CapabilityBoundingSet')).toEqual(['CAP_NET_BIND_SERVICE CAP_NET_RAW']);
    expect(get('StateDirectory')).toEqual(['netboot']);
    expect(get('ReadWritePaths')).toEqual(['/var/lib/netboot']);
    for (const [key, value] of [['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['NoNewPrivileges', 'yes'], ['PrivateTmp', 'yes']]) expect(get(key!)).toEqual([value]);
    expect(get('RestrictAddressFamilies')[0]).toContain('AF_UNIX'); // the notify socket
    expect(get('MemoryDenyWriteExecute')).toEqual([]); // Node's JIT
  });

  it('netboot-dhcp@.socket: one DHCP socket per interface, named for the DHCP service to adopt', () => {
    const socket = Object.fromEntries(directives('netboot-dhcp@.socket'));
    expect(socket).toMatchObject({ ListenDatagram: '0.0.0.0:67', BindToDevice: '%i', Broadcast: 'yes', FileDescriptorName: 'dhcp-%i', Service: 'netboot.service' });
  });

  it('sysusers and tmpfiles snippets create the user and the folders the unit uses', () => {
    expect(readFileSync(join(systemd, 'netboot.sysusers.conf'), 'utf8')).toMatch(/^u netboot - /m);
    expect(readFileSync(join(systemd, 'netboot.tmpfiles.conf'), 'utf8')).toMatch(/^d \/var\/lib\/netboot +0700 netboot netboot/m);
  });

  it.skipIf(!hasProgram('systemd-analyze'))('systemd-analyze verify finds nothing wrong (with the command path pointed at an existing program)', () => {
    const unit = join(scratch, 'netboot.service');
    writeFileSync(unit, readFileSync(join(systemd, 'netboot.service'), 'utf8').replaceAll('/usr/local/bin/netboot', '/bin/true'));
    let output = '';
    try {
      output = execFileSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      output = `${(error as { stdout?: string }).stdout ?? ''}${(error as { stderr?: string }).stderr ?? ''}`;
    }
    expect(output.trim()).toBe('');
  });
});
