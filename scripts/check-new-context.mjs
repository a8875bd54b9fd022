// CI check of the generator: in a temporary copy of the repository (sharing node_modules), runs
// `npm run new:context -- <scratch name>`, then lint, type-check and the generated tests (unit + e2e).
// Usage: node scripts/check-new-context.mjs [name]   (default: parcels). The repository is left untouched.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const name = process.argv[2] ?? 'parcels';
const SKIP = new Set(['node_modules', 'dist', '.infra', '.git', '.env', 'coverage']);

const copy = mkdtempSync(join(tmpdir(), 'new-context-'));
const run = (command, args, env = {}) => {
  console.log(`\n$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: copy, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal})`);
};

try {
  cpSync(root, copy, {
    recursive: true,
    filter: (source) =>
      !relative(root, source)
        .split('/')
        .some((segment) => SKIP.has(segment)),
  });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'), 'dir');
  run('node', ['scripts/new-context.mjs', name]);
  run('npm', ['run', '--silent', 'lint']);
  run('npm', ['run', '--silent', 'typecheck']);
  run(
    'npx',
    [
      'jest',
      '--config',
      'jest.config.js',
      '--selectProjects',
      'unit',
      'e2e',
      '--testPathPatterns',
      `libs/${name}/`,
      `test/e2e/${name}\\.`,
    ],
    {
      NODE_OPTIONS: '--experimental-vm-modules',
    },
  );
  console.log(`\nnew:context check passed: ${name} generated, linted, type-checked, its tests green`);
} catch (error) {
  console.error(`\nnew:context check failed in ${copy}: ${error.message}`);
  process.exitCode = 1;
} finally {
  if (process.exitCode !== 1) rmSync(copy, { recursive: true, force: true });
}
