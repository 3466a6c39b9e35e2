/** A problem found in a config file, pointing at the YAML node it is about. */
export interface ConfigIssue {
  severity: 'error' | 'warning';
  file: string;
  /** 1-based; 0 when the problem has no place in the file (it could not be read). */
  line: number;
  col: number;
  /** `hosts[2].mac`; '' for the whole file. */
  path: string;
  message: string;
}

/** `lab.yaml:12:9 hosts[2].mac: invalid MAC address "52:54:00:zz:00:01"` */
export function formatIssue(issue: ConfigIssue): string {
  const place = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}` : issue.file;
  const prefix = issue.severity === 'warning' ? 'warning: ' : '';
  return issue.path === '' ? `${place} ${prefix}${issue.message}` : `${place} ${issue.path}: ${prefix}${issue.message}`;
}

/** `['hosts', 2, 'mac']` → `hosts[2].mac` */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else text += text === '' ? String(key) : `.${String(key)}`;
  }
  return text;
}
