// npm run start:services: builds once, then runs every context of the registry (contexts.json) as a service
// of its own (orders 3001, inventory 3002, ...; `<NAME>_PORT` moves one); like the apps it reads `.env` (or
// ENV_FILE) beneath the environment of this shell, which wins. Ctrl-C stops them all gracefully. Each line
// of output is prefixed with the service name.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readRegistry } from './contexts.mjs';

const envFile = process.env.ENV_FILE ?? '.env';
if (envFile && existsSync(envFile)) process.loadEnvFile(envFile);

// The registry as every tool reads it: a bad entry stops here, naming the problem, before anything starts.
const services = readRegistry().map(({ name, port }) => ({
  name,
  port: process.env[`${name.toUpperCase().replaceAll('-', '_')}_PORT`] ?? String(port),
}));
const width = Math.max(...services.map((s) => s.name.length));

const build = spawnSync('npx', ['nest', 'build', 'monolith'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const children = services.map(({ name, port }) => {
  const child = spawn(process.execPath, [`dist/apps/${name}/src/main.js`], {
    env: { ...process.env, PORT: port, EVENT_TRANSPORT: process.env.EVENT_TRANSPORT ?? 'kafka' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) console.log(`${name.padEnd(width)} | ${line}`);
    });
  }
  child.on('exit', (code, signal) => {
    console.log(`${name.padEnd(width)} | exited (${signal ?? code})`);
    if (!stopping) stop(code ?? 1);
  });
  return child;
});

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : null))).then(() =>
    process.exit(code),
  );
}
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());
