/**
 * UDP sockets for TFTP: the request socket and, per transfer, a socket of
 * its own (the TID) connected to the client plus an unconnected twin on the
 * same port that answers strangers. Used on the main thread and in workers.
 */
import { createSocket, type Socket } from 'node:dgram';

/** Numeric-address lookup that answers at once: dgram's default defers every send to the next tick. */
function numericLookup(address: string, _family: unknown, callback: (error: Error | null, address: string, family: number) => void): void {
  callback(null, address, 4);
}

export function newUdpSocket(reuseAddr = false): Socket {
  return createSocket({ type: 'udp4', lookup: numericLookup as never, reuseAddr });
}

export function bindSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      socket.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      socket.off('error', onError);
      resolve();
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ port, address, exclusive: true });
  });
}

function connectSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function closeQuietly(socket: Socket | null): void {
  try {
    socket?.close();
  } catch {
    // already closed
  }
}

export interface TransferSockets {
  /** Connected to the client: the kernel delivers only the client's datagrams here, and sends skip the route lookup. */
  socket: Socket;
  /** Same port, unconnected: receives only strangers' datagrams (answered with ERROR 5). Null if it could not be bound. */
  strangerSocket: Socket | null;
}

export interface TransferPortChoice {
  bindAddress: string;
  /** null: an ephemeral port. */
  portRange: { first: number; last: number } | null;
  /** Where in the range to start looking. */
  rangeStart: number;
}

/**
 * Binds a transfer port: ephemeral, or the first free one in the range from
 * `rangeStart`. SO_REUSEADDR throughout, so the stranger twin can share the
 * port; two transfers may then share a range port too, and their connected
 * sockets keep the clients apart. A port another program holds without
 * SO_REUSEADDR fails with EADDRINUSE and is skipped.
 */
async function bindTransferPort(choice: TransferPortChoice): Promise<Socket> {
  const range = choice.portRange;
  if (range === null) {
    const socket = newUdpSocket(true);
    try {
      await bindSocket(socket, 0, choice.bindAddress);
    } catch (error) {
      closeQuietly(socket);
      throw error;
    }
    return socket;
  }
  const count = range.last - range.first + 1;
  let lastError: unknown = new Error('port range exhausted');
  for (let i = 0; i < count; i++) {
    const port = range.first + ((choice.rangeStart + i) % count);
    const socket = newUdpSocket(true);
    try {
      await bindSocket(socket, port, choice.bindAddress);
      return socket;
    } catch (error) {
      closeQuietly(socket);
      lastError = error;
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw lastError;
}

export async function openTransferSockets(choice: TransferPortChoice, client: { address: string; port: number }): Promise<TransferSockets> {
  const socket = await bindTransferPort(choice);
  const { address, port } = socket.address();
  let strangerSocket: Socket | null = newUdpSocket(true);
  try {
    await bindSocket(strangerSocket, port, address);
  } catch {
    closeQuietly(strangerSocket);
    strangerSocket = null;
  }
  try {
    await connectSocket(socket, client.port, client.address);
  } catch (error) {
    closeQuietly(socket);
    closeQuietly(strangerSocket);
    throw error;
  }
  return { socket, strangerSocket };
}
