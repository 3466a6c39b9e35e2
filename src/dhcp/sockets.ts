/**
 * The DHCP service's UDP sockets, behind one small interface that yields
 * packets with the socket they came in on and sends replies out of the right
 * one. The state machines never see a socket.
 *
 * One boot interface (the usual case): a wildcard socket on 0.0.0.0:67
 * receives broadcasts, and replies leave from a second socket bound to
 * server.address:67. Linux routes a limited broadcast (255.255.255.255) out
 * of the interface that owns the socket's source address, so a reply never
 * leaves by another interface; the bound socket also receives the unicast
 * renewals addressed to the server.
 *
 * Several interfaces, or strict isolation: let systemd open one socket per
 * boot interface with `BindToDevice=` (systemd/netboot-dhcp@.socket, named
 * `dhcp-<iface>` by `FileDescriptorName=`) and pass them in (LISTEN_FDS,
 * LISTEN_FDNAMES); each is adopted with `bind({ fd })`, and a reply always
 * leaves by the socket its request arrived on. Sockets named `pxe-*` are
 * adopted for proxy mode's port 4011. See docs/dhcp.md.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { bindError } from '../errors.js';
import { formatIpv4 } from '../net/ipv4.js';
import type { Destination } from './transmit.js';

/**
 * Room for a boot storm and for the moments the process is off the CPU: a
 * queued 300-byte datagram costs 1.2-2.3 KB of buffer (its skb), so 2 MiB
 * (the kernel doubles it) holds some 1,800-3,500 packets, 0.1-0.2 s at
 * 10,000 exchanges a second. With 1 MiB the benchmark saw the kernel drop
 * hundreds of packets a run at 8,000-10,000/s while netboot was off the CPU
 * for some tens of ms on a shared 2-core box. Not more: under sustained
 * overload a deeper queue only makes every answer late (a 4 MiB setting
 * once turned a 2× overload into every answer arriving after perfdhcp's 1 s
 * timeout), where a full queue drops and the client's retry finds room.
 * The kernel caps it at net.core.rmem_max (often 208 KiB: see docs/dhcp.md).
 */
export const DHCP_RECEIVE_BUFFER_BYTES = 2 * 1024 * 1024;

/** A socket replies can be sent through. */
export interface ReplyPath {
  readonly label: string;
  /** Sends; `onError` hears a failed send (no promise per packet on the hot path). */
  send(data: Buffer, destination: Destination, onError: (error: Error) => void): void;
}

export type MessageHandler = (data: Buffer, source: RemoteInfo, replyPath: ReplyPath) => void;

export interface SocketSpec {
  /** For messages: "DHCP", "proxyDHCP boot server". */
  what: string;
  listenAddress: string;
  port: number;
  /** Replies leave from a socket bound here (ignored when listenAddress is already specific). */
  sendAddress: string | null;
  /** LISTEN_FDNAMES prefix of systemd sockets to adopt instead of binding. */
  systemdName: string;
}

export interface SocketSet {
  describe(): string;
  close(): Promise<void>;
}

/** Sockets passed by systemd (sd_listen_fds(3)): fd number by name, only when meant for this process. */
export function systemdSockets(prefix: string, env: NodeJS.ProcessEnv = process.env): { fd: number; name: string }[] {
  if (env.LISTEN_PID === undefined || Number(env.LISTEN_PID) !== process.pid) return [];
  const count = Number(env.LISTEN_FDS ?? 0);
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  const sockets: { fd: number; name: string }[] = [];
  for (let index = 0; index < count; index++) {
    const name = names[index] ?? '';
    if (name === prefix || name.startsWith(`${prefix}-`)) sockets.push({ fd: 3 + index, name });
  }
  return sockets;
}

function makeReplyPath(socket: Socket, label: string): ReplyPath {
  // Replies go to few addresses (the relays, the broadcast address): their text is kept, not rebuilt per reply.
  let lastAddress = -1;
  let lastText = '';
  return {
    label,
    send: (data, destination, onError) => {
      if (destination.address !== lastAddress) {
        lastAddress = destination.address;
        lastText = formatIpv4(destination.address);
      }
      socket.send(data, destination.port, lastText, (error) => {
        if (error) onError(error);
      });
    },
  };
}

