// The processes `up` starts, found again by the pid records in .infra/run/ (a record counts only while
// its process still runs the service's command line, so a reused pid is never signalled), started
// detached with their output in .infra/logs/, probed until their client answers, and stopped by signal
// (SIGKILL after the service's timeout). One infra command at a time holds .infra/run/lock.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { InfraError, LOGS, log, mkdirp, rel, ROOT, RUN, sleep, which } from './common.mjs';

export function procInfo(pid) {
  // { alive, cmdline, rssKb } for a pid; Linux /proc first, `ps` elsewhere.
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return { alive: false };
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return { alive: false };
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return { alive: true, cmdline, rssKb: m ? Number(m[1]) : undefined };
  } catch {
    const r = spawnSync('ps', ['-o', 'rss=,command=', '-p', String(pid)], { encoding: 'utf8' });
    const m = /^\s*(\d+)\s+(.*)$/m.exec(r.stdout ?? '');
    return m ? { alive: true, cmdline: m[2], rssKb: Number(m[1]) } : { alive: false };
  }
}

export function portFree(host, port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, ''), port, exclusive: true }, () =>
      srv.close(() => resolve(true)),
    );
  });
}

export function tcpOpen(host, port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export function whoListens(port) {
  // Best effort description of the process holding a TCP port.
  if (which('ss')) {
    const r = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const line = (r.stdout ?? '').trim().split('\n')[0];
    if (line) return line.replace(/\s+/g, ' ');
  }
  if (which('lsof')) {
    const r = spawnSync('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN'], { encoding: 'utf8' });
    const line = (r.stdout ?? '').trim().split('\n')[1];
    if (line) return line.replace(/\s+/g, ' ');
  }
  return 'unknown process';
}

export const pidFile = (svc) => path.join(RUN, `${svc.name}.json`);

function readPid(svc) {
  try {
    return JSON.parse(fs.readFileSync(pidFile(svc), 'utf8'));
  } catch {
    return null;
  }
}

/** The running process we started for this service, or null (stale pid files are removed). */
export function ourProcess(svc) {
  const rec = readPid(svc);
  if (!rec) return null;
  const info = procInfo(rec.pid);
  if (info.alive && info.cmdline && info.cmdline.includes(svc.marker)) return { ...rec, ...info };
  fs.rmSync(pidFile(svc), { force: true });
  return null;
}

export function logFileOf(svc) {
  return path.join(LOGS, `${svc.name}.log`);
}

export function startDetached(svc) {
  const [cmd, args] = svc.command(svc);
  const logFile = logFileOf(svc);
  if (fs.existsSync(logFile)) fs.renameSync(logFile, `${logFile}.1`); // keep the previous run's log
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `# ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
  const user = svc.spawnAs?.();
  const child = spawn(cmd, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: process.env,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  fs.closeSync(fd);
  let spawnError;
  child.once('error', (e) => (spawnError = e));
  child.unref();
  if (!child.pid) throw new InfraError(`could not start ${svc.name}: ${cmd} not runnable`);
  fs.writeFileSync(
    pidFile(svc),
    JSON.stringify({ pid: child.pid, startedAt: new Date().toISOString(), cmd: [cmd, ...args].join(' ') }),
  );
  return { pid: child.pid, spawnError: () => spawnError };
}

export async function waitReady(svc, started, deadline) {
  let lastErr = 'no answer yet';
  while (Date.now() < deadline) {
    if (started && !procInfo(started.pid).alive) {
      throw new InfraError(
        `${svc.name} exited during startup${started.spawnError() ? ` (${started.spawnError().message})` : ''}.`,
      );
    }
    if (await tcpOpen(svc.host, svc.port)) {
      try {
        return await withTimeout(svc.probe(svc), Math.max(1000, Math.min(15_000, deadline - Date.now())));
      } catch (e) {
        lastErr = e.message;
      }
    } else {
      lastErr = `nothing listening on ${svc.host}:${svc.port}`;
    }
    await sleep(300);
  }
  throw new InfraError(`${svc.name} did not become ready in time (last probe: ${lastErr}).`);
}

function withTimeout(promise, ms) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`probe timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(t));
}

export async function withLock(fn) {
  mkdirp(RUN);
  const lock = path.join(RUN, 'lock');
  for (let i = 0; ; i++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(fs.readFileSync(lock, 'utf8')) || 0;
      if (!holder || !procInfo(holder).alive) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (i === 0) log(`waiting for another infra command (pid ${holder}) to finish ...`);
      if (i > 600) throw new InfraError(`another infra command (pid ${holder}) holds ${rel(lock)}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

export async function stopService(svc, quiet = false) {
  const proc = ourProcess(svc);
  if (!proc) {
    if (!quiet) log(`${svc.name}: not running`);
    return;
  }
  const t0 = Date.now();
  const signal = svc.stopSignal ?? 'SIGTERM';
  try {
    process.kill(proc.pid, signal);
  } catch {
    // already gone
  }
  while (procInfo(proc.pid).alive && Date.now() - t0 < svc.stopTimeoutMs) await sleep(200);
  let how = signal;
  if (procInfo(proc.pid).alive) {
    how = 'SIGKILL after timeout';
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    while (procInfo(proc.pid).alive && Date.now() - t0 < svc.stopTimeoutMs + 5000) await sleep(100);
  }
  fs.rmSync(pidFile(svc), { force: true });
  if (!quiet) log(`${svc.name}: stopped pid ${proc.pid} (${how}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
