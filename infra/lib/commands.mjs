// The commands of infra.mjs over the services it is given: `up` (what is not running yet: prepared in
// parallel, each started once what it needs is ready, then probed; failed ones stopped again), `down`
// (dependents first, then the ports must be free), `status`, `logs` and `reset` (all stores wiped together,
// so that no store keeps what another forgot).
import fs from 'node:fs';
import path from 'node:path';
import { COSMOS_DATA } from '../cosmos/cosmos.mjs';
import { FERRET_DATA } from '../ferretdb/ferretdb.mjs';
import { KAFKA_DATA, KAFKA_DIR } from '../kafka/kafka.mjs';
import { PG_DATA } from '../postgres/postgres.mjs';
import { indent, InfraError, LOGS, log, mkdirp, rel, RUN, sleep, tail } from './common.mjs';
import {
  logFileOf,
  ourProcess,
  portFree,
  startDetached,
  stopService,
  tcpOpen,
  waitReady,
  whoListens,
} from './processes.mjs';
import { services } from './services.mjs';

/**
 * The services named on the command line (all when none), refusing unknown names; with `withDeps`, also
 * what they need to run (`up mongodb` starts PostgreSQL too).
 */
function selected(names, { withDeps = false } = {}) {
  const all = services();
  const unknown = names.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length)
    throw new InfraError(`unknown service ${unknown.join(', ')} (known: ${all.map((s) => s.name).join(', ')})`);
  const wanted = new Set(names.length ? names : all.map((s) => s.name));
  if (withDeps) for (const svc of all) if (wanted.has(svc.name)) for (const dep of svc.after ?? []) wanted.add(dep);
  return all.filter((s) => wanted.has(s.name));
}

