/** Who is asking: the client's IPv4 address and, when DHCP or the config knows it, its MAC and host. */
import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Config, HostConfig } from '../config/types.js';
import { parseIpv4 } from '../net/ipv4.js';
import type { ServiceContext } from '../supervisor/service.js';

/** Shown in logs and events when the peer's address cannot be known (the socket was gone before anyone asked). */
export const UNKNOWN_CLIENT_ADDRESS = 'unknown';

/** `::ffff:10.0.0.5` (a dual-stack socket) → `10.0.0.5`; no address → `unknown`. */
export function clientAddressText(ip: string | undefined | null): string {
  if (typeof ip !== 'string' || ip === '') return UNKNOWN_CLIENT_ADDRESS;
  return ip.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
}

/**
 * Longest client-sent text (a URL path) kept in an event or a log line. The
 * event ring holds 5,000 entries for hours: at up to 16 KiB per URL (Node's
 * header limit), stored twice per refusal, a scan filled it with 77 MiB
 * (fuzz run, gap 9 of RELIABILITY.md). Real installer paths are well under this.
 */
export const CLIENT_TEXT_MAX_CHARS = 256;

/**
 * Client-sent text fit to keep: at most `maxChars` (with the original length
 * said), and always a fresh copy. V8 makes a slice or a split piece of a long
 * string (`url.split('?')[0]`) a view that keeps the whole parent alive, so a
 * 15-character path cut from a 16 KiB URL would still pin 16 KiB.
 */
export function clientText(text: string, maxChars = CLIENT_TEXT_MAX_CHARS): string {
  const kept = text.length <= maxChars ? text : `${text.slice(0, maxChars)}… (${text.length} chars)`;
  return Buffer.from(kept, 'utf8').toString('utf8');
}

/** Peer addresses read while their socket was connected; weak, so a closed connection's entry goes with it. */
const peerAddresses = new WeakMap<Socket, string>();

/**
 * Reads the peer address while the socket is connected (call it from the
 * server's 'connection' event). Node asks the kernel lazily (getpeername),
 * so a client that sends a request and closes at once leaves a socket whose
 * `remoteAddress`, and so fastify's `request.ip`, is undefined by the time a
 * route that awaited the disk refuses it (fuzz run: 675 refusals lost their
 * address that way, each logged as "HTTP request failed").
 */
export function rememberPeerAddress(socket: Socket): void {
  const address = socket.remoteAddress;
  if (address !== undefined) peerAddresses.set(socket, address);
}

/** The client's address for logs, events and policy: never throws, `unknown` when the socket is already gone. */
export function requestClientAddress(request: FastifyRequest): string {
  let ip: string | undefined;
  try {
    const socket = request.socket as Socket | undefined;
    ip = request.ip ?? (socket === undefined ? undefined : peerAddresses.get(socket) ?? socket.remoteAddress);
  } catch {
    ip = undefined;
  }
  return clientAddressText(ip);
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
