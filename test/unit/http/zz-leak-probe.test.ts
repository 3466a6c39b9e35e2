import { connect } from 'node:net';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { it } from 'vitest';
import { buildHttpApp } from '../../../src/http/app.js';
import { httpAttacks, nextHttpFuzzRequest } from '../../../src/tools/fuzz/http-attacks.js';
import { Rng } from '../../../src/tools/fuzz/rng.js';
import { makeLab } from './lab.js';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = () => { gc(); gc(); const m = process.memoryUsage(); return `heap ${(m.heapUsed / 1048576).toFixed(1)} ext ${(m.external / 1048576).toFixed(1)} ab ${(m.arrayBuffers / 1048576).toFixed(1)} rss ${(m.rss / 1048576).toFixed(1)}`; };
it('probe', async () => {
  const lab = makeLab();
  const { app } = buildHttpApp(lab.context);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as any).port;
  const send = (bytes: Buffer) => new Promise<void>((resolve) => { const s = connect({ host: '127.0.0.1', port }); const t = setTimeout(() => s.destroy(), 5000);
    s.on('data', () => {}); s.on('error', () => {}); s.on('close', () => { clearTimeout(t); resolve(); }); s.on('connect', () => s.end(bytes)); });
  const rng = new Rng(20261127);
  const attacks = httpAttacks({ host: `127.0.0.1:${port}`, tree: 'debian12', treeFile: 'dists/Release', tftpFile: 'demo/vmlinuz', hostName: 'node01' });
  const phase = async (n: number) => { let sent = 0; await Promise.all(Array.from({ length: 16 }, async () => { while (sent < n) { sent++; await send(nextHttpFuzzRequest(rng, attacks).bytes); } })); };
  await phase(3000);
  console.log('warm', heap(), 'conns', await new Promise((r) => app.server.getConnections((_e, c) => r(c))));
  writeHeapSnapshot('/tmp/probe/a.heapsnapshot');
  for (let i = 0; i < 2; i++) { await phase(5000); console.log('after', (i + 1) * 5000, heap(), 'events', lab.events.list().length, 'log MiB', (lab.logText().length / 1048576).toFixed(1), 'conns', await new Promise((r) => app.server.getConnections((_e, c) => r(c)))); }
  gc(); gc(); writeHeapSnapshot('/tmp/probe/b.heapsnapshot');
  console.log('transfers', JSON.stringify((lab.transfers as any).list?.().length), 'metrics lines', lab.metrics.render().split('\n').length);
  await app.close(); lab.cleanup();
}, 300000);
