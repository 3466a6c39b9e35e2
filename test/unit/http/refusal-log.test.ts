import { describe, expect, it } from 'vitest';
import { createHttpApp } from '../../../src/http/app.js';
import { RATE_LIMIT_DETAILED_MAX } from '../../../src/log/rate-limited-warnings.js';
import { makeLab } from './lab.js';

interface LogLine { level: number; msg: string; ip?: string; reason?: string; count?: number; byReason?: Record<string, number>; clients?: number | string; target?: string }

const WARN = 40;
const DEBUG = 20;

describe('refused HTTP file requests in the log', () => {
  it('one warn line per client and reason per interval, debug lines for the rest, a summary with counts, every refusal counted', async () => {
    const lab = makeLab();
    const app = createHttpApp(lab.context);
    await app.ready();
    // 100 refusals of one kind from one client, and one of other kinds from it and from another client.
    for (let i = 0; i < 100; i++) await app.inject({ url: `/tftp/.hidden-${i}`, remoteAddress: '127.0.10.11' });
    await app.inject({ url: '/tftp/demo%2f..%2f..%2flab.yaml', remoteAddress: '127.0.10.11' });
    await app.inject({ url: '/tftp/escape/passwd', remoteAddress: '127.0.10.11' });
    await app.inject({ url: '/tftp/.hidden', remoteAddress: '127.0.10.12' });
    await app.close(); // writes the pending summary
    const lines = lab.logText().split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogLine);
    const detailed = lines.filter((line) => line.level === WARN && line.msg === 'HTTP file request refused');
    expect(detailed.map((line) => `${line.ip} ${line.reason}`).sort()).toEqual(['127.0.10.11 dotfile', '127.0.10.11 encoded-separator', '127.0.10.11 symlink-out', '127.0.10.12 dotfile']);
    // Out of the root: still logged with the client's address, and the target in the log (not in the event).
    expect(detailed.find((line) => line.reason === 'symlink-out')?.target).toMatch(/passwd|outside/);
    expect(lines.filter((line) => line.level === DEBUG && line.msg === 'HTTP file request refused')).toHaveLength(99);
    const summaries = lines.filter((line) => line.level === WARN && /interval summary/.test(line.msg));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ count: 99, byReason: { dotfile: 99 }, clients: 1 });
    expect(lab.context.metrics.render()).toMatch(/netboot_http_refused_total\{reason="dotfile"\} 101/);
    lab.cleanup();
  });

  it(`caps the detailed lines at ${RATE_LIMIT_DETAILED_MAX} per interval however many clients refuse`, async () => {
    const lab = makeLab();
    const app = createHttpApp(lab.context);
    await app.ready();
    for (let i = 0; i < 3 * RATE_LIMIT_DETAILED_MAX; i++) await app.inject({ url: '/tftp/.git/config', remoteAddress: `127.0.20.${i + 1}` });
    await app.close();
    const lines = lab.logText().split('\n').filter(Boolean).map((line) => JSON.parse(line) as LogLine);
    expect(lines.filter((line) => line.level === WARN && line.msg === 'HTTP file request refused')).toHaveLength(RATE_LIMIT_DETAILED_MAX);
    expect(lines.find((line) => /interval summary/.test(line.msg))).toMatchObject({ count: 2 * RATE_LIMIT_DETAILED_MAX, clients: 2 * RATE_LIMIT_DETAILED_MAX });
    lab.cleanup();
  });
});
