import { describe, expect, it } from 'vitest';
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
