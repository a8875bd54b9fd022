// Results: the machine they were measured on, a JSON file and a markdown table in bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, arch, loadavg, platform, release, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { repoRoot } from './env.js';

/** One benchmark's figure: ours next to the raw driver doing the same work in the same run. */
export interface BenchResult {
  readonly name: string;
  /** Unit of `ours` and `raw` (e.g. `commands/s`). */
  readonly unit: string;
  readonly ours: number;
  readonly raw: number;
  /** ours / raw for throughputs: 1 = as fast as the raw driver. */
  readonly ratio: number;
  /** One line for the results table. */
  readonly notes?: string;
  readonly details: Record<string, unknown>;
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly totalMemoryGb: number;
  readonly node: string;
  readonly os: string;
  readonly date: string;
  readonly gitCommit: string;
  /** 1/5/15-minute load averages when the report was written: a shared machine's noise shows here. */
  readonly loadAverage: readonly number[];
}

const git = (...args: string[]): string | undefined => {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
};

export const machineInfo = (): MachineInfo => {
  const cpuList = cpus();
  const commit = git('rev-parse', '--short=12', 'HEAD') ?? 'unknown';
  // The results of an earlier run, not yet committed, do not make the code measured a different one.
  const dirty = (git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results') ?? '') !== '';
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    totalMemoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
    date: new Date().toISOString(),
    gitCommit: dirty ? `${commit} (with uncommitted changes)` : commit,
    loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
  };
};

/** Figures for the tables; NaN (a side that did not run) as a dash. */
const format = (value: number): string =>
  Number.isNaN(value)
    ? '-'
    : !Number.isFinite(value)
      ? String(value)
      : Math.abs(value) >= 100
        ? Math.round(value).toLocaleString('en-US')
        : String(Math.round(value * 100) / 100);

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** The markdown report: machine info, then one table row per result. */
export const toMarkdown = (
  name: string,
  results: readonly BenchResult[],
  machine = machineInfo(),
  sections: readonly string[] = [],
): string =>
  [
    `# Benchmarks: ${name}`,
    '',
    `- CPU: ${machine.cpuModel} (${machine.cores} cores)`,
    `- Memory: ${machine.totalMemoryGb} GB`,
    `- Node: ${machine.node}`,
    `- OS: ${machine.os}`,
    `- Date: ${machine.date}`,
    `- Commit: ${machine.gitCommit}`,
    `- Load average (1/5/15 min, at the end): ${machine.loadAverage.join(' / ')}`,
    '',
    'Each figure is measured side by side with the raw driver doing the same work in the same run,',
    'interleaved rounds, medians; ratio = ours / raw (1 = as fast as the raw driver).',
    '',
    '| benchmark | ours | raw | ratio | unit | notes |',
    '| --- | ---: | ---: | ---: | --- | --- |',
    ...results.map(
      (r) =>
        `| ${cell(r.name)} | ${format(r.ours)} | ${format(r.raw)} | ${r.ratio.toFixed(2)} | ${cell(r.unit)} | ` +
        `${cell(r.notes ?? '')} |`,
    ),
    '',
    ...sections.flatMap((section) => [section, '']),
  ].join('\n');

/** Writes bench/results/<name>.json (machine, results, extra) and bench/results/<name>.md; returns both paths. */
export const writeResults = (
  name: string,
  results: readonly BenchResult[],
  extra: object = {},
  /** Markdown sections written after the table (e.g. the end-to-end table of every service). */
  sections: readonly string[] = [],
): { json: string; markdown: string } => {
  const directory = resolve(repoRoot, 'bench', 'results');
  mkdirSync(directory, { recursive: true });
  const machine = machineInfo();
  const json = resolve(directory, `${name}.json`);
  const markdown = resolve(directory, `${name}.md`);
  writeFileSync(json, `${JSON.stringify({ name, machine, results, ...extra }, null, 2)}\n`);
  writeFileSync(markdown, toMarkdown(name, results, machine, sections));
  return { json, markdown };
};

/** ours / raw, rounded; 0 when raw measured nothing. */
export const ratioOf = (ours: number, raw: number): number => (raw > 0 ? Math.round((ours / raw) * 1000) / 1000 : 0);