export async function up(names = []) {
  const t0 = Date.now();
  const timeoutS = Number(process.env.INFRA_UP_TIMEOUT || 90);
  const all = selected(names, { withDeps: true });
  for (const d of [RUN, LOGS]) mkdirp(d);

  // 1) what is already running, and are the ports of the others free?
  const toStart = [];
  for (const svc of all) {
    if (!svc.local) {
      log(`${svc.name}: external (${svc.address}), not managed here; probing only`);
      continue;
    }
    const running = ourProcess(svc);
    if (running) {
      log(`${svc.name}: already running (pid ${running.pid})`);
      continue;
    }
    for (const port of svc.ports) {
      if (!(await portFree(svc.host, port))) {
        throw new InfraError(
          `${svc.name}: port ${port} on ${svc.host} is already in use by a process this script did not start:\n    ${whoListens(port)}\n` +
            '  Stop it (if it is the docker compose stack: `docker compose down`), or point the variables ' +
            '(KAFKA_BROKERS / MONGODB_URL / COSMOS_ENDPOINT) at another port.',
        );
      }
    }
    toStart.push(svc);
  }

  // 2) downloads/builds (first run only) in parallel; each service starts once what it needs is ready
  //    (FerretDB after PostgreSQL), and must then answer its client's probe.
  const startedBy = new Map();
  const readiness = new Map();
  const prepared = new Map(toStart.map((svc) => [svc.name, svc.prepare(svc)]));
  for (const p of prepared.values()) p.catch(() => {}); // reported below, per service
  const bringUp = async (svc) => {
    await prepared.get(svc.name);
    for (const dep of svc.after ?? []) {
      const depReady = readiness.get(dep);
      if (depReady) await depReady.catch(() => Promise.reject(new InfraError(`not started: ${dep} failed`)));
    }
    const deadline = Date.now() + timeoutS * 1000; // from the start, not counting first-run downloads
    if (prepared.has(svc.name)) {
      startedBy.set(svc.name, startDetached(svc));
      log(`${svc.name}: started pid ${startedBy.get(svc.name).pid}, log ${rel(logFileOf(svc))}`);
    }
    return waitReady(svc, startedBy.get(svc.name), deadline);
  };
  for (const svc of all) readiness.set(svc.name, bringUp(svc)); // `all` lists dependencies first
  const results = await Promise.allSettled(all.map((svc) => readiness.get(svc.name)));
  const errors = [];
  results.forEach((r, i) => {
    const svc = all[i];
    if (r.status === 'fulfilled') {
      log(`${svc.name}: ready at ${svc.address}: ${r.value}`);
    } else {
      let msg = `${svc.name} (${svc.title}) FAILED: ${r.reason.message}`;
      if (svc.local && startedBy.has(svc.name))
        msg += `\n  log: ${rel(logFileOf(svc))} (last lines below)\n${indent(tail(logFileOf(svc), 30))}`;
      errors.push(msg);
    }
  });
  if (errors.length) {
    // Do not leave half-started processes of failed services behind.
    for (const [i, r] of results.entries())
      if (r.status === 'rejected' && startedBy.has(all[i].name)) await stopService(all[i], true);
    throw new InfraError(errors.join('\n'));
  }
  log(`infra up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

export async function down(names = []) {
  const all = selected(names).filter((s) => s.local);
  // Dependents first (FerretDB before its PostgreSQL), the rest in parallel.
  const isDep = (svc) => all.some((other) => other.after?.includes(svc.name));
  await Promise.all(all.filter((svc) => !isDep(svc)).map((svc) => stopService(svc)));
  await Promise.all(all.filter(isDep).map((svc) => stopService(svc)));
  // verify the ports are free again
  const busy = [];
  for (const svc of all) {
    for (const port of svc.ports) {
      let free = false;
      for (let i = 0; i < 25 && !(free = await portFree(svc.host, port)); i++) await sleep(200);
      if (!free) busy.push(`  ${svc.name}: port ${port} still in use by ${whoListens(port)}`);
    }
  }
  if (busy.length)
    throw new InfraError(`ports still busy after down (not started by this script?):\n${busy.join('\n')}`);
  log('infra down: all ports free');
}

export async function status() {
  let allUp = true;
  for (const svc of services()) {
    if (!svc.local) {
      const open = await tcpOpen(svc.host, svc.port, 1500);
      allUp &&= open;
      log(`${svc.name.padEnd(8)} ${open ? 'up  ' : 'down'}  external ${svc.address}`);
      continue;
    }
    const proc = ourProcess(svc);
    const listening = await tcpOpen(svc.host, svc.port);
    if (proc) {
      const rss = proc.rssKb ? `${(proc.rssKb / 1024).toFixed(0)} MB` : '?';
      const state = listening ? 'up  ' : 'starting';
      allUp &&= listening;
      log(
        `${svc.name.padEnd(8)} ${state}  pid ${String(proc.pid).padEnd(7)} RSS ${rss.padStart(7)}  ${svc.address}  log ${rel(logFileOf(svc))}`,
      );
    } else {
      allUp = false;
      log(
        `${svc.name.padEnd(8)} down  ${listening ? `(port ${svc.port} is taken by another process: ${whoListens(svc.port)})` : svc.address}`,
      );
    }
  }
  return allUp ? 0 : 1;
}

export function logs(args) {
  let lines = 50;
  const names = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-n' || args[i] === '--lines') lines = Number(args[++i]) || lines;
    else names.push(args[i]);
  }
  const all = services();
  const valid = all.map((s) => s.name);
  for (const n of names)
    if (!valid.includes(n)) throw new InfraError(`unknown service "${n}" (one of: ${valid.join(', ')})`);
  for (const svc of all.filter((s) => !names.length || names.includes(s.name))) {
    const files = [logFileOf(svc), path.join(LOGS, `${svc.name}-setup.log`), path.join(LOGS, `${svc.name}-build.log`)];
    for (const f of files.filter((f, i) => i === 0 || fs.existsSync(f))) {
      log(`==> ${rel(f)} <==`);
      log(tail(f, lines));
      log('');
    }
  }
}

/**
 * Stops everything, then wipes the data of all three stores at once (Kafka logs, PostgreSQL/FerretDB,
 * the Cosmos journal), so that none keeps what another forgot: read models and Kafka offsets derived
 * from events the event store no longer has. Downloads, builds and certificates stay.
 */
export async function reset() {
  const external = services().filter((s) => !s.local);
  if (external.length)
    throw new InfraError(
      `reset wipes local stores only, but ${external.map((s) => `${s.name} (${s.address})`).join(', ')} ` +
        'is external: wipe it yourself or point the variables at the local servers.',
    );
  await down();
  const kafkaAside = fs.existsSync(KAFKA_DIR)
    ? fs
        .readdirSync(KAFKA_DIR)
        .filter((f) => f.startsWith('data.old-'))
        .map((f) => path.join(KAFKA_DIR, f))
    : [];
  const wiped = [KAFKA_DATA, path.join(KAFKA_DIR, 'format.json'), ...kafkaAside, PG_DATA, FERRET_DATA, COSMOS_DATA];
  for (const dir of wiped) fs.rmSync(dir, { recursive: true, force: true });
  log(`infra reset: wiped ${wiped.map(rel).join(', ')}; \`npm run infra:up\` starts empty stores`);
}
