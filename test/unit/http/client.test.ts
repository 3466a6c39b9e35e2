import { describe, expect, it } from 'vitest';
import { routableUrl } from '../../../src/http/app.js';
import { clientAddressText, UNKNOWN_CLIENT_ADDRESS } from '../../../src/http/client.js';

describe('clientAddressText', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5'],
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['::1', '::1'],
    // A socket already closed by its client has no remoteAddress (fastify request.ip undefined): never a TypeError.
    [undefined, UNKNOWN_CLIENT_ADDRESS],
    [null, UNKNOWN_CLIENT_ADDRESS],
    ['', UNKNOWN_CLIENT_ADDRESS],
  ])('%s → %s', (input, expected) => {
    expect(clientAddressText(input)).toBe(expected);
  });
});

describe('routableUrl', () => {
  it.each([
    ['/tftp/pxelinux.0', '/tftp/pxelinux.0'],
    // Absolute-form (RFC 9112 §3.2.2): the routes see the path.
    ['http://10.0.0.1/boot.ipxe?mac=x', '/boot.ipxe?mac=x'],
    ['HTTP://10.0.0.1:8080/tftp/a', '/tftp/a'],
    ['http://host?x', '/?x'],
    // Targets fastify's router would hand to its "this is likely a fastify bug" fallback (two warn lines each).
    ['*', '/*'],
    ['x', '/x'],
    ['http://host', '/'],
    ['', '/'],
    [undefined, '/'],
  ])('%s → %s', (input, expected) => {
    expect(routableUrl(input)).toBe(expected);
  });
});
