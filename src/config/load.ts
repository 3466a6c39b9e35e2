/**
 * Reads a config file: YAML syntax, then the schema, then the cross-checks,
 * collecting every problem with its file:line:col before anything binds.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { crossCheck, type PathIssue } from './cross-checks.js';
import { formatPath, type ConfigIssue } from './issues.js';
import { locate } from './locate.js';
import { resolveConfig } from './resolve.js';
import { configSchema } from './schema.js';
import type { Config } from './types.js';

export interface LoadOptions {
  /** Missing files a profile names are warnings instead of errors (`check`, `serve --allow-missing`). */
  allowMissing?: boolean;
  /** File name shown in messages; defaults to the path as given. */
  displayName?: string;
}

export type LoadResult =
  | { ok: true; config: Config; warnings: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] };

export function loadConfigFile(path: string, options: LoadOptions = {}): LoadResult {
  const shownAs = options.displayName ?? path;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    return { ok: false, issues: [{ severity: 'error', file: shownAs, line: 0, col: 0, path: '', message: `cannot read config: ${reason}` }] };
  }
  return loadConfigText(bytes.toString('utf8'), resolve(path), { ...options, displayName: shownAs });
}

/** `file` is the absolute path relative paths in the config are resolved against. */
export function loadConfigText(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const shownAs = options.displayName ?? file;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (severity: ConfigIssue['severity'], path: readonly PropertyKey[], message: string, atKey = false): ConfigIssue => {
    const { line, col } = locate(document, lineCounter, path, atKey);
    return { severity, file: shownAs, line, col, path: formatPath(path), message };
  };

  if (document.errors.length > 0) {
    return {
      ok: false,
      issues: document.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { severity: 'error' as const, file: shownAs, line, col, path: '', message: `YAML: ${error.message.split('\n')[0]}` };
      }),
    };
  }

  const parsed = configSchema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    return { ok: false, issues: sortIssues(parsed.error.issues.flatMap((issue) => schemaIssue(issue, at))) };
  }

  const templates = new Map<string, string | null>();
  const readTemplate = (path: string): string | null => {
    if (!templates.has(path)) {
      try {
        templates.set(path, readFileSync(path, 'utf8'));
      } catch {
        templates.set(path, null);
      }
    }
    return templates.get(path)!;
  };
  const problems: PathIssue[] = crossCheck(parsed.data, {
    configDir: dirname(file),
    missingFiles: options.allowMissing ? 'warning' : 'error',
    readTemplate,
  });
  const issues = sortIssues(problems.map((problem) => at(problem.severity, problem.path, problem.message, problem.atKey)));
  const errors = issues.filter((issue) => issue.severity === 'error');
  if (errors.length > 0) return { ok: false, issues };
  return { ok: true, config: resolveConfig(parsed.data, file, text, readTemplate), warnings: issues };
}

type Locator = (severity: ConfigIssue['severity'], path: readonly PropertyKey[], message: string, atKey?: boolean) => ConfigIssue;

function schemaIssue(issue: z.core.$ZodIssue, at: Locator): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => at('error', [...issue.path, key], `unknown key "${key}"${suggest(key)}`, true));
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [at('error', issue.path, 'required')];
  }
  if (issue.code === 'invalid_union') {
    // zod reports every branch; the first branch's own message is the useful one.
    const first = issue.errors[0]?.[0];
    if (first) return schemaIssue({ ...first, path: [...issue.path, ...first.path] } as z.core.$ZodIssue, at);
  }
  return [at('error', issue.path, issue.message)];
}

const KNOWN_KEYS = [
  'server', 'address', 'interface', 'dhcp', 'mode', 'listen', 'port', 'clientPort', 'proxyPort', 'subnet', 'pool', 'router', 'dns', 'domain',
  'leaseTime', 'offerHold', 'declineHold', 'leaseFile', 'subnets', 'bootUnknownNonPxe', 'tftp', 'enabled', 'root', 'portRange', 'blksizeMax',
  'windowsizeMax', 'timeout', 'retries', 'maxTransfers', 'maxTransfersPerClient', 'cacheBytes', 'stripLeadingSlash', 'blksizeMaxByFirmware',
  'http', 'baseUrl', 'trees', 'apiToken', 'requestTimeout', 'keepAliveTimeout', 'bootloaders', 'profiles', 'loader', 'kernel', 'initrd',
  'cmdline', 'kickstart', 'localboot', 'vars', 'description', 'hosts', 'name', 'mac', 'ip', 'profile', 'once', 'tftpBlksizeMax',
  'defaultProfile', 'state', 'dir', 'log', 'level',
];

/** ` (did you mean "leaseTime"?)` for a near miss in case or one or two letters. */
function suggest(key: string): string {
  const lower = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = 3;
  for (const known of KNOWN_KEYS) {
    const distance = known.toLowerCase() === lower ? 0 : editDistance(lower, known.toLowerCase());
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best === null ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.col - b.col);
}
