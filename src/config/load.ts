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
import { closestName } from './suggest.js';
import { keysAt, sectionsWithKey } from './schema-keys.js';
import { resolveConfig } from './resolve.js';
import { echoesDroppedValue, messageToOriginal, salvage, toOriginal } from './salvage.js';
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

  const data: unknown = document.toJS() ?? {};
  const parsed = configSchema.safeParse(data);
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
  const crossCheckOptions = { configDir: dirname(file), missingFiles: options.allowMissing ? ('warning' as const) : ('error' as const), readTemplate };

  if (!parsed.success) {
    const schemaIssues = parsed.error.issues.flatMap((issue) => schemaIssue(issue, at, data));
    // Run the cross-checks on what the schema accepted, so every mistake is listed in one run.
    const salvaged = salvage(data);
    if (salvaged !== null) {
      const schemaPaths = new Set(schemaIssues.map((issue) => issue.path));
      // "a profile needs a kernel" about an object holding a misspelt key is an echo of the typo.
      for (const issue of parsed.error.issues) if (issue.code === 'unrecognized_keys') schemaPaths.add(formatPath(issue.path));
      for (const problem of crossCheck(salvaged.raw, crossCheckOptions)) {
        const path = toOriginal(problem.path, salvaged.indexMaps);
        if (echoesDroppedValue(path, salvaged.droppedValues) || schemaPaths.has(formatPath(path))) continue;
        schemaIssues.push(at(problem.severity, path, messageToOriginal(problem.message, salvaged.indexMaps), problem.atKey));
      }
    }
    return { ok: false, issues: sortIssues(schemaIssues) };
  }

  const problems: PathIssue[] = crossCheck(parsed.data, crossCheckOptions);
  const issues = sortIssues(problems.map((problem) => at(problem.severity, problem.path, problem.message, problem.atKey)));
  const errors = issues.filter((issue) => issue.severity === 'error');
  if (errors.length > 0) return { ok: false, issues };
  return { ok: true, config: resolveConfig(parsed.data, file, text, readTemplate), warnings: issues };
}

type Locator = (severity: ConfigIssue['severity'], path: readonly PropertyKey[], message: string, atKey?: boolean) => ConfigIssue;

function schemaIssue(issue: z.core.$ZodIssue, at: Locator, data: unknown): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => at('error', [...issue.path, key], `unknown key "${key}"${suggest(key, issue.path)}`, true));
  }
  if (issue.code === 'invalid_key') {
    const key = issue.path[issue.path.length - 1];
    return [at('error', issue.path, `invalid name ${JSON.stringify(String(key))}: ${issue.issues[0]?.message ?? 'not allowed here'}`, true)];
  }
  // zod leaves the input out of its issues, so look at the document for what the user wrote.
  const value = valueAt(data, issue.path);
  if (issue.code === 'invalid_type') {
    if (value === undefined) return [at('error', issue.path, 'required')];
    const hint = issue.expected === 'number' && typeof value === 'string' && /^\d+$/.test(value) ? ` (write ${value} without quotes)` : '';
    return [at('error', issue.path, `expected ${article(issue.expected)}, got ${describeValue(value)}${hint}`)];
  }
  if (issue.code === 'invalid_value') {
    const options = issue.values.map(String);
    const near = typeof value === 'string' ? closestName(value, options) : null;
    return [at('error', issue.path, `invalid value ${JSON.stringify(value)}${near === null ? '' : ` (did you mean "${near}"?)`}; one of: ${options.join(', ')}`)];
  }
  if ((issue.code === 'too_small' || issue.code === 'too_big') && /^Too (small|big)/.test(issue.message)) {
    const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
    if (issue.origin === 'string' && issue.code === 'too_small' && bound === 1) return [at('error', issue.path, 'must not be empty')];
    if (issue.origin === 'array' && issue.code === 'too_small') return [at('error', issue.path, `needs at least ${bound} entr${bound === 1 ? 'y' : 'ies'}`)];
    return [at('error', issue.path, `${describeValue(value)} is too ${issue.code === 'too_small' ? 'small' : 'big'} (${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound})`)];
  }
  if (issue.code === 'invalid_union') {
    // zod reports every branch; show the branch that got furthest (not "expected string" for a list with one bad entry).
    const branches = issue.errors.filter((errors) => errors.length > 0);
    const best = branches.find((errors) => !errors.every((error) => error.code === 'invalid_type' && error.path.length === 0)) ?? branches[0];
    if (best) return best.flatMap((error) => schemaIssue({ ...error, path: [...issue.path, ...error.path] } as z.core.$ZodIssue, at, data));
  }
  return [at('error', issue.path, issue.message)];
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let node = data;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function article(type: string): string {
  const words: Record<string, string> = { string: 'text', number: 'a number', boolean: 'true or false', object: 'a mapping (key: value)', array: 'a list', int: 'a whole number' };
  return words[type] ?? type;
}

function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`;
  return JSON.stringify(value);
}

/**
 * ` (did you mean "leaseTime"?)` for a near miss among the keys allowed where
 * the unknown one is; else ` (belongs under "dhcp")` when it is a key of another section.
 */
function suggest(key: string, path: readonly PropertyKey[]): string {
  const best = closestName(key, keysAt(path));
  if (best !== null) return ` (did you mean "${best}"?)`;
  const home = sectionsWithKey(key);
  return home.length > 0 ? ` ("${key}" belongs under ${home.map((section) => `"${section}"`).join(' or ')})` : '';
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.col - b.col);
}
