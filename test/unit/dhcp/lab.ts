/** The config and a server fixture for the state machine tests. */
import { testConfig } from '../../helpers/service-context.js';
import type { Config } from '../../../src/config/types.js';
import { IpxeHandoutMemory } from '../../../src/dhcp/ipxe-memory.js';
import { LeaseTable } from '../../../src/dhcp/leases/lease-table.js';
import { DhcpServer } from '../../../src/dhcp/server.js';
import type { DhcpPacket } from '../../../src/dhcp/codec/packet.js';
import type { Exchange } from '../../../src/dhcp/exchange.js';
import { ip } from './helpers.js';

export const LAB_YAML = `
server: { address: 10.71.0.1 }
dhcp:
  mode: authoritative
  subnet: 10.71.0.0/24
  pool: 10.71.0.100-10.71.0.103
  router: 10.71.0.1
  dns: [10.71.0.1]
  domain: lab.test
  leaseTime: 1h
  offerHold: 30s
  declineHold: 10m
  subnets:
    - { subnet: 10.72.0.0/24, pool: 10.72.0.10-10.72.0.11, router: 10.72.0.1 }
tftp: { enabled: false }
http: { port: 8080 }
bootloaders:
  ipxe: { bios: undionly.kpxe, uefi-x64: snponly.efi, uefi-arm64: snponly-arm64.efi }
  pxelinux: { bios: pxelinux.0 }
profiles:
  inst: { loader: ipxe, kernel: k, initrd: i, cmdline: "x" }
  px: { loader: pxelinux, kernel: k }
  local: { localboot: true }
hosts:
  - { name: node01, mac: "52-54-00-AA-00-01", ip: 10.71.0.50, profile: inst }
  - { name: node02, mac: "525400AA0002", profile: px }
  - { name: node03, mac: "52:54:00:aa:00:03", ip: 10.71.0.102, profile: inst }
defaultProfile: local
`;

export function labConfig(yaml = LAB_YAML): Config {
  return testConfig(yaml);
}

export class Lab {
  now = 1_800_000_000_000;
  readonly config: Config;
  readonly table: LeaseTable;
  readonly memory = new IpxeHandoutMemory(() => this.now);
  readonly server: DhcpServer;

  constructor(yaml = LAB_YAML) {
    this.config = labConfig(yaml);
    const reservations = new Map<number, string>();
    for (const host of this.config.hosts) if (host.ip !== null) reservations.set(host.ip, host.mac);
    this.table = new LeaseTable(this.config.dhcp.subnets, reservations, [this.config.server.address]);
    this.server = new DhcpServer(() => this.config, this.table, this.memory.wrap({ isOnceDone: () => false }));
  }

  handle(packet: DhcpPacket, ifaceAddress = ip('10.71.0.1')): Exchange {
    const exchange = this.server.handle({ packet, ifaceAddress, now: this.now });
    if (exchange.handed) this.memory.note(exchange.handed, exchange.handedXid ?? null);
    return exchange;
  }

  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}
