/**
 * The machine the bench runs on: which cores the server and the load get (`taskset`), how busy
 * the whole machine was meanwhile, and a process's CPU time read from /proc. Linux-first; where
 * taskset or /proc is missing the bench still runs and says that nothing was pinned.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Placement {
  /** `taskset -c` argument for server processes, or null when not pinned. */
  serverCore: string | null;
  /** The cores the bench itself, its client processes and wrk run on. */
  loadCores: string | null;
  /** One line for the report. */
  description: string;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Puts this process (and so every child it starts without pinning: clients, wrk) on the load
 * cores, and reserves core 0 for servers. With one core, or without taskset, nothing is pinned.
 */
export function placeProcesses(): Placement {
  const cores = os.availableParallelism();
  if (cores < 2 || !hasTaskset())
    return {
      serverCore: null,
      loadCores: null,
      description: `not pinned (${cores} core${cores === 1 ? '' : 's'}${cores < 2 ? '' : ', no taskset'}): server and load share the CPU`,
    };
  const loadCores = cores === 2 ? '1' : `1-${cores - 1}`;
  execFileSync('taskset', ['-a', '-c', '-p', loadCores, String(process.pid)], { stdio: 'ignore' });
  return {
    serverCore: '0',
    loadCores,
    description: `server pinned to CPU 0, load (client processes, wrk, this runner) to CPU ${loadCores} with taskset`,
  };
}

/** user+system CPU seconds a process has used (all its threads), from /proc; NaN when unreadable. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces), 1-based: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process in bytes, from /proc; NaN when unreadable. */
export function processRssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** Busy and total jiffies of the whole machine (all cores), to report how loaded it was. */
export function systemCpuSample(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.reduce((sum, v) => sum + v, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** Node, CPU model and core count, memory, kernel: the facts a reader needs to weigh the figures. */
export function describeMachine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memory = (os.totalmem() / 1024 ** 3).toFixed(0);
  return `Node ${process.version}, ${cpus.length} × ${model}, ${memory} GiB RAM, ${os.type()} ${os.release()}`;
}
