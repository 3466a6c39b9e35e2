/**
 * Counters and gauges for /metrics (Prometheus text format) and
 * /api/status. Services own their numbers; this only names and renders them.
 */

type Labels = Record<string, string>;

interface Series {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((key) => `${key}=${labels[key]}`).join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class Metrics {
  private readonly series = new Map<string, Series>();
  private readonly collectors: (() => void)[] = [];

  private get(name: string, type: Series['type'], help: string): Series {
    let series = this.series.get(name);
    if (!series) {
      series = { help, type, values: new Map() };
      this.series.set(name, series);
    }
    return series;
  }

  /** Adds to a counter, e.g. `inc('netboot_dhcp_messages_total', 'DHCP messages', { type: 'discover' })`. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const series = this.get(name, 'counter', help);
    const key = labelKey(labels);
    const entry = series.values.get(key);
    if (entry) entry.value += by;
    else series.values.set(key, { labels, value: by });
  }

  set(name: string, help: string, value: number, labels: Labels = {}): void {
    this.get(name, 'gauge', help).values.set(labelKey(labels), { labels, value });
  }

  /** A function run before each render, to copy live numbers (leases in use, active transfers) into gauges. */
  addCollector(collect: () => void): void {
    this.collectors.push(collect);
  }

  value(name: string, labels: Labels = {}): number {
    return this.series.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  render(): string {
    for (const collect of this.collectors) collect();
    const lines: string[] = [];
    for (const [name, series] of [...this.series].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`# HELP ${name} ${series.help}`, `# TYPE ${name} ${series.type}`);
      for (const { labels, value } of series.values.values()) {
        const text = Object.entries(labels).map(([key, label]) => `${key}="${escapeLabel(label)}"`).join(',');
        lines.push(`${name}${text ? `{${text}}` : ''} ${value}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
