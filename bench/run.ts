/**
 * `npm run bench` — the benchmark suite (see README "Benchmarks").
 *
 *   npm run bench                       full run: the figures (10–20 minutes)
 *   npm run bench -- --quick            smoke run for CI: every scenario, small, no timing asserted
 *   npm run bench -- --only=http,push   some scenarios (http push fanout slow login startup scale-out)
 *   npm run bench -- --runs=5           more repeats per comparison
 *   BENCH_APP_DIR=/path/to/checkout     measure another checkout's app (e.g. an older commit)
 *
 * Every scenario runs a real listening server in its own process (pinned to CPU 0 with taskset)
 * against load from other processes (pinned to the other cores), and compares it with a baseline
 * measured in the same run. A full run writes bench/results/<date>.md and .svg (new files, never
 * rewriting old ones); a quick run writes bench/results/quick.md (git-ignored). Exits 1 if a
 * scenario fails (a missing message, an error answer); in full mode also prints missed targets.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { describeMachine, placeProcesses, systemCpuSample } from './lib/machine.ts';
import { benchOptions, SCENARIOS, type ScenarioId } from './lib/options.ts';
import { meets, renderMarkdown, renderSvg, type ScenarioResult } from './lib/report.ts';
import { hasWrk } from './lib/wrk.ts';
import { fanoutScenario } from './scenarios/fanout.ts';
import { httpScenario } from './scenarios/http.ts';
import { loginScenario } from './scenarios/login.ts';
import { pushScenario } from './scenarios/push.ts';
import { scaleOutScenario } from './scenarios/scale-out.ts';
import { slowClientScenario } from './scenarios/slow-clients.ts';
import { startupScenario } from './scenarios/startup.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, runs: { type: 'string' } },
});
const only = values.only ? (values.only.split(',') as ScenarioId[]) : [...SCENARIOS];
const unknown = only.filter((id) => !SCENARIOS.includes(id));
if (unknown.length > 0)
  throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
if (only.includes('http') && !(await hasWrk()))
  throw new Error('the http scenario needs wrk (apt-get install wrk)');

const placement = placeProcesses();
const options = benchOptions(values.quick, placement, values.runs ? Number(values.runs) : undefined);
const runners: Record<ScenarioId, (o: typeof options) => Promise<ScenarioResult>> = {
  http: httpScenario,
  push: pushScenario,
  fanout: fanoutScenario,
  slow: slowClientScenario,
  login: loginScenario,
  startup: startupScenario,
  'scale-out': scaleOutScenario,
};

const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const date = new Date();
const loadBefore = loadAverage();
const cpuBefore = systemCpuSample();
console.log(`${options.quick ? 'Quick' : 'Full'} bench: ${only.join(', ')}. ${placement.description}.`);
const results: ScenarioResult[] = [];
for (const id of only) {
  const started = Date.now();
  process.stdout.write(`- ${id}… `);
  try {
    results.push(await runners[id](options));
    console.log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    results.push({ id, title: id, rows: [], notes: [], error: message });
    console.log(`FAILED: ${message}`);
  }
}
const cpuAfter = systemCpuSample();

let commit = 'unknown commit';
try {
  const cwd = process.env.BENCH_APP_DIR ?? process.cwd();
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd,
    encoding: 'utf8',
  }).trim();
  commit = `${head}${dirty ? ' + uncommitted changes' : ''}`;
} catch {
  // not a git checkout
}
const context = {
  date,
  quick: options.quick,
  machine: describeMachine(),
  placement: placement.description,
  commit,
  appDir: process.env.BENCH_APP_DIR ?? 'this checkout',
  loadBefore,
  loadAfter: loadAverage(),
  machineBusyPercent: (100 * (cpuAfter.busy - cpuBefore.busy)) / (cpuAfter.total - cpuBefore.total),
  durationSeconds: (Date.now() - date.getTime()) / 1000,
};
const markdown = renderMarkdown(context, results);
const folder = new URL('./results/', import.meta.url);
mkdirSync(folder, { recursive: true });
const stamp = date.toISOString().slice(0, 16).replace(':', '');
const files = options.quick ? ['quick.md'] : [`${stamp}.md`, `${stamp}.svg`];
writeFileSync(new URL(files[0] as string, folder), markdown);
if (files[1]) writeFileSync(new URL(files[1], folder), renderSvg(context, results));
console.log(`\n${markdown}\nWritten: ${files.map((f) => `bench/results/${f}`).join(', ')}`);

const rows = results.flatMap((r) => r.rows);
const missed = rows.filter((row) => meets(row) === false && !row.check);
if (!options.quick && missed.length > 0)
  console.log(`Missed targets: ${missed.map((row) => `${row.scenario} — ${row.metric}`).join('; ')}`);
const broken = rows.filter((row) => row.check && meets(row) === false);
if (broken.length > 0)
  console.log(`FAILED checks: ${broken.map((row) => `${row.scenario} — ${row.metric}`).join('; ')}`);
process.exitCode = results.some((r) => r.error) || broken.length > 0 ? 1 : 0;
