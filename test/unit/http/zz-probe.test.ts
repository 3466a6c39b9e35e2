import { connect } from 'node:net';
import { it } from 'vitest';
import { buildHttpApp, applyTimeouts, timeoutsFor } from '../../../src/http/app.js';
import { makeLab } from './lab.js';
it('probe', async () => {
  const lab = makeLab();
  const { app } = buildHttpApp(lab.context);
  const config = { ...lab.config, http: { ...lab.config.http, requestTimeoutS: 2 } };
  await app.listen({ host: '127.0.0.1', port: 0 });
  applyTimeouts(app, timeoutsFor(config));
  console.log('timeouts', app.server.headersTimeout, app.server.requestTimeout, app.server.timeout);
  const port = (app.server.address() as any).port;
  const t0 = Date.now();
  await new Promise<void>((done) => {
    const s = connect(port, '127.0.0.1');
    s.on('data', (d) => console.log('data', String(d).split('\r\n')[0]));
    s.on('close', () => { console.log('closed after', Date.now() - t0); done(); });
    setTimeout(() => { console.log('still open at 8s'); s.destroy(); }, 8000);
  });
  await app.close(); lab.cleanup();
}, 20000);
