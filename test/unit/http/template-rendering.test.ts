/**
 * Answer files as a booting machine receives them from /ks/...: every
 * whitelisted template variable rendered for a known host, an unknown machine
 * and a leased one; and a misspelt variable refused when the config loads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { createHttpApp } from '../../../src/http/app.js';
import { TEMPLATE_VARIABLES } from '../../../src/policy/template.js';
import { labConfigYaml, makeLab, makeLabFiles, type Lab } from './lab.js';

/** `trees.<name>` is used as the lab's one tree. */
const usedName = (variable: string) => (variable === 'trees.<name>' ? 'trees.debian12' : variable);

const ALL_VARIABLES_TEMPLATE = `${Object.keys(TEMPLATE_VARIABLES).map((name) => `${usedName(name)}={{${usedName(name)}}}`).join('\n')}\nvars.site={{vars.site}}\n`;

/** What each variable renders to, per machine. Must name every whitelisted variable. */
const EXPECTED: Record<string, { node01: string; unknown: string; leased: string }> = {
  'host.name': { node01: 'node01', unknown: '', leased: 'node02' },
  'host.mac': { node01: '52:54:00:12:34:56', unknown: '52:54:00:99:99:99', leased: '52:54:00:12:34:57' },
  'host.macDashed': { node01: '52-54-00-12-34-56', unknown: '52-54-00-99-99-99', leased: '52-54-00-12-34-57' },
  'host.ip': { node01: '127.0.10.11', unknown: '', leased: '127.0.10.150' },
  'host.known': { node01: 'true', unknown: 'false', leased: 'true' },
  'profile.name': { node01: 'demo-install', unknown: 'answers', leased: 'answers' },
  'server.address': { node01: '127.0.0.2', unknown: '127.0.0.2', leased: '127.0.0.2' },
  httpBase: { node01: 'http://10.77.0.1:8080', unknown: 'http://10.77.0.1:8080', leased: 'http://10.77.0.1:8080' },
  kickstartUrl: { node01: 'http://10.77.0.1:8080/ks/node01', unknown: 'http://10.77.0.1:8080/ks/by-mac/52:54:00:99:99:99', leased: 'http://10.77.0.1:8080/ks/node02' },
  doneUrl: { node01: 'http://10.77.0.1:8080/api/hosts/node01/done', unknown: '', leased: 'http://10.77.0.1:8080/api/hosts/node02/done' },
  kernelUrl: { node01: 'http://10.77.0.1:8080/tftp/demo/vmlinuz', unknown: 'http://10.77.0.1:8080/tftp/demo/vmlinuz', leased: 'http://10.77.0.1:8080/tftp/demo/vmlinuz' },
  'trees.<name>': { node01: 'http://10.77.0.1:8080/trees/debian12', unknown: 'http://10.77.0.1:8080/trees/debian12', leased: 'http://10.77.0.1:8080/trees/debian12' },
  'vars.site': { node01: 'rack7', unknown: 'lab9', leased: 'lab9' },
};

/** A profile with the all-variables template, used by node02 (via a second config) and unknown machines. */
const ANSWERS_PROFILE = `  answers:
    kernel: demo/vmlinuz
    kickstart: templates/all.tmpl
    vars: { site: lab9 }
`;

describe('every whitelisted template variable, rendered through /ks/', () => {
  let lab: Lab;

  beforeAll(() => {
    lab = makeLab({ preseed: ALL_VARIABLES_TEMPLATE });
    writeFileSync(join(lab.dir, 'templates', 'all.tmpl'), ALL_VARIABLES_TEMPLATE);
    // node01 keeps demo-install (its preseed is the all-variables template); node02 and unknown machines use `answers`.
    const yaml = labConfigYaml(lab.dir, { extraProfiles: ANSWERS_PROFILE })
      .replace('profile: demo-pxelinux', 'profile: answers')
      .replace('defaultProfile: local', 'defaultProfile: answers');
    const result = loadConfigText(yaml, join(lab.dir, 'lab.yaml'));
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    lab.setConfig(result.config);
    lab.setLeases([{ mac: '52:54:00:12:34:57', ip: '127.0.10.150', hostName: 'node02', state: 'bound', expiresAt: Date.now() + 60_000, reserved: false, firmware: 'bios', lastSeenAt: null }]);
  });
  afterAll(() => lab.cleanup());

  it('the table covers every variable in TEMPLATE_VARIABLES', () => {
    expect(Object.keys(EXPECTED).filter((name) => name !== 'vars.site').sort()).toEqual(Object.keys(TEMPLATE_VARIABLES).sort());
  });

  it.each([
    ['node01', '/ks/node01'],
    ['unknown', '/ks/by-mac/52:54:00:99:99:99'],
    ['leased', '/ks/node02'],
  ] as const)('%s (%s)', async (machine, url) => {
    const app = createHttpApp(lab.context);
    const response = await app.inject(url);
    await app.close();
    expect(response.statusCode).toBe(200);
    const rendered = Object.fromEntries(response.body.trimEnd().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    const expected = Object.fromEntries(Object.entries(EXPECTED).map(([name, values]) => [usedName(name), values[machine]]));
    expect(rendered).toEqual(expected);
  });

  it('does not HTML-escape (these are config files, not web pages)', async () => {
    const config = lab.config;
    const profile = config.profiles.get('answers')!;
    const profiles = new Map(config.profiles);
    profiles.set('answers', { ...profile, kickstartTemplate: 'x={{vars.site}}\n', vars: { site: 'a&b<c>"d\'' } });
    lab.setConfig({ ...config, profiles });
    const app = createHttpApp(lab.context);
    const response = await app.inject('/ks/by-mac/52:54:00:99:99:99');
    await app.close();
    lab.setConfig(config);
    expect(response.body).toBe('x=a&b<c>"d\'\n');
  });
});

describe('a template naming an unknown variable is a load error', () => {
  const dir = mkdtempSync(join(tmpdir(), `netboot-http-tmpl-${process.pid}-`));
  makeLabFiles(dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a misspelt built-in', '{{host.nmae}}', 'unknown template variable {{host.nmae}}'],
    ['a var nobody defines', '{{vars.rack}}', '{{vars.rack}} is not defined'],
    ['an unknown tree', '{{trees.centos}}', 'unknown tree "centos"'],
    ['inside a section', '{{#host.known}}{{host.adress}}{{/host.known}}', 'unknown template variable {{host.adress}}'],
  ])('%s in the answer file', (_name, text, message) => {
    writeFileSync(join(dir, 'templates', 'demo.preseed'), `ok={{host.name}}\nbad=${text}\n`);
    const result = loadConfigText(labConfigYaml(dir), join(dir, 'lab.yaml'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => issue.message).join('\n')).toContain(message);
  });

  it('in the kernel command line', () => {
    writeFileSync(join(dir, 'templates', 'demo.preseed'), 'ok={{host.name}}\n');
    const yaml = labConfigYaml(dir).replace('site={{vars.site}}"', 'site={{vars.site}} x={{kernelURL}}"');
    const result = loadConfigText(yaml, join(dir, 'lab.yaml'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const issue = result.issues.find((entry) => entry.message.includes('{{kernelURL}}'));
    expect(issue?.path).toContain('cmdline');
    expect(issue?.line).toBeGreaterThan(0);
  });
});
