// Keeps README.md and docs/*.md true to the repository (part of `npm run lint`): every `npm run <script>`
// they show is a script of package.json, every `nest start <app>` a project of nest-cli.json, every
// relative link a file (and heading) that exists, every repository path in backticks a file or folder,
// and every environment variable in backticks one that the code, .env.example or the scripts read.
// Prints each problem as file:line and exits 1 when there is one.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const scripts = new Set(Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts));
const projects = new Set(Object.keys(JSON.parse(readFileSync(join(root, 'nest-cli.json'), 'utf8')).projects));
/** Variables set by the platform or by tools, not read from our configuration. */
const EXTERNAL = new Set(['NODE_ENV', 'NODE_OPTIONS', 'PATH', 'CI', 'JAVA_HOME', 'HOME', 'XDG_CACHE_HOME']);
/** Prefixes of names that are not ours: OpenTelemetry's and Azure identity's variables, Kafka listener kinds. */
const EXTERNAL_PREFIXES = ['OTEL_', 'AZURE_', 'SASL_'];
const PATH_ROOTS = /^(apps|libs|test|scripts|infra|bench|docs|templates|patches|\.ci)\//;
const ROOT_FILES = new Set(['docker-compose.yml', 'Dockerfile', '.env.example', 'contexts.json', 'nest-cli.json']);

// Every source and config file's text once, to find the variables in (a walk, not git: the generator
// check runs this in a copy without .git).
const SKIP = new Set(['node_modules', 'dist', '.infra', '.git', 'coverage', 'docs']);
const walk = (dir) =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return SKIP.has(entry.name) ? [] : walk(path);
    return [path];
  });
const tracked = walk('').filter((f) =>
  /\.(ts|mjs|cjs|js|sh|yml|json)$|^\.env\.example$|^\.ci\/run$|Dockerfile$/.test(f),
);
const sources = tracked.map((f) => readFileSync(join(root, f), 'utf8')).join('\n');
const knownVariable = (name) =>
  EXTERNAL.has(name) || EXTERNAL_PREFIXES.some((p) => name.startsWith(p)) || new RegExp(`\\b${name}\\b`).test(sources);

const slug = (heading) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
const headingsOf = (file) =>
  new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) => slug(l.replace(/^#+ /, ''))),
  );

const problems = [];
for (const doc of docs) {
  const text = readFileSync(join(root, doc), 'utf8');
  // `<!-- docs-check: example invoices -->`: a name the page generates as an example, not in the tree.
  const examples = [...text.matchAll(/<!-- docs-check: example (\S+) -->/g)].map(([, name]) => name);
  text.split('\n').forEach((line, i) => {
    const at = `${doc}:${i + 1}`;
    if (examples.some((name) => line.includes(name))) return;
    for (const [, name] of line.matchAll(/npm run (?:--silent )?([a-z][\w:.-]*)(?![\w<])/g))
      if (!scripts.has(name)) problems.push(`${at}: npm run ${name}: no such script in package.json`);
    for (const [, app] of line.matchAll(/nest start ([a-z][\w-]*)/g))
      if (!projects.has(app)) problems.push(`${at}: nest start ${app}: no such project in nest-cli.json`);
    for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
      const [path, anchor] = target.split('#');
      const file = path ? resolve(dirname(join(root, doc)), path) : join(root, doc);
      if (!existsSync(file)) problems.push(`${at}: link to ${target}: no such file`);
      else if (anchor && file.endsWith('.md') && !headingsOf(file).has(anchor))
        problems.push(`${at}: link to ${target}: no such heading in ${relative(root, file)}`);
    }
    for (const [, code] of line.matchAll(/`([^`]+)`/g)) {
      const token = code
        .trim()
        .split(/\s+/)[0]
        .replace(/[:,;.]$/, '');
      if ((PATH_ROOTS.test(token) || ROOT_FILES.has(token)) && !/[<>*{}$]|\.\.\./.test(token)) {
        if (!existsSync(join(root, token.split('#')[0]))) problems.push(`${at}: \`${token}\`: no such path`);
      }
      for (const [, name] of code.matchAll(/(?:^|[\s(])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?==|\b)/g))
        if (!knownVariable(name)) problems.push(`${at}: ${name}: no code, script or .env.example reads it`);
    }
  });
}
for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(`docs check: ${problems.length} problem(s) in README.md and docs/`);
  process.exit(1);
}
console.log(`docs check: ${docs.length} pages agree with package.json, nest-cli.json and the tree`);
