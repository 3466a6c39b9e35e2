// A `netboot serve` with fake services, run as a real child process by
// supervisor.test.ts (signals, exit codes and restarts need a real process).
// Imports the built code in dist/. The fakes bind real sockets on 127.0.0.1
// (TFTP: UDP echo, HTTP: a small control API); the fake DHCP binds nothing.
import dgram from 'node:dgram';
import http from 'node:http';
import { bindError } from '../../dist/errors.js';
import { installProcessHandlers, serve } from '../../dist/supervisor/run.js';

const [configPath] = process.argv.slice(2);
const failRestarts = Number(process.env.FAKE_TFTP_FAIL_RESTARTS ?? 0);
const counts = { tftp: 0, http: 0, dhcp: 0 };
const hooks = {};

function fakeTftp(context) {
  const instance = ++counts.tftp;
  let socket = null;
  return {
    name: 'tftp',
    async start() {
      // Instances 2..1+failRestarts fail to start: the supervisor must keep backing off and retrying.
      if (instance > 1 && instance <= 1 + failRestarts) throw new Error(`fake tftp start failure ${instance}`);
      const { listenAddress, port } = context.config().tftp;
      socket = dgram.createSocket('udp4');
      await new Promise((resolve, reject) => {
        socket.once('error', (error) => reject(bindError(error, `TFTP udp ${listenAddress}:${port}`, port)));
        socket.bind(port, listenAddress, () => resolve());
      });
      socket.on('message', (message, peer) => {
        try {
          if (message.toString() === 'throw') throw new Error('tftp handler exploded');
          socket.send(`pong ${instance}`, peer.port, peer.address);
        } catch (error) {
          context.fail(error);
        }
      });
    },
    async stop() {
      await new Promise((resolve) => (socket ? socket.close(() => resolve()) : resolve()));
      socket = null;
    },
    async reload() {},
    describe() {
      const { listenAddress, port } = context.config().tftp;
      return `udp ${listenAddress}:${port}`;
    },
    status: () => ({ instance }),
  };
}

function fakeHttp(context) {
  const instance = ++counts.http;
  const server = http.createServer((request, response) => {
    const config = context.config();
    if (request.url === '/config') {
      response.end(JSON.stringify({ sha256: config.source.sha256, hosts: config.hosts.map((host) => host.name), instance, reloads: hooks.httpReloads ?? 0 }));
    } else if (request.url === '/status') {
      response.end(JSON.stringify(context.services()));
    } else if (request.url === '/slow') {
      response.write('started\n'); // and never ends until the drain is over
    } else if (request.url === '/uncaught') {
      setTimeout(() => {
        throw new Error('a bug nobody caught');
      }, 10);
      response.end('ok');
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  let inflight = 0;
  server.on('request', (_request, response) => {
    inflight++;
    response.on('close', () => inflight--);
  });
  return {
    name: 'http',
    async start() {
      const { listenAddress, port } = context.config().http;
      await new Promise((resolve, reject) => {
        server.once('error', (error) => reject(bindError(error, `HTTP tcp ${listenAddress}:${port}`, port)));
        server.listen(port, listenAddress, () => resolve());
      });
    },
    async stop(drainMs) {
      server.close();
      server.closeIdleConnections();
      // Requests in flight get up to drainMs, then their connections are cut.
      const deadline = Date.now() + drainMs;
      const hadInflight = inflight;
      while (inflight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      server.closeAllConnections();
      context.log.info({ drainMs, inflight: hadInflight }, 'fake http drained');
    },
    async reload() {
      hooks.httpReloads = (hooks.httpReloads ?? 0) + 1;
    },
    describe() {
      const { listenAddress, port } = context.config().http;
      return `tcp ${listenAddress}:${port}`;
    },
    status: () => ({ instance }),
  };
}

function fakeDhcp(context) {
  const instance = ++counts.dhcp;
  return {
    name: 'dhcp',
    async start() {},
    async stop() {},
    async reload() {},
    describe: () => `fake dhcp ${context.config().dhcp.mode} (no sockets)`,
    status: () => ({ instance }),
  };
}

const started = await serve({
  configPath,
  allowMissing: true,
  factories: { tftp: fakeTftp, http: fakeHttp, dhcp: fakeDhcp },
  backoff: { initialMs: 100, maxMs: 400, resetAfterMs: 60_000 },
  prettyLogs: false,
});
if (typeof started === 'number') process.exitCode = started;
else installProcessHandlers(started);
