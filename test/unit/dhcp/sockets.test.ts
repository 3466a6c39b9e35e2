import { describe, expect, it } from 'vitest';
import { systemdSockets } from '../../../src/dhcp/sockets.js';

describe('systemd socket adoption (sd_listen_fds(3))', () => {
  const env = (names: string, pid = process.pid) => ({ LISTEN_PID: String(pid), LISTEN_FDS: String(names.split(':').length), LISTEN_FDNAMES: names });

  it('adopts the sockets named dhcp or dhcp-<iface>, numbering fds from 3', () => {
    expect(systemdSockets('dhcp', env('tftp:dhcp-br0:dhcp-br1:http'))).toEqual([{ fd: 4, name: 'dhcp-br0' }, { fd: 5, name: 'dhcp-br1' }]);
    expect(systemdSockets('dhcp', env('dhcp'))).toEqual([{ fd: 3, name: 'dhcp' }]);
    expect(systemdSockets('pxe', env('dhcp-br0:pxe-br0'))).toEqual([{ fd: 4, name: 'pxe-br0' }]);
  });

  it('ignores sockets meant for another process, and names that only start alike', () => {
    expect(systemdSockets('dhcp', env('dhcp-br0', process.pid + 1))).toEqual([]);
    expect(systemdSockets('dhcp', env('dhcpv6'))).toEqual([]);
    expect(systemdSockets('dhcp', {})).toEqual([]);
  });
});
