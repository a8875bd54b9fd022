// The built apps as child OS processes: start on a free port, wait for readiness, stop gracefully, kill, restart.
// Each process logs (stdout + stderr, JSON lines) to a file in a temp folder; restarts append to the same file.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export type AppName = 'orders' | 'inventory' | 'shipping' | 'monolith';
export type ProcessEnv = Readonly<Record<string, string>>;
/**
 * How a service is started: `built` runs `node dist/apps/<app>/src/main.js` of the global setup's snapshot;
 * `nest-start` runs `npx nest start <app>` in the repository, exactly as README tells users (it builds first).
 */
export type Launcher = 'built' | 'nest-start';

const repositoryRoot = resolve(import.meta.dirname, '..', '..', '..');
/** Where `dist/` is: the snapshot of the global setup, or the repository when run without it. */
const appRoot = (): string => process.env.SERVICES_APP_ROOT ?? repositoryRoot;

/** Folder of this test file's process logs. */
export const logDir = mkdtempSync(join(tmpdir(), 'services-logs-'));

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

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

const running = new Set<ServiceProcess>();

// Last resort if the test process dies without afterAll: no orphans.
process.once('exit', () => {
  for (const service of running) service.signal('SIGKILL');
});

export class ServiceProcess {
  child: ChildProcess | undefined;
  #exited: Promise<number | string> | undefined;
  #exitCode: number | string | undefined;
  /** How many times this service was started. */
  starts = 0;

  constructor(
    readonly app: AppName,
    /** Name in logs and errors (`orders`, `inventory-2`, ...). */
    readonly name: string,
    readonly port: number,
    readonly env: ProcessEnv,
    readonly logFile: string,
    readonly launcher: Launcher = 'built',
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Signals the process group (the app, and `npx`/`nest` around it when started that way). */
  signal(signal: NodeJS.Signals): void {
    if (this.child?.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }

  get alive(): boolean {
    return this.child !== undefined && this.#exitCode === undefined;
  }

  /** Exit code (or signal) of the last run, once it ended; undefined while it runs or before the first start. */
  get exitCode(): number | string | undefined {
    return this.#exitCode;
  }

  /**
   * Spawns the app (see `Launcher`) with exactly `env` (plus PORT; no `.env` file is read) in a process group
   * of its own, so that signals reach the app under `npx nest start` too; does not wait for readiness.
   */
  spawn(): void {
    if (this.alive) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    this.starts += 1;
    const log = openSync(this.logFile, 'a');
    writeSync(log, `--- start #${this.starts} of ${this.name} at ${new Date().toISOString()} ---\n`);
    const [command, args, cwd] =
      this.launcher === 'nest-start'
        ? ['npx', ['nest', 'start', this.app], repositoryRoot]
        : [process.execPath, [`dist/apps/${this.app}/src/main.js`], appRoot()];
    const child = spawn(command, args, {
      cwd,
      env: { ENV_FILE: '', ...this.env, PORT: String(this.port) },
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    this.child = child;
    this.#exitCode = undefined;
    this.#exited = new Promise((done) => {
      child.once('exit', (code, signal) => {
        this.#exitCode = code ?? signal ?? 'unknown';
        running.delete(this);
        done(this.#exitCode);
      });
    });
    running.add(this);
  }

  /** Polls `GET /health/ready` until 200; fails (with the log tail) if the process exits or time runs out. */
  async waitReady(timeoutMs = 60_000): Promise<number> {
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
      await sleep(100);
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms (last: ${last})\n${this.logTail()}`);
  }

  async start(timeoutMs?: number): Promise<number> {
    this.spawn();
    return this.waitReady(timeoutMs);
  }

  /** SIGTERM, wait for the exit (graceful shutdown), SIGKILL after `graceMs`. Returns the exit code or signal. */
  async stop(graceMs = 15_000): Promise<number | string | undefined> {
    if (!this.alive) return this.#exitCode;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: a crash, nothing is drained. Waits until the process is gone. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.signal('SIGKILL');
    await this.#exited;
  }

  /** Starts it again with the same environment and port. */
  async restart(timeoutMs?: number): Promise<number> {
    await this.stop();
    return this.start(timeoutMs);
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  logTail(lines = 40): string {
    const tail = this.log().trimEnd().split('\n').slice(-lines);
    return `--- last ${tail.length} log lines of ${this.name} (${this.logFile}) ---\n${tail.join('\n')}`;
  }

  /** JSON log lines (non-JSON lines, e.g. stack traces printed by Node, are skipped). */
  logEntries(): Record<string, any>[] {
    return this.log()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, any>];
        } catch {
          return [];
        }
      });
  }
}

/** Creates (does not start) a service on a free port, logging to `<logDir>/<name>.log`. */
export const defineService = async (
  app: AppName,
  env: ProcessEnv,
  name: string = app,
  launcher: Launcher = 'built',
): Promise<ServiceProcess> =>
  new ServiceProcess(app, name, await freePort(), env, join(logDir, `${name}.log`), launcher);

/** Stops every service still running (graceful, then SIGKILL). For afterAll. */
export const stopAll = async (): Promise<void> => {
  await Promise.all([...running].map((service) => service.stop(10_000)));
};
