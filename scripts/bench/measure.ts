// How the benchmark measures one command: wall time from our own clock, peak memory from GNU
// time's %M, CPU from its %U and %S, the page cache flushed (and dropped, for the cold runs) before
// each timed command.
//
// About %M: GNU time reports the rusage of the child it waited for, and the kernel's ru_maxrss of
// a process includes its waited-for descendants as a MAXIMUM, not a sum. So the figure is the peak
// RSS of the largest single process of the tree (our node process, cp, rsync's biggest process,
// ...), never the sum of processes running at the same time.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export const GNU_TIME = '/usr/bin/time';

export interface Measurement {
  wallMs: number;
  /** GNU time %M, KiB: peak RSS of the largest single process of the command's tree. */
  peakRssKiB: number;
  /**
   * GNU time %U + %S, milliseconds: the user and system CPU of the command and of every process it
   * waited for, its threads included. Against the wall time, it says whether a command waited or
   * worked: a machine of N cores cannot run it in less than cpuMs / N.
   */
  cpuMs?: number;
  /** Our binary only: milliseconds per step, from its JSON stepStart/stepEnd events. */
  steps?: Record<string, number>;
  /** Our binary only: milliseconds per activity inside a step (`etc/copy`, `etc/hash`), to about a second. */
  phases?: Record<string, number>;
  /** Our binary only: when each step ended (its last end), epoch milliseconds: for spans across steps. */
  ends?: Record<string, number>;
  /** Sampled from /proc (to say WHO holds the memory): largest RSS per command name, KiB. */
  processes?: Record<string, number>;
  /**
   * Sampled from /proc: largest sum of the PSS of the tree's processes at one moment, KiB (PSS
   * splits shared pages, so a child caught between fork and exec is not counted twice).
   */
  treeSumKiB?: number;
  /**
   * The old method only: a command its round ran right after the timed one, timed apart and never
   * judged (the backup's: a SHA-256 list of cp -a's copy, the nearest the old method comes to our
   * manifest).
   */
  followUp?: { wallMs: number; cpuMs?: number };
}

export interface TimedRun extends Measurement {
  stdout: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Stop the whole command (its process group) when this fires: Ctrl-C or SIGTERM of the bench. */
  signal: AbortSignal;
  /** Safety net so the benchmark always ends by itself. */
  timeoutMs: number;
  /** Where GNU time writes its figure (one file per run, removed afterwards). */
  scratch: string;
  /** Called with a line now and then while a long command runs. */
  heartbeat?: (elapsedS: number) => void;
}

let runCounter = 0;

/**
 * Runs `command args` under GNU time in its own process group (so a timeout or Ctrl-C can stop
 * every process it started: GNU time itself does not pass SIGTERM on to its child), and fails on
 * a non-zero exit with the command's output.
 */
export async function timed(command: string, args: string[], options: RunOptions): Promise<TimedRun> {
  options.signal.throwIfAborted();
  const rssFile = path.join(options.scratch, `time-${process.pid}-${++runCounter}`);
  const child = spawn(GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, command, ...args], {
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, options.timeoutMs);
  const started = process.hrtime.bigint();
  const beat = options.heartbeat ? setInterval(() => options.heartbeat!(Number(process.hrtime.bigint() - started) / 1e9), 60_000) : undefined;
  const sampler = child.pid ? sampleTree(child.pid) : undefined;
  options.signal.addEventListener('abort', killGroup, { once: true });
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  clearTimeout(timer);
  if (beat) clearInterval(beat);
  const sampled = sampler?.stop() ?? { processes: {}, treeSumKiB: 0 };
  options.signal.removeEventListener('abort', killGroup);
  const out = Buffer.concat(stdout).toString();
  const timeOutput = existsSync(rssFile) ? await readFile(rssFile, 'utf8') : '';
  await rm(rssFile, { force: true });
  options.signal.throwIfAborted();
  const shown = `${command} ${args.join(' ')}`;
  if (timedOut) throw new Error(`${shown} did not end within ${options.timeoutMs / 1000} s: stopped`);
  if (exit.code !== 0) {
    const tail = (text: string) => text.split('\n').slice(-15).join('\n');
    throw new Error(`${shown} exited ${exit.code ?? exit.signal}\n${tail(out)}\n${tail(Buffer.concat(stderr).toString())}`);
  }
  // On a non-zero exit GNU time writes a "Command exited..." line first: the figure is the last line.
  const [peakRssKiB, userS, systemS] = (timeOutput.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  if (!Number.isFinite(peakRssKiB) || !Number.isFinite(userS) || !Number.isFinite(systemS)) throw new Error(`GNU time gave no %M %U %S figures for ${shown}: ${timeOutput}`);
  return { wallMs, peakRssKiB: peakRssKiB!, cpuMs: Math.round((userS! + systemS!) * 1000), ...sampled, stdout: out };
}

/**
 * argv[0]'s base name: Node renames its main thread, so `comm` of our binary is "MainThread". A
 * process with no command line is being forked/exec'd or is exiting: its RSS is its parent's
 * pages, so it is named for what it is.
 */
function programName(pid: number, comm: string): string {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0];
    return argv0 ? path.basename(argv0) : `${comm} (between fork and exec, or exiting)`;
  } catch {
    return comm;
  }
}

