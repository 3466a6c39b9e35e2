/**
 * Process exit codes, stable for scripts and systemd (docs/cli.md lists them).
 * 1 and 2 follow the usual Unix meaning (failure of the task, bad usage); 70 is
 * sysexits' EX_SOFTWARE, for a bug that reached the top of the process.
 */
export const ExitCode = {
  /** Done; for `check`, the config has no errors (it may have warnings). */
  Ok: 0,
  /** The config has errors, or cannot be read. */
  ConfigInvalid: 1,
  /** The command line is wrong. */
  Usage: 2,
  /** `serve` could not bind a port or start a service. */
  Runtime: 3,
  /** A named host is not in the config, or a boot loader `init` needs is not installed. */
  NotFound: 4,
  /** The running server refused the request, or a state file could not be written. */
  ApiOrState: 5,
  /** An uncaught exception: a bug. */
  Internal: 70,
  /** `serve` got a second SIGINT/SIGTERM while draining and stopped at once (the shell's 128 + SIGINT). */
  Forced: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
