import { afterEach, describe, expect, it } from 'vitest';
import { applyTimeouts, buildHttpApp, HEADERS_TIMEOUT_CAP_S, timeoutsFor } from '../../../src/http/app.js';
import { makeLab, type Lab } from './lab.js';

let lab: Lab;
afterEach(() => lab.cleanup());

describe('server timeouts', () => {
  it('come from http.requestTimeout / keepAliveTimeout, with the headers timeout capped', async () => {
    lab = makeLab();
    const { app } = buildHttpApp(lab.context);
    // Lab config: schema defaults 30 s request, 5 s keep-alive.
    expect(app.server.requestTimeout).toBe(30_000);
    expect(app.server.keepAliveTimeout).toBe(5_000);
    expect(app.server.headersTimeout).toBe(HEADERS_TIMEOUT_CAP_S * 1000);
    expect(app.server.timeout).toBeGreaterThan(0);

    const config = { ...lab.config, http: { ...lab.config.http, requestTimeoutS: 2, keepAliveTimeoutS: 65 } };
    applyTimeouts(app, timeoutsFor(config));
    expect(app.server.requestTimeout).toBe(2_000);
    // Node refuses a headers timeout longer than the request timeout.
    expect(app.server.headersTimeout).toBe(2_000);
    expect(app.server.keepAliveTimeout).toBe(65_000);
    await app.close();
  });
});
