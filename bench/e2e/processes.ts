// The built apps as child processes for the end-to-end benchmark: spawn on a free port, wait (bounded) for
// GET /health/ready, read their RSS from /proc, stop with SIGTERM (SIGKILL fallback). Never leaves orphans:
// every child still running when this process exits is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../lib/env.js';

/** An app under dist/apps: a context of the registry, or the monolith. */
export type AppName = string;

export interface OpCounts {
  readonly cosmos: Record<string, number>;
  readonly mongo: Record<string, number>;
  /** Requests kafkajs sent, by API name (absent before the first flush of a process without Kafka). */
  readonly kafka?: Record<string, number>;
  /** The V8 heap after the last collection asked for by SIGWINCH, and when (epoch ms). */
  readonly heapAfterGcMb?: number;
  readonly heapAfterGcAt?: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux x86_64 and arm64). */
const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat after the command name (which sits in parentheses and may hold spaces). */
const statFields = (pid: number | string): string[] => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};

/** CPU seconds (user + system) a process used so far; NaN when it is gone or /proc is unavailable. */
export const cpuSecondsOf = (pid: number): number => {
  try {
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    const fields = statFields(pid);
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
};

/**
 * CPU seconds of each process and of every process below it: a server that forks its workers (PostgreSQL
 * runs a backend process per connection) does its work in children, which its own utime never shows.
 * Each process counts its own time plus that of its children already gone (cutime, cstime), so a backend
 * that exits between two probes is not lost. One read of the process table for all of them; NaN for a
 * pid that is gone.
 */
export const cpuSecondsOfTrees = (pids: readonly number[]): number[] => {
  const parentOf = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(entry);
      parentOf.set(Number(entry), Number(fields[1]));
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]));
    } catch {
      // exited while listed
    }
  }
  const sums = new Map(pids.filter((pid) => ticks.has(pid)).map((pid) => [pid, 0]));
  for (const [candidate, own] of ticks) {
    let at: number | undefined = candidate;
    while (at !== undefined && at > 1 && !sums.has(at)) at = parentOf.get(at);
    if (at !== undefined && sums.has(at)) sums.set(at, sums.get(at)! + own);
  }
  return pids.map((pid) => (sums.has(pid) ? sums.get(pid)! / TICKS_PER_SECOND : Number.NaN));
};

/** Folder of this run's process logs (stdout + stderr of each child). */
export const logDir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));

/** A port nothing listens on right now (the OS picks it). */
export const freePort = (): Promise<number> =>
  new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of running) child.kill('SIGKILL');
    process.exit(130);
  });
}

