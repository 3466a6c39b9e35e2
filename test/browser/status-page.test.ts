/**
 * The status page in a real browser (Debian's chromium, driven by
 * playwright-core): it loads, lists the hosts of the config, and shows a
 * download while one runs (a client that reads slowly), then drops it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { createHttpService } from '../../src/http/service.js';
import type { Service } from '../../src/supervisor/service.js';
import { makeLab, type Lab } from '../unit/http/lab.js';

const CHROMIUM = '/usr/bin/chromium';
const noChromium = existsSync(CHROMIUM) ? null : `needs ${CHROMIUM} (apt-get install chromium)`;
const BIG_FILE_BYTES = 24 * 1024 * 1024;

describe.skipIf(noChromium)(`status page in headless Chromium${noChromium ? ` (skipped: ${noChromium})` : ''}`, () => {
  let lab: Lab;
  let service: Service;
  let browser: BrowserContext;
  let base: string;
  let profileDir: string;

  beforeAll(async () => {
    lab = makeLab();
    writeFileSync(join(lab.config.tftp.root, 'demo', 'big.img'), Buffer.alloc(BIG_FILE_BYTES, 7));
    lab.setConfig({ ...lab.config, http: { ...lab.config.http, port: 0, listenAddress: '127.0.0.1' } });
    service = createHttpService(lab.context);
    await service.start();
    base = `http://127.0.0.1:${/:(\d+)$/.exec(service.describe())?.[1]}`;
    profileDir = mkdtempSync(join(tmpdir(), `netboot-chromium-${process.pid}-`));
    const { chromium } = await import('playwright-core');
    // An empty profile folder of our own (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop(500);
    lab?.cleanup();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  it('loads, lists the hosts, and shows a transfer while it runs', async () => {
    lab.events.record({ kind: 'tftp.size-probe', mac: '52:54:00:12:34:56', ip: '127.0.10.11', host: 'node01', outcome: 'harmless', message: 'EDK2 tsize probe aborted with ERROR 8' });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(base, { waitUntil: 'domcontentloaded' });
    await expect.poll(() => page.locator('#hosts tbody tr').count(), { timeout: 15_000 }).toBe(3);
    const hostsText = await page.locator('#hosts').innerText();
    for (const name of ['node01', 'node02', 'node03']) expect(hostsText).toContain(name);
    expect(hostsText).toContain('armed, installs next boot');
    expect(await page.locator('#events').innerText()).toContain('(harmless)');
    expect(await page.locator('#no-transfers').isVisible()).toBe(true);

    // A client that reads the first chunk and then stops: the server is mid-transfer.
    let response: IncomingMessage | undefined;
    await new Promise<void>((resolve, reject) => {
      httpGet(`${base}/tftp/demo/big.img`, (incoming) => {
        response = incoming;
        incoming.once('data', () => { incoming.pause(); resolve(); });
      }).once('error', reject);
    });
    await expect.poll(() => page.locator('#transfers tbody').innerText(), { timeout: 15_000 }).toContain('/tftp/demo/big.img');
    const row = page.locator('#transfers tbody tr').first();
    expect(await row.innerText()).toContain('http');
    expect(await row.locator('progress').getAttribute('max')).toBe(String(BIG_FILE_BYTES));
    // NETBOOT_SCREENSHOT=/tmp/status.png keeps a picture of the page mid-transfer.
    if (process.env.NETBOOT_SCREENSHOT) await page.screenshot({ path: process.env.NETBOOT_SCREENSHOT, fullPage: true });

    response!.resume();
    await new Promise((resolve) => response!.once('end', resolve));
    await expect.poll(() => page.locator('#transfers tbody tr').count(), { timeout: 15_000 }).toBe(0);
    expect(await page.locator('#events').innerText()).toContain('/tftp/demo/big.img');
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
