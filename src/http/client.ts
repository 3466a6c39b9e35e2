/** Who is asking: the client's IPv4 address and, when DHCP or the config knows it, its MAC and host. */
import type { Config, HostConfig } from '../config/types.js';
import { parseIpv4 } from '../net/ipv4.js';
import type { ServiceContext } from '../supervisor/service.js';

/** `::ffff:10.0.0.5` (a dual-stack socket) → `10.0.0.5`. */
export function clientAddressText(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
}

/** The MAC behind an address: a lease, else a reservation in the config. */
export function macForClient(context: ServiceContext, config: Config, ipText: string): string | null {
  const address = parseIpv4(clientAddressText(ipText));
  if (address === null) return null;
  const leased = context.leases().macForAddress(address);
  if (leased !== null) return leased;
  return config.hosts.find((host) => host.ip === address)?.mac ?? null;
}

/** The addresses a host may call from: its reservation and its current lease. */
export function hostAddresses(context: ServiceContext, host: HostConfig): number[] {
  const addresses: number[] = [];
  if (host.ip !== null) addresses.push(host.ip);
  const leased = context.leases().addressForMac(host.mac);
  if (leased !== null && !addresses.includes(leased)) addresses.push(leased);
  return addresses;
}
