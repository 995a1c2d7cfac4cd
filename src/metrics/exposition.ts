// Just enough of the Prometheus text exposition format (0.0.4) and of OpenMetrics 1.0 to render
// the domain metrics straight from the state, without building a prom-client metric object per
// series. The two formats write gauges alike; OpenMetrics names a counter family without
// `_total`, adds `_created` samples, and ends with `# EOF`.

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type Format = 'text' | 'openmetrics';

/**
 * The format to answer an `Accept` header with: OpenMetrics 1.0 when the client ranks
 * `application/openmetrics-text` (version 1.0.0 or unversioned) above the text format, as
 * Prometheus does; the text format otherwise, also for no header, `*\/*` and anything unknown.
 */
export function negotiateFormat(accept: string | undefined): Format {
  if (!accept) return 'text';
  let openMetrics = 0;
  let text = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part
      .trim()
      .toLowerCase()
      .split(';')
      .map((piece) => piece.trim());
    const param = (name: string) => params.find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);
    const qValue = param('q');
    const q = qValue === undefined ? 1 : Number(qValue);
    if (!Number.isFinite(q) || q <= 0) continue;
    const version = param('version');
    if (type === 'application/openmetrics-text' && (version === undefined || version === '1.0.0')) openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return openMetrics > text ? 'openmetrics' : 'text';
}

const NEEDS_ESCAPE = /[\\"\n]/;

export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export type MetricType = 'gauge' | 'counter' | 'histogram' | 'summary' | 'unknown';

export function familyHeader(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

/** `name="value",…` for a list of label pairs, values escaped. */
export function labelPairs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',');
}

export function sample(name: string, labels: string, value: number): string {
  return labels === '' ? `${name} ${formatValue(value)}\n` : `${name}{${labels}} ${formatValue(value)}\n`;
}