/** Proportional set size of a process, KiB (0 when it is gone or has no memory any more). */
function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const PAGE_KIB = 4; // x86_64 pages; /proc/<pid>/stat gives RSS in pages

/**
 * Every 200 ms, the RSS of each process under `rootPid` (by parent pid, from /proc/<pid>/stat):
 * the largest per command name, and the largest sum of their PSS. Only to tell who holds the
 * memory: a spike shorter than a tick is missed, so GNU time's figure stays the peak we report.
 */
function sampleTree(rootPid: number, everyMs = 200): { stop(): { processes: Record<string, number>; treeSumKiB: number } } {
  const processes: Record<string, number> = {};
  let treeSumKiB = 0;
  const tick = () => {
    const children = new Map<number, Array<{ pid: number; comm: string; rssKiB: number }>>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      } catch {
        continue; // ended meanwhile
      }
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' '); // from field 3 (state) on
      const ppid = Number(fields[1]);
      const entry = { pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close), rssKiB: Number(fields[21]) * PAGE_KIB };
      children.set(ppid, [...(children.get(ppid) ?? []), entry]);
    }
    let sum = 0;
    const visit = (pid: number) => {
      for (const child of children.get(pid) ?? []) {
        const name = programName(child.pid, child.comm);
        processes[name] = Math.max(processes[name] ?? 0, child.rssKiB);
        sum += pssKiB(child.pid);
        visit(child.pid);
      }
    };
    visit(rootPid); // GNU time itself is left out: it is the measuring tool, ~2 MiB
    treeSumKiB = Math.max(treeSumKiB, sum);
  };
  const timer = setInterval(tick, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { processes, treeSumKiB };
    },
  };
}

/** A shell pipeline under GNU time (the old methods are shell one-liners). */
export function timedShell(script: string, options: RunOptions): Promise<TimedRun> {
  return timed('bash', ['-c', `set -euo pipefail; ${script}`], options);
}

export type CacheMode = 'warm' | 'cold';

/**
 * Before every timed command: `sync`, so the previous command's dirty pages are not written back
 * on this one's clock; for a cold run, also drop the page cache, dentries and inodes.
 */
export async function settle(cache: CacheMode): Promise<void> {
  await execa('sync');
  if (cache === 'cold') await writeFile('/proc/sys/vm/drop_caches', '3');
}

/** Whether this machine lets us drop the page cache (not in most containers, nor without root). */
export async function dropCachesAllowed(): Promise<{ allowed: boolean; reason: string }> {
  try {
    await execa('sync');
    await writeFile('/proc/sys/vm/drop_caches', '3');
    return { allowed: true, reason: 'echo 3 > /proc/sys/vm/drop_caches works' };
  } catch (error) {
    return { allowed: false, reason: `cannot write /proc/sys/vm/drop_caches (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * From our binary's JSON lines: milliseconds per step (a step seen twice, e.g. redone, adds up),
 * and per activity inside a step (`etc/copy`, `etc/hash`, `restore-etc/scan`...). Activities come
 * from progress events, which are sent at most once a second: an activity is taken to run from its
 * first progress event (the step's start, for the first one) to the next activity's first event
 * (or the step's end), so those splits are good to about a second.
 */
export function stepDurations(stdout: string): { steps: Record<string, number>; phases: Record<string, number>; ends: Record<string, number> } {
  const steps: Record<string, number> = {};
  const phases: Record<string, number> = {};
  const ends: Record<string, number> = {};
  let current: { step: string; start: number; activities: Array<[string, number]> } | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { event?: string; step?: string; time?: string; activity?: string };
    if (!event.time) continue;
    const time = Date.parse(event.time);
    if (event.event === 'stepStart' && event.step) current = { step: event.step, start: time, activities: [] };
    if (event.event === 'progress' && current && event.activity && current.activities.at(-1)?.[0] !== event.activity) {
      current.activities.push([event.activity, current.activities.length === 0 ? current.start : time]);
    }
    if (event.event === 'stepEnd' && current && current.step === event.step) {
      const { step, start, activities } = current;
      steps[step] = (steps[step] ?? 0) + time - start;
      ends[step] = time;
      activities.forEach(([activity, from], i) => {
        phases[`${step}/${activity}`] = (phases[`${step}/${activity}`] ?? 0) + (activities[i + 1]?.[1] ?? time) - from;
      });
      current = undefined;
    }
  }
  return { steps, phases, ends };
}

/** The last JSON line of our binary: its result. */
export function resultEvent(stdout: string): Record<string, unknown> {
  const last = stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  const parsed = last ? (JSON.parse(last) as Record<string, unknown>) : undefined;
  if (parsed?.event !== 'result') throw new Error(`no result line in the output:\n${stdout.slice(-2000)}`);
  return parsed;
}
