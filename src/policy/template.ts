/**
 * Templates (kernel command lines, kickstart/preseed files) are mustache:
 * logic-less, so a config file cannot run code on the appliance. HTML escaping
 * is off: these are config files, not web pages.
 *
 * The variables a template may use are a fixed, documented list; names outside
 * it are refused when the config loads, not rendered as empty strings at boot.
 */
import Mustache from 'mustache';
import { closestName } from '../config/suggest.js';
import type { TemplateValue } from '../config/types.js';

/** Every variable a template may name (besides `vars.<name>` for the host's and profile's own). */
export const TEMPLATE_VARIABLES: Readonly<Record<string, string>> = {
  'host.name': 'host name from the config ("" for an unknown machine)',
  'host.mac': 'MAC, aa:bb:cc:dd:ee:ff',
  'host.macDashed': 'MAC, aa-bb-cc-dd-ee-ff',
  'host.ip': 'reserved or leased address ("" if none yet)',
  'host.known': 'true when the machine is listed under hosts',
  'profile.name': 'profile name',
  'server.address': "this box's address on the boot network",
  httpBase: 'base URL of the HTTP service, e.g. http://10.77.0.1',
  kickstartUrl: "URL of this host's rendered answer file",
  doneUrl: 'URL the installer POSTs to when done (boot-once hosts)',
  kernelUrl: 'URL of the profile kernel over HTTP',
  'trees.<name>': 'URL of an installer tree, e.g. {{trees.debian12}}',
};

const NO_ESCAPE = { escape: (text: unknown) => String(text) };

/** Names a template uses, including names inside sections. Throws mustache's own error on a syntax error (unclosed tag). */
export function templateNames(template: string): string[] {
  const names = new Set<string>();
  const walk = (tokens: unknown[]): void => {
    for (const token of tokens as [string, string, number, number, unknown[]?][]) {
      const [type, value] = token;
      if (type === 'name' || type === '&' || type === '#' || type === '^') names.add(value);
      if (Array.isArray(token[4])) walk(token[4]);
    }
  };
  walk(Mustache.parse(template) as unknown[]);
  return [...names];
}

/** Why a name is not allowed, or null when it is. `varNames` are the `vars.*` names defined for every use of the template. */
export function checkTemplateName(name: string, varNames: ReadonlySet<string>, treeNames: ReadonlySet<string>): string | null {
  if (name === '.') return null;
  if (name in TEMPLATE_VARIABLES && name !== 'trees.<name>') return null;
  if (name.startsWith('trees.')) {
    const tree = name.slice('trees.'.length);
    return treeNames.has(tree) ? null : `unknown tree "${tree}" in {{${name}}} (defined: ${[...treeNames].join(', ') || 'none'})`;
  }
  if (name.startsWith('vars.')) {
    const variable = name.slice('vars.'.length);
    return varNames.has(variable) ? null : `template variable {{${name}}} is not defined in the profile's or host's vars`;
  }
  const near = closestName(name, Object.keys(TEMPLATE_VARIABLES).filter((known) => known !== 'trees.<name>'));
  const hint = near === null ? '' : ` did you mean {{${near}}}?`;
  return `unknown template variable {{${name}}};${hint} (allowed: ${Object.keys(TEMPLATE_VARIABLES).join(', ')}, vars.<name>)`;
}

export interface TemplateView {
  host: { name: string; mac: string; macDashed: string; ip: string; known: boolean };
  profile: { name: string };
  server: { address: string };
  httpBase: string;
  kickstartUrl: string;
  doneUrl: string;
  kernelUrl: string;
  trees: Record<string, string>;
  vars: Record<string, TemplateValue>;
}

export function renderTemplate(template: string, view: TemplateView): string {
  return Mustache.render(template, view, {}, NO_ESCAPE);
}