export class AppProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | string>;
  #exitCode: number | string | undefined;

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly logFile: string,
    readonly opsFile: string,
    child: ChildProcess,
  ) {
    this.#child = child;
    running.add(child);
    this.#exited = new Promise((done) =>
      child.once('exit', (code, signal) => {
        this.#exitCode = code ?? signal ?? 'unknown';
        running.delete(child);
        done(this.#exitCode);
      }),
    );
  }

  /**
   * Spawns `node dist/apps/<app>/src/main.js` with exactly `env` plus PORT (no `.env` file); does not wait for
   * readiness. The process counts its Cosmos requests and MongoDB commands (bench/lib/op-counter.mjs).
   * BENCH_CPU_PROF=1 adds `--cpu-prof` (open the `.cpuprofile` files in Chrome DevTools or speedscope).
   */
  static async spawn(app: AppName, name: string, env: Readonly<Record<string, string>>): Promise<AppProcess> {
    return AppProcess.spawnScript([resolve(repoRoot, 'dist', 'apps', app, 'src', 'main.js')], name, env);
  }

  /** As `spawn`, for any script and its arguments (the raw drivers' processes of raw-share.ts). */
  static async spawnScript(argv: string[], name: string, env: Readonly<Record<string, string>>): Promise<AppProcess> {
    const port = await freePort();
    const logFile = join(logDir, `${name}.log`);
    const opsFile = join(logDir, `${name}.ops.json`);
    const log = openSync(logFile, 'a');
    const counter = pathToFileURL(resolve(repoRoot, 'bench', 'lib', 'op-counter.mjs')).href;
    const child = spawn(
      process.execPath,
      [
        // BENCH_CPU_PROF=1: a V8 CPU profile per process, written on exit next to its log.
        ...(process.env.BENCH_CPU_PROF === '1'
          ? ['--cpu-prof', '--cpu-prof-dir', join(logDir, `${name}.cpuprofile`)]
          : []),
        // gc() for the memory soak's heap-after-collection samples (op-counter.mjs, on SIGWINCH only).
        '--expose-gc',
        // BENCH_NODE_ARGS: more Node.js flags for every service, e.g. --heapsnapshot-signal=SIGUSR2.
        ...(process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
        '--import',
        counter,
        ...argv,
      ],
      {
        cwd: repoRoot,
        env: { ENV_FILE: '', ...env, PORT: String(port), BENCH_OPS_FILE: opsFile },
        stdio: ['ignore', log, log],
      },
    );
    closeSync(log);
    return new AppProcess(name, port, logFile, opsFile, child);
  }

  /** Cosmos DB requests by kind, MongoDB commands by name, Kafka requests by API, since the process started. */
  ops(): OpCounts {
    try {
      return JSON.parse(readFileSync(this.opsFile, 'utf8')) as OpCounts;
    } catch {
      return { cosmos: {}, mongo: {} };
    }
  }

  /**
   * The V8 heap in use right after a full garbage collection, in MB (the process collects on SIGWINCH,
   * see op-counter.mjs); NaN when it did not answer within `timeoutMs`.
   */
  async heapAfterGcMb(timeoutMs = 3_000): Promise<number> {
    const asked = Date.now();
    try {
      process.kill(this.pid, 'SIGWINCH');
    } catch {
      return Number.NaN;
    }
    while (Date.now() - asked < timeoutMs) {
      await sleep(50);
      const ops = this.ops();
      if ((ops.heapAfterGcAt ?? 0) >= asked && ops.heapAfterGcMb !== undefined) return ops.heapAfterGcMb;
    }
    return Number.NaN;
  }

  /** CPU seconds (user + system) the process used since it started, from /proc/<pid>/stat; NaN if gone. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.pid);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get alive(): boolean {
    return this.#exitCode === undefined;
  }

  /** Polls GET /health/ready until 200; throws (with the log tail) on exit or after `timeoutMs`. */
  async waitReady(timeoutMs = 90_000): Promise<number> {
    const started = Date.now();
    let last = 'no answer';
    while (Date.now() - started < timeoutMs) {
      if (!this.alive)
        throw new Error(`${this.name} exited (${this.#exitCode}) before it was ready\n${this.logTail()}`);
      try {
        const response = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(3_000) });
        if (response.status === 200) return Date.now() - started;
        last = `${response.status} ${(await response.text()).slice(0, 300)}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await sleep(200);
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms (last: ${last})\n${this.logTail()}`);
  }

  /** Resident set size in MB (VmRSS of /proc/<pid>/status); NaN when unavailable. */
  rssMb(): number {
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return match ? Number(match[1]) / 1024 : Number.NaN;
    } catch {
      return Number.NaN;
    }
  }

  /** SIGTERM, wait for the graceful exit, SIGKILL after `graceMs`. Returns the exit code or signal. */
  async stop(graceMs = 15_000): Promise<number | string> {
    if (this.alive) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  logTail(lines = 30): string {
    let text = '';
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      // no log yet
    }
    const tail = text.trimEnd().split('\n').slice(-lines);
    return `--- last ${tail.length} log lines of ${this.name} (${this.logFile}) ---\n${tail.join('\n')}`;
  }
}
