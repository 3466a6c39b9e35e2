/**
 * The only module that knows pino. JSON lines when stdout is not a terminal
 * (journald, files, tests); pino-pretty, loaded only then, when it is.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Force pretty or JSON output; default: pretty when stdout is a TTY. */
  pretty?: boolean;
  /** Write here instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const pretty = options.pretty ?? (process.stdout.isTTY === true && options.destination === undefined);
  if (pretty) {
    const require = createRequire(import.meta.url);
    const pinoPretty = require('pino-pretty') as (options: object) => NodeJS.WritableStream;
    return pino({ level, base: undefined }, pinoPretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino({ level, base: undefined }, (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ sync: false }));
}

/** A logger that drops everything, for unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Resolves once buffered log lines are written (JSON output is asynchronous),
 * or after `timeoutMs` whatever happens: called right before process.exit so
 * the last lines (why it stopped) are not lost.
 */
export function flushLogger(log: Logger, timeoutMs = 500): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    try {
      log.flush(() => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}
