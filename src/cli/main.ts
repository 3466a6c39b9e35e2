#!/usr/bin/env -S node --max-semi-space-size=1 --no-parallel-scavenge
/** The `netboot` executable: runs the command line and exits with its code (docs/cli.md). `serve` keeps running. */
import { ExitCode } from './exit-codes.js';
import { main } from './dispatch.js';

main(process.argv.slice(2)).then(
  (code) => {
    // exitCode rather than exit(): stdout to a pipe is written asynchronously and must not be cut off.
    if (code !== null) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`netboot: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = ExitCode.Internal;
  },
);
