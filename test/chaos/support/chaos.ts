// Runs a fault schedule against the three services (child processes) and the local servers of infra/infra.mjs:
// each step SIGKILLs or starts one of them at a given second. A service that exits on its own (it was not
// killed by the schedule) is recorded as an unexpected exit and started again after a delay, as a process
// supervisor (systemd, Kubernetes) would; a started service's time to readiness goes into the timeline.
import { killServer, startServer, type InfraServer as Server } from '../../reliability/support/faults.js';
import type { ServiceProcess } from '../../services/support/processes.js';

export type ServiceName = 'orders' | 'inventory' | 'shipping';
export type Target = ServiceName | Server;
/** Seconds after the previous step finished (a server start finishes when it answers), what, to which. */
export type Step = readonly [afterSeconds: number, action: 'kill' | 'start', target: Target];

export interface UnexpectedExit {
  readonly service: string;
  /** Seconds since the faults started. */
  readonly at: number;
  readonly exit: number | string | undefined;
  readonly logTail: string;
}

const SERVERS: readonly string[] = ['kafka', 'mongodb', 'cosmos'] satisfies Server[];
/** How long a step waits for a service it started before going on with the schedule. */
const READY_WAIT_MS = 60_000;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export class Chaos {
  /** What happened when, in seconds since `since`: `12.3 kill inventory`, `14.1 inventory ready in 3.2 s`. */
  readonly timeline: string[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** Targets the schedule took down on purpose (not restarted by the supervisor). */
  readonly #down = new Set<Target>();
  readonly #restarting = new Set<ServiceName>();
  #watching: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly services: Readonly<Record<ServiceName, ServiceProcess>>,
    private readonly since: number,
    private readonly supervisorDelayMs: number,
  ) {}

  #note(what: string): void {
    const line = `${((Date.now() - this.since) / 1_000).toFixed(1).padStart(6)} s  ${what}`;
    this.timeline.push(line);
    console.log(`chaos: ${line}`);
  }

  /** Spawns a service and notes, in the background, when it is ready (or that it exited first). */
  #spawn(name: ServiceName, why: string): void {
    const service = this.services[name];
    service.spawn();
    this.#note(`${why} ${name} (pid ${service.pid})`);
    const [started, run] = [Date.now(), service.starts];
    service.waitReady(180_000).then(
      () =>
        service.starts === run &&
        this.#note(`${name} ready ${((Date.now() - started) / 1_000).toFixed(1)} s after its start`),
      () => undefined, // killed or exited meanwhile: the schedule or the watcher notes that
    );
  }

  /** Starts the supervisor: a service gone without a kill step is an unexpected exit, restarted after a delay. */
  watch(): void {
    this.#watching = setInterval(() => {
      for (const [name, service] of Object.entries(this.services) as [ServiceName, ServiceProcess][]) {
        if (service.alive || this.#down.has(name) || this.#restarting.has(name)) continue;
        this.#restarting.add(name);
        this.unexpectedExits.push({
          service: name,
          at: Math.round((Date.now() - this.since) / 100) / 10,
          exit: service.exitCode,
          logTail: service.logTail(15),
        });
        this.#note(
          `${name} EXITED on its own (${service.exitCode}); supervisor restarts it in ${this.supervisorDelayMs} ms`,
        );
        setTimeout(() => {
          this.#restarting.delete(name);
          if (!service.alive && !this.#down.has(name)) this.#spawn(name, 'supervisor starts');
        }, this.supervisorDelayMs);
      }
    }, 250);
  }

  /**
   * Runs the steps in order. A service started while every server runs is waited for (ready, or gone) before the
   * next step, so that the next fault finds it up however slow the machine is; one started while a server is down
   * is not (that is the point of such a step).
   */
  async run(steps: readonly Step[]): Promise<void> {
    for (const [afterSeconds, action, target] of steps) {
      await sleep(afterSeconds * 1_000);
      if (SERVERS.includes(target)) {
        const server = target as Server;
        if (action === 'kill') {
          this.#down.add(server);
          await killServer(server);
          this.#note(`SIGKILL ${server}`);
        } else {
          const started = Date.now();
          await startServer(server);
          this.#down.delete(server);
          this.#note(`${server} started and answering (${((Date.now() - started) / 1_000).toFixed(1)} s)`);
        }
      } else {
        const name = target as ServiceName;
        if (action === 'kill') {
          this.#down.add(name);
          await this.services[name].kill();
          this.#note(`SIGKILL ${name}`);
        } else {
          this.#down.delete(name);
          if (!this.services[name].alive) this.#spawn(name, 'start');
          if (![...this.#down].some((down) => SERVERS.includes(down))) {
            await this.services[name]
              .waitReady(READY_WAIT_MS)
              .catch(() => this.#note(`${name} not ready yet, going on`));
          }
        }
      }
    }
  }

  /**
   * Stops the supervisor; starts whatever is still down (a server or service the steps left down, a crashed one);
   * waits for every service to be ready. @returns the services not ready in time, with their last answer.
   */
  async end(readyTimeoutMs: number): Promise<string[]> {
    clearInterval(this.#watching);
    for (const target of [...this.#down]) {
      if (SERVERS.includes(target)) await startServer(target as Server);
      this.#down.delete(target);
    }
    for (const [name, service] of Object.entries(this.services) as [ServiceName, ServiceProcess][]) {
      if (!service.alive) this.#spawn(name, 'after the faults, start');
    }
    const notReady = (
      await Promise.all(
        Object.values(this.services).map((service) =>
          service.waitReady(readyTimeoutMs).then(
            () => '',
            (error: Error) => error.message.split('\n')[0]!.slice(0, 600),
          ),
        ),
      )
    ).filter(Boolean);
    this.#note(notReady.length === 0 ? 'every service ready' : `NOT READY: ${notReady.join('; ')}`);
    return notReady;
  }
}
