/**
 * A misbehaving UDP network on loopback for reliability tests: a proxy that
 * drops, duplicates and reorders datagrams in each direction. It learns the
 * server's transfer ports (TIDs) as they answer: each server-side socket the
 * client talks to is mirrored by a proxy socket, so a TFTP client pointed at
 * the proxy sees one consistent peer per server TID.
 *
 *   client ──▶ listen port ──▶ target (e.g. TFTP port 69)
 *   client ◀── mirror port ◀── server TID port
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface Impairment {
  /** Probability a datagram is dropped. */
  drop: number;
  /** Probability a datagram is sent twice. */
  duplicate: number;
  /** Probability a datagram is held back and sent after the next one (or after `reorderDelayMs`). */
  reorder: number;
  reorderDelayMs?: number;
  /** Datagrams that pass untouched (e.g. to spare a client that cannot survive losing one particular packet). */
  spare?: (datagram: Buffer) => boolean;
}

export const NO_IMPAIRMENT: Impairment = { drop: 0, duplicate: 0, reorder: 0 };

export interface ProxyStats {
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

export interface UdpProxy {
  /** Where clients send their first packet. */
  readonly port: number;
  readonly toServer: ProxyStats;
  readonly toClient: ProxyStats;
  close(): Promise<void>;
}

/** Deterministic when `seed` is given (mulberry32), so a failing run can be replayed. */
function random(seed: number | undefined): () => number {
  if (seed === undefined) return Math.random;
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bind(socket: Socket, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

class Impaired {
  readonly stats: ProxyStats = { forwarded: 0, dropped: 0, duplicated: 0, reordered: 0 };
  private held: { send: () => void; timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly impairment: Impairment,
    private readonly rand: () => number,
  ) {}

  pass(datagram: Buffer, send: () => void): void {
    const { drop, duplicate, reorder, reorderDelayMs = 20, spare } = this.impairment;
    if (spare?.(datagram)) {
      send();
      this.stats.forwarded++;
      return;
    }
    if (this.rand() < drop) {
      this.stats.dropped++;
      return;
    }
    const twice = this.rand() < duplicate;
    if (this.held === null && this.rand() < reorder) {
      this.stats.reordered++;
      const timer = setTimeout(() => this.release(), reorderDelayMs);
      this.held = { send: twice ? () => { send(); send(); } : send, timer };
      if (twice) this.stats.duplicated++;
      return;
    }
    send();
    this.stats.forwarded++;
    if (twice) {
      send();
      this.stats.duplicated++;
    }
    this.release();
  }

  release(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    clearTimeout(held.timer);
    held.send();
    this.stats.forwarded++;
  }
}

export async function startUdpProxy(options: {
  target: { address: string; port: number };
  address?: string;
  toServer?: Impairment;
  toClient?: Impairment;
  seed?: number;
}): Promise<UdpProxy> {
  const address = options.address ?? '127.0.0.1';
  const rand = random(options.seed);
  const upstream = new Impaired(options.toServer ?? NO_IMPAIRMENT, rand);
  const downstream = new Impaired(options.toClient ?? NO_IMPAIRMENT, rand);
  const front = createSocket('udp4');
  await bind(front, address);
  /** One socket per (client, server TID): it faces the server for that client, and the client sees replies come from it. */
  const sessions = new Map<string, { toServer: Socket; client: RemoteInfo }>();
  const mirrors = new Map<string, Socket>(); // server TID port (+client) → socket the client sees as that TID
  const sockets: Socket[] = [front];

  async function sessionFor(client: RemoteInfo): Promise<Socket> {
    const key = `${client.address}:${client.port}`;
    const existing = sessions.get(key);
    if (existing) return existing.toServer;
    const toServer = createSocket('udp4');
    sockets.push(toServer);
    sessions.set(key, { toServer, client });
    await bind(toServer, address);
    // Replies from the server (any TID) go back to this client through a mirror socket per TID.
    toServer.on('message', (msg, server) => {
      void mirrorFor(client, server).then((mirror) => downstream.pass(msg, () => mirror.send(msg, client.port, client.address)));
    });
    return toServer;
  }

  const pendingMirrors = new Map<string, Promise<Socket>>();
  function mirrorFor(client: RemoteInfo, server: RemoteInfo): Promise<Socket> {
    const key = `${client.address}:${client.port}>${server.port}`;
    const ready = mirrors.get(key);
    if (ready) return Promise.resolve(ready);
    let pending = pendingMirrors.get(key);
    if (!pending) {
      pending = (async () => {
        const mirror = createSocket('udp4');
        sockets.push(mirror);
        await bind(mirror, address);
        mirror.on('message', (msg, from) => {
          void sessionFor(from).then((toServer) => upstream.pass(msg, () => toServer.send(msg, server.port, server.address)));
        });
        mirrors.set(key, mirror);
        return mirror;
      })();
      pendingMirrors.set(key, pending);
    }
    return pending;
  }

  front.on('message', (msg, client) => {
    void sessionFor(client).then((toServer) => upstream.pass(msg, () => toServer.send(msg, options.target.port, options.target.address)));
  });

  return {
    port: front.address().port,
    toServer: upstream.stats,
    toClient: downstream.stats,
    close: async () => {
      upstream.release();
      downstream.release();
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