/**
 * dgram's address lookup for sockets that only ever send to IPv4 literals:
 * answers at once, where the default (dns.lookup) answers a literal on the
 * next tick, one more callback per reply.
 */
function literalLookup(address: string, _family: unknown, callback: (error: Error | null, address: string, family: number) => void): void {
  callback(null, address, 4);
}

/**
 * The wildcard and the reply socket share the port, which needs SO_REUSEADDR
 * on both; but SO_REUSEADDR would also let a second server (another netboot,
 * a forgotten dnsmasq that sets it too) share the port silently. So the port
 * is first probed without it: taken means a clear NETBOOT_ERR_BIND_IN_USE.
 */
async function probeFree(address: string, port: number, what: string): Promise<void> {
  const probe = createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) => reject(bindError(error, what, port)));
    probe.bind({ address, port, exclusive: true }, () => resolve());
  }).finally(() => {
    try { probe.close(); } catch { /* never bound */ }
  });
}

async function bindSocket(options: { address?: string; port?: number; fd?: number }, what: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: DHCP_RECEIVE_BUFFER_BYTES, lookup: literalLookup as never });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(bindError(error, what, port));
    socket.once('error', onError);
    socket.bind(options.fd !== undefined ? { fd: options.fd } : { address: options.address, port: options.port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  socket.setBroadcast(true);
  try {
    socket.setRecvBufferSize(DHCP_RECEIVE_BUFFER_BYTES);
  } catch { /* capped by the kernel; the default still works */ }
  return socket;
}

/**
 * Opens the sockets for one port and feeds `onMessage`. `onSocketError` hears
 * run-time socket errors (the service reports them; it does not crash).
 */
export async function openSockets(spec: SocketSpec, onMessage: MessageHandler, onSocketError: (error: Error) => void): Promise<SocketSet> {
  const sockets: Socket[] = [];
  const labels: string[] = [];
  const listen = (socket: Socket, path: ReplyPath): void => {
    socket.on('message', (data, source) => onMessage(data, source, path));
    socket.on('error', onSocketError);
  };
  try {
    const adopted = systemdSockets(spec.systemdName);
    if (adopted.length > 0) {
      for (const { fd, name } of adopted) {
        const socket = await bindSocket({ fd }, `${spec.what} (systemd socket ${name})`, spec.port);
        sockets.push(socket);
        labels.push(`udp fd ${fd} (${name})`);
        listen(socket, makeReplyPath(socket, name));
      }
    } else {
      const separateSender = spec.listenAddress === '0.0.0.0' && spec.sendAddress !== null && spec.sendAddress !== '0.0.0.0';
      await probeFree(spec.listenAddress, spec.port, `${spec.what} udp ${spec.listenAddress}:${spec.port}`);
      if (separateSender) await probeFree(spec.sendAddress!, spec.port, `${spec.what} udp ${spec.sendAddress}:${spec.port} (reply socket)`);
      const receiver = await bindSocket({ address: spec.listenAddress, port: spec.port }, `${spec.what} udp ${spec.listenAddress}:${spec.port}`, spec.port);
      sockets.push(receiver);
      labels.push(`udp ${spec.listenAddress}:${spec.port}`);
      let sender = receiver;
      if (separateSender) {
        sender = await bindSocket({ address: spec.sendAddress!, port: spec.port }, `${spec.what} udp ${spec.sendAddress}:${spec.port} (reply socket)`, spec.port);
        sockets.push(sender);
        labels.push(`replies from ${spec.sendAddress}:${spec.port}`);
      }
      const path = makeReplyPath(sender, `${spec.sendAddress ?? spec.listenAddress}:${spec.port}`);
      listen(receiver, path);
      if (sender !== receiver) listen(sender, path);
    }
  } catch (error) {
    for (const socket of sockets) socket.close();
    throw error;
  }
  return {
    describe: () => labels.join(', '),
    close: async () => {
      await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      })));
    },
  };
}
