import { describe, expect, it } from 'vitest';
import { archCodeFor, archInfo } from '../../../src/policy/arch.js';
import { identifyClient } from '../../../src/policy/client-identity.js';
import { checkTemplateName, templateNames } from '../../../src/policy/template.js';
import { doneUrl, hostScriptUrl, kickstartUrl, tftpFileUrl, treeUrl } from '../../../src/policy/urls.js';
import { validConfig } from './helpers.js';

const MAC = '52:54:00:12:34:56';

describe('identifyClient', () => {
  it.each([
    ['BIOS PXE', { arch: 0, vendorClass: 'PXEClient:Arch:00000:UNDI:002001' }, { firmware: 'bios', stage: 'firmware', httpBoot: false, isPxe: true, unknownArch: false }],
    ['OVMF x64 (7)', { arch: 7, vendorClass: 'PXEClient:Arch:00007:UNDI:003016' }, { firmware: 'uefi-x64', stage: 'firmware', httpBoot: false, isPxe: true, unknownArch: false }],
    ['x64 (9)', { arch: 9 }, { firmware: 'uefi-x64', stage: 'firmware', httpBoot: false, isPxe: true, unknownArch: false }],
    ['UEFI HTTP (16 + HTTPClient)', { arch: 16, vendorClass: 'HTTPClient:Arch:00016:UNDI:003000' }, { firmware: 'uefi-x64', stage: 'firmware', httpBoot: true, isPxe: true, unknownArch: false }],
    ['HTTPClient vendor class alone', { vendorClass: 'HTTPClient' }, { firmware: 'bios', stage: 'firmware', httpBoot: true, isPxe: true, unknownArch: false }],
    ['iPXE by 77', { arch: 0, userClass: 'iPXE' }, { firmware: 'bios', stage: 'ipxe', httpBoot: false, isPxe: true, unknownArch: false }],
    ['iPXE by 175 under UEFI', { arch: 7, hasIpxeOptions: true }, { firmware: 'uefi-x64', stage: 'ipxe', httpBoot: false, isPxe: true, unknownArch: false }],
    ['iPXE HTTP-capable is iPXE, not HTTP boot', { arch: 16, vendorClass: 'HTTPClient', userClass: 'iPXE' }, { firmware: 'uefi-x64', stage: 'ipxe', httpBoot: false, isPxe: true, unknownArch: false }],
    ['arm64', { arch: 11 }, { firmware: 'uefi-arm64', stage: 'firmware', httpBoot: false, isPxe: true, unknownArch: false }],
    ['unknown arch 99', { arch: 99 }, { firmware: 'bios', stage: 'firmware', httpBoot: false, isPxe: true, unknownArch: true }],
    ['an OS asking for an address', { vendorClass: 'udhcp 1.36.1' }, { firmware: 'bios', stage: 'firmware', httpBoot: false, isPxe: false, unknownArch: false }],
    ['a user class that is not iPXE', { userClass: 'gPXE-ish' }, { firmware: 'bios', stage: 'firmware', httpBoot: false, isPxe: false, unknownArch: false }],
  ])('%s', (_name, facts, expected) => {
    expect(identifyClient({ mac: MAC, ...facts })).toMatchObject(expected);
  });

  it('keeps the UUID (option 97)', () => {
    expect(identifyClient({ mac: MAC, uuid: '8e3c0c8a-1111-2222-3333-444455556666' }).uuid).toBe('8e3c0c8a-1111-2222-3333-444455556666');
  });
});

describe('option 93 table', () => {
  it('maps both 7 and 9 to UEFI x64 (RFC 4578 errata 4624)', () => {
    expect(archInfo(7)?.firmware).toBe('uefi-x64');
    expect(archInfo(9)?.firmware).toBe('uefi-x64');
    expect(archInfo(1234)).toBeNull();
  });
  it('gives a code per firmware for explain', () => {
    expect(archCodeFor('bios')).toBe(0);
    expect(archCodeFor('uefi-x64')).toBe(7);
    expect(archCodeFor('uefi-x64', true)).toBe(16);
    expect(archCodeFor('uefi-arm64')).toBe(11);
  });
});

describe('templates', () => {
  it('finds names inside sections', () => {
    expect(templateNames('a {{host.name}} {{#host.known}}{{vars.x}}{{/host.known}} {{{httpBase}}}').sort()).toEqual(['host.known', 'host.name', 'httpBase', 'vars.x']);
  });
  it('throws on a syntax error', () => {
    expect(() => templateNames('{{host.name')).toThrow();
  });
  it.each([
    ['host.name', null],
    ['trees.debian12', null],
    ['vars.role', null],
    ['trees.nope', /unknown tree "nope"/],
    ['vars.nope', /is not defined/],
    ['host.nmae', /unknown template variable \{\{host\.nmae\}\}; did you mean \{\{host\.name\}\}\?/],
    ['secret', /unknown template variable/],
  ])('%s', (name, expected) => {
    const result = checkTemplateName(name, new Set(['role']), new Set(['debian12']));
    if (expected === null) expect(result).toBeNull();
    else expect(result).toMatch(expected);
  });
});

describe('urls', () => {
  const config = validConfig();
  it('builds every URL from http.baseUrl', () => {
    expect(hostScriptUrl(config, MAC)).toBe(`http://10.77.0.1:18080/boot/${MAC}.ipxe`);
    expect(tftpFileUrl(config, '/demo/vmlinuz')).toBe('http://10.77.0.1:18080/tftp/demo/vmlinuz');
    expect(tftpFileUrl(config, 'https://mirror/x')).toBe('https://mirror/x');
    expect(kickstartUrl(config, 'node01', MAC)).toBe('http://10.77.0.1:18080/ks/node01');
    expect(kickstartUrl(config, '', MAC)).toBe(`http://10.77.0.1:18080/ks/by-mac/${MAC}`);
    expect(doneUrl(config, 'node01')).toBe('http://10.77.0.1:18080/api/hosts/node01/done');
    expect(treeUrl(config, 'debian12')).toBe('http://10.77.0.1:18080/trees/debian12');
  });
});
