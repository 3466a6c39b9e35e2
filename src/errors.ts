/**
 * Every error code netboot reports, in one place. Codes are stable (scripts
 * and docs refer to them); messages say what happened and what to do.
 * test/unit/errors.test.ts checks that each code is unique and documented in
 * docs/errors.md.
 */

export const ERROR_CODES = {
  // Config
  NETBOOT_ERR_CONFIG_INVALID: 'the config file has errors (each listed as file:line:col path: reason)',
  NETBOOT_ERR_CONFIG_UNREADABLE: 'the config file cannot be read',
  // Binding
  NETBOOT_ERR_BIND_IN_USE: 'a port is already in use by another process',
  NETBOOT_ERR_BIND_DENIED: 'no permission to bind a privileged port (run as root, grant CAP_NET_BIND_SERVICE, or change the port)',
  NETBOOT_ERR_BIND_ADDRESS: 'the address to bind is not on this machine',
  // State
  NETBOOT_ERR_STATE_WRITE: 'a state file (leases, boot-once) could not be written',
  NETBOOT_ERR_STATE_CORRUPT: 'a state file was damaged; complete records were kept and a copy saved',
  // Services and the supervisor
  NETBOOT_ERR_SERVICE_START: 'a service could not be created or started for a reason other than binding',
  NETBOOT_ERR_SERVICE_CRASHED: 'a running service failed; the supervisor restarts it with backoff',
  NETBOOT_ERR_INTERNAL: 'an unexpected exception reached the top of the process (a bug); netboot exits rather than limp on',
  // CLI
  NETBOOT_ERR_USAGE: 'the command line is wrong',
  NETBOOT_ERR_NOT_FOUND: 'the named host, file or MAC is not known',
  NETBOOT_ERR_API: 'the running server refused or failed an API call (wrong token, host unknown to it)',
  NETBOOT_ERR_INIT_MISSING: 'a boot loader `netboot init` should copy is not installed (the message names the Debian package)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class NetbootError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NetbootError';
  }
}

/**
 * Turns a failed bind into a one-line message naming the port and the fix.
 * `what` is e.g. "DHCP udp 0.0.0.0:67".
 */
export function bindError(error: NodeJS.ErrnoException, what: string, port: number): NetbootError {
  if (error.code === 'EADDRINUSE') {
    return new NetbootError('NETBOOT_ERR_BIND_IN_USE', `${what}: port ${port} is already in use (stop the other server, e.g. \`ss -lunp 'sport = :${port}'\` shows it, or change the port in the config)`, { cause: error });
  }
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    return new NetbootError('NETBOOT_ERR_BIND_DENIED', `${what}: no permission to bind port ${port} (run as root, grant CAP_NET_BIND_SERVICE with \`setcap cap_net_bind_service=+ep $(command -v node)\` or the systemd unit, or use a port above 1023)`, { cause: error });
  }
  if (error.code === 'EADDRNOTAVAIL') {
    return new NetbootError('NETBOOT_ERR_BIND_ADDRESS', `${what}: the address is not on this machine (check server.address and the listen addresses)`, { cause: error });
  }
  return new NetbootError('NETBOOT_ERR_BIND_DENIED', `${what}: cannot bind port ${port}: ${error.message}`, { cause: error });
}
