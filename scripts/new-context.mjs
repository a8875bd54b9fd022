// npm run new:context -- <name> [--aggregate <name>]
// Creates a bounded context from templates/context (the layout orders, inventory and shipping follow):
// libs/<name>/ (domain, application, infrastructure, http, with given/when/then, handler and projection
// specs), its public events in libs/contracts, an e2e spec over HTTP, and registers it in contexts.json, from
// which `npm run contexts:sync` (run here) derives apps/<name>, nest-cli.json, package.json and libs/contexts.
// The aggregate defaults to the name without a trailing "s" (`parcels` -> `parcel`).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as prettier from 'prettier';
import {
  CONTEXT_NAME,
  newContextEntry,
  pascalCase,
  readRegistry,
  syncDerivedFiles,
  writeRegistry,
} from './contexts.mjs';

const root = resolve(process.env.NEW_CONTEXT_ROOT ?? join(import.meta.dirname, '..'));
const templates = join(import.meta.dirname, '..', 'templates', 'context');

const RESERVED = new Set(
  'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await'.split(
    ' ',
  ),
);

const fail = (message) => {
  console.error(`new:context: ${message}`);
  process.exit(2);
};

const words = (name) => name.split('-');
const camel = (name) => pascalCase(name)[0].toLowerCase() + pascalCase(name).slice(1);

const args = process.argv.slice(2);
const at = args.indexOf('--aggregate');
const aggregateArg = at >= 0 ? args.splice(at, 2)[1] : undefined;
const [name] = args;
if (!name || name === '--help') fail('usage: npm run new:context -- <name> [--aggregate <name>]');
const item = aggregateArg ?? (name.length > 3 && name.endsWith('s') ? name.slice(0, -1) : name);

// The registry's own checks (name, taken name, port), before anything is written.
const contexts = readRegistry(root);
let entry;
try {
  entry = newContextEntry(contexts, {
    name,
    title: words(name)
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join(' '),
    commands: `Open and close ${item.replaceAll('-', ' ')}s`,
    queries: `Read ${item.replaceAll('-', ' ')}s, projected from the ${item.replaceAll('-', ' ')} events`,
  });
} catch (error) {
  fail(error.message);
}
if (!CONTEXT_NAME.test(item)) fail(`aggregate "${item}": use lower-case words separated by "-"`);
if (RESERVED.has(camel(item)) || RESERVED.has(camel(name))) fail(`"${item}" is a reserved word in TypeScript`);
// Building blocks (core, contracts, ...) and unregistered leftovers live under libs/ too.
if (existsSync(join(root, 'libs', name))) fail(`libs/${name} exists already (a building block, or a leftover)`);
const topics = readFileSync(join(root, 'libs/contracts/src/topics.ts'), 'utf8');
if (topics.includes(`'${name}.`)) fail(`topics of "${name}" exist already in libs/contracts/src/topics.ts`);
if (topics.includes(`${item.toUpperCase().replaceAll('-', '_')}_CATEGORY`))
  fail(`category of "${item}" exists already`);

const tokens = {
  __context__: name,
  __Context__: pascalCase(name),
  __contextCamel__: camel(name),
  __context_snake__: name.replaceAll('-', '_'),
  __item__: item,
  __Item__: pascalCase(item),
  __itemCamel__: camel(item),
  __ITEM__: item.toUpperCase().replaceAll('-', '_'),
};
const fill = (text) =>
  text.replaceAll(/__(context|Context|contextCamel|context_snake|item|Item|itemCamel|ITEM)__/g, (t) => tokens[t]);

/** Where a template file goes: lib/ -> libs/<name>/src/, contracts/ -> libs/contracts/src/<name>., e2e/ -> test/e2e/. */
const targetOf = (template) => {
  const path = template
    .replace(/\.tpl$/, '')
    .split('/')
    .map((segment) => segment.replace(/\bitem(s?)\b/g, `${item}$1`).replace(/\bcontext\b/g, name))
    .join('/');
  if (path.startsWith('lib/')) return `libs/${name}/src/${path.slice(4)}`;
  if (path === 'contracts/events.ts') return `libs/contracts/src/${name}.events.ts`;
  if (path.startsWith('e2e/')) return `test/e2e/${path.slice(4)}`;
  throw new Error(`template ${template} has no place`);
};

const touched = [];
const write = async (file, text) => {
  const path = join(root, file);
  mkdirSync(dirname(path), { recursive: true });
  const options = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(text, { ...options, filepath: path }));
  touched.push(file);
};

// 1. The context's files from the template.
const templateFiles = readdirSync(templates, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => relative(templates, join(entry.parentPath, entry.name)));
for (const template of templateFiles.sort()) {
  await write(targetOf(template), fill(readFileSync(join(templates, template), 'utf8')));
}

// 2. Its public events and topic in the contracts.
const contractsIndex = join(root, 'libs/contracts/src/index.ts');
await write(
  'libs/contracts/src/index.ts',
  `${readFileSync(contractsIndex, 'utf8')}export * from './${name}.events.js';\n`,
);
const mapStart = topics.indexOf('export const EVENT_TOPICS');
const mapEnd = topics.indexOf('};', mapStart);
const lastImport = topics.lastIndexOf('\nimport ');
const importEnd = topics.indexOf('\n', lastImport + 1);
if (mapStart < 0 || mapEnd < 0 || lastImport < 0) fail('libs/contracts/src/topics.ts: EVENT_TOPICS not found');
await write(
  'libs/contracts/src/topics.ts',
  topics.slice(0, importEnd + 1) +
    `import { ${tokens.__ITEM__}_CATEGORY } from './${name}.events.js';\n` +
    topics.slice(importEnd + 1, mapEnd) +
    `  [${tokens.__ITEM__}_CATEGORY]: '${name}.${item}',\n` +
    topics.slice(mapEnd),
);

// 3. The registry entry, and what is derived from it.
await writeRegistry(root, [...contexts, entry]);
touched.push('contexts.json', ...(await syncDerivedFiles(root)));

console.log(`Created the ${name} context (aggregate ${pascalCase(item)}, port ${entry.port}):`);
for (const file of touched.sort()) console.log(`  ${file}`);
console.log(`Next: npm run lint && npm run typecheck && npm test; npx nest start ${name}`);
