import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, loadConfigText } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/types.js';

const fixtures = fileURLToPath(new URL('../../fixtures/config/', import.meta.url));

/** test/fixtures/config/valid.yaml, resolved (http base http://10.77.0.1:18080). */
export function validConfig(): Config {
  const result = loadConfigFile(`${fixtures}valid.yaml`);
  if (!result.ok) throw new Error(result.issues.map((issue) => issue.message).join('\n'));
  return result.config;
}

/** valid.yaml with text replacements applied. */
export function validConfigWith(...replacements: [string | RegExp, string][]): Config {
  let text = loadText();
  for (const [from, to] of replacements) text = text.replace(from, to);
  const result = loadConfigText(text, `${fixtures}valid.yaml`);
  if (!result.ok) throw new Error(result.issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'));
  return result.config;
}

function loadText(): string {
  return readFileSync(`${fixtures}valid.yaml`, 'utf8');
}
