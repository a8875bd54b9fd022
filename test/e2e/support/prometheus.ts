import { request } from './openapi-contract.js';
import type { Server } from 'node:http';

/** One scrape of GET /metrics: sample name with its labels (as exposed) -> value. */
export type Scrape = ReadonlyMap<string, number>;

/** Reads the Prometheus text exposition format (what a scraper does), without comments. */
export const parsePrometheus = (text: string): Scrape => {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
};

export const scrape = async (server: Server | string): Promise<Scrape> => {
  const response = await request(server).get('/metrics');
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  if (!String(response.headers['content-type']).startsWith('text/plain'))
    throw new Error(`GET /metrics is ${response.headers['content-type']}, not the text format`);
  return parsePrometheus(response.text);
};

/** The sum of every sample of `name` whose labels include `labels` (0 when there is none). */
export const sample = (scrape: Scrape, name: string, labels: Record<string, string> = {}): number => {
  let sum = 0;
  for (const [key, value] of scrape) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([label, v]) => key.includes(`${label}="${v}"`))) sum += value;
  }
  return sum;
};
