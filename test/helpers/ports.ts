/** Ports free on 127.0.0.1 right now: bound on port 0, read, released (for tests that start a server on them). */
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';

export async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  if (kind === 'udp') {
    const socket = createSocket('udp4');
    await new Promise<void>((done) => socket.bind(0, '127.0.0.1', () => done()));
    const { port } = socket.address();
    await new Promise<void>((done) => socket.close(() => done()));
    return port;
  }
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}
