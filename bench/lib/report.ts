/** Bench results → a Markdown report (table + machine notes) and an SVG chart of the ratios. */

export interface Target {
  /** Which figure the target applies to. */
  on: 'ratio' | 'app';
  op: '>=' | '<=';
  value: number;
}

export interface Row {
  scenario: string;
  metric: string;
  unit: string;
  app: number;
  /** The baseline's figure measured in the same run; null when the scenario has none. */
  baseline: number | null;
  baselineName?: string;
  /** Median of the per-run app/baseline ratios (paired runs share the machine's noise). */
  ratio: number | null;
  target?: Target;
  /** The target is a correctness check (every message delivered…): asserted in quick mode too. */
  check?: boolean;
  digits?: number;
}

export interface ScenarioResult {
  id: string;
  title: string;
  rows: Row[];
  notes: string[];
  error?: string;
}

export interface ReportContext {
  date: Date;
  quick: boolean;
  machine: string;
  placement: string;
  commit: string;
  appDir: string;
  loadBefore: string;
  loadAfter: string;
  /** Share of all cores busy during the run (ours included), from /proc/stat. */
  machineBusyPercent: number;
  durationSeconds: number;
}

export function meets(row: Row): boolean | null {
  if (!row.target) return null;
  const value = row.target.on === 'ratio' ? row.ratio : row.app;
  if (value === null || !Number.isFinite(value)) return false;
  return row.target.op === '>=' ? value >= row.target.value : value <= row.target.value;
}

const fmt = (value: number | null, digits = 1) =>
  value === null ? '—' : Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
const fmtRatio = (value: number | null) =>
  value === null ? '—' : Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a';
const fmtTarget = (target: Target | undefined) =>
  target ? `${target.op === '>=' ? '≥' : '≤'} ${target.value}${target.on === 'ratio' ? '×' : ''}` : '—';

export function renderMarkdown(context: ReportContext, results: ScenarioResult[]): string {
  const lines = [
    `# auth-sse bench — ${context.date.toISOString()}${context.quick ? ' (quick mode: smoke run, figures not meaningful)' : ''}`,
    '',
    `- Machine: ${context.machine}`,
    `- Placement: ${context.placement}`,
    `- Code: ${context.commit} (${context.appDir})`,
    `- Load average before / after: ${context.loadBefore} / ${context.loadAfter}; all cores ${fmt(context.machineBusyPercent, 0)} % busy during the run (the bench's own processes included)`,
    `- Each figure is the median of several runs; ratios are medians of per-run app/baseline ratios, the baseline measured in the same run. Run time ${fmt(context.durationSeconds, 0)} s.`,
    '',
    '| scenario | metric | app | baseline | ratio | target | meets |',
    '|---|---|---:|---:|---:|---:|:---:|',
  ];
  for (const result of results) {
    if (result.error)
      lines.push(`| ${result.title} | **failed**: ${result.error.split('\n')[0]} | | | | | ✗ |`);
    for (const row of result.rows) {
      const verdict = meets(row);
      const unit = row.unit ? ` ${row.unit}` : '';
      lines.push(
        `| ${row.scenario} | ${row.metric} | ${fmt(row.app, row.digits)}${unit} | ${row.baseline === null ? '—' : `${fmt(row.baseline, row.digits)}${unit}`} | ${fmtRatio(row.ratio)} | ${fmtTarget(row.target)} | ${(context.quick && !row.check) || verdict === null ? '—' : verdict ? '✓' : '✗'} |`,
      );
    }
  }
  lines.push('');
  for (const result of results) {
    if (result.notes.length === 0) continue;
    lines.push(`## ${result.title}`, '', ...result.notes.map((note) => `- ${note}`), '');
  }
  return lines.join('\n');
}

/** A horizontal bar per ratio, with the target marked; 1× is the baseline. */
export function renderSvg(context: ReportContext, results: ScenarioResult[]): string {
  const rows = results
    .flatMap((r) => r.rows)
    .filter((row) => row.ratio !== null && Number.isFinite(row.ratio));
  const labelWidth = 430;
  const barWidth = 360;
  const height = 40 + rows.length * 24 + 30;
  const max = Math.max(
    2,
    ...rows.map((row) => row.ratio as number),
    ...rows.map((row) => row.target?.value ?? 0),
  );
  const x = (value: number) => labelWidth + (Math.min(value, max) / max) * barWidth;
  const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + barWidth + 80}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="8" y="20" font-weight="bold">auth-sse / baseline, ${xml(context.date.toISOString().slice(0, 16))}${context.quick ? ' (quick)' : ''}</text>`,
    `<line x1="${x(1)}" y1="30" x2="${x(1)}" y2="${height - 24}" stroke="#888" stroke-dasharray="3,3"/>`,
    `<text x="${x(1) - 8}" y="${height - 10}">1×</text>`,
  ];
  rows.forEach((row, i) => {
    const y = 36 + i * 24;
    const ok = meets(row);
    const colour = ok === null ? '#6b7280' : ok ? '#15803d' : '#b91c1c';
    parts.push(
      `<text x="8" y="${y + 13}">${xml(`${row.scenario} — ${row.metric}`).slice(0, 70)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${x(row.ratio as number) - labelWidth}" height="16" fill="${colour}"/>`,
      `<text x="${x(row.ratio as number) + 4}" y="${y + 13}">${(row.ratio as number).toFixed(2)}×</text>`,
    );
    if (row.target?.on === 'ratio')
      parts.push(
        `<line x1="${x(row.target.value)}" y1="${y - 2}" x2="${x(row.target.value)}" y2="${y + 18}" stroke="#111" stroke-width="2"/>`,
      );
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
