// The chaos suite's report: availability (share of logical orders accepted, overall and per 10 s window, to see
// which fault cost what), retries, what the stores hold, the timeline of faults, and the services' unexpected exits.
import type { Chaos } from './chaos.js';
import type { LogicalOrder, LogicalRestock, Stores } from './invariants.js';

export interface ReportInput {
  readonly since: number;
  readonly logical: readonly LogicalOrder[];
  readonly restocks: readonly LogicalRestock[];
  readonly stores: Stores | undefined;
  readonly chaos: Chaos;
  /** How long after the faults everything had settled; undefined: not within the wait. */
  readonly settledInMs: number | undefined;
  readonly logDir: string;
  readonly MIN_AVAILABILITY: number;
}

const percent = (part: number, whole: number) => `${((100 * part) / Math.max(whole, 1)).toFixed(1)}%`;

const countBy = <T>(items: readonly T[], key: (item: T) => string): string =>
  Object.entries(
    items.reduce<Record<string, number>>(
      (counts, item) => ({ ...counts, [key(item)]: (counts[key(item)] ?? 0) + 1 }),
      {},
    ),
  )
    .map(([k, n]) => `${k} x${n}`)
    .join(', ') || 'none';

export const chaosReport = ({
  since,
  logical,
  restocks,
  stores,
  chaos,
  settledInMs,
  logDir,
  MIN_AVAILABILITY,
}: ReportInput) => {
  const accepted = logical.filter((o) => o.result.accepted);
  const refused = logical.filter((o) => !o.result.accepted);
  const attempts = logical.reduce((n, o) => n + o.result.attempts.length, 0);
  const stored = stores ? [...stores.orders.values()] : [];
  const storedCustomers = new Set(stored.map((o) => o.customerId));
  const perCustomer = stored.reduce<Map<string, number>>(
    (m, o) => m.set(o.customerId, (m.get(o.customerId) ?? 0) + 1),
    new Map(),
  );
  const windows: string[] = [];
  const last = Math.max(0, ...logical.map((o) => o.result.issuedAt));
  for (let from = 0; from <= last; from += 10_000) {
    const inWindow = logical.filter((o) => o.result.issuedAt >= from && o.result.issuedAt < from + 10_000);
    const ok = inWindow.filter((o) => o.result.accepted).length;
    windows.push(`${from / 1_000}-${from / 1_000 + 10} s: ${ok}/${inWindow.length}`);
  }
  return [
    `chaos report (logs: ${logDir})`,
    `  availability: ${accepted.length} of ${logical.length} logical orders accepted = ${percent(accepted.length, logical.length)} (target ${MIN_AVAILABILITY * 100}%)`,
    `  refused for good (last attempt): ${countBy(refused, (o) => o.result.attempts.at(-1) ?? '?')}`,
    `  retries: ${attempts - logical.length} (${attempts} attempts); accepted after a retry: ${accepted.filter((o) => o.result.attempts.length > 1).length}; ` +
      `retried attempts answered: ${countBy(
        logical.flatMap((o) => o.result.attempts.slice(0, -1)),
        (a) => a,
      )}`,
    `  refused to the client but stored anyway: ${refused.filter((o) => storedCustomers.has(o.customerId)).length}`,
    `  stored orders: ${stored.length} (${countBy(stored, (o) => o.outcome ?? 'PENDING')}); logical orders stored more than once: ` +
      `${[...perCustomer.values()].filter((n) => n > 1).length}`,
    `  restocks accepted: ${restocks.filter((r) => r.result.accepted).length} of ${restocks.length}; outbox left: ${stores?.outbox}`,
    `  by 10 s window (accepted/issued): ${windows.join(' | ')}`,
    `  ${settledInMs === undefined ? 'NOT settled' : `settled ${(settledInMs / 1_000).toFixed(1)} s`} after the faults; ` +
      `${((Date.now() - since) / 1_000).toFixed(0)} s since the first order`,
    `  unexpected exits: ${chaos.unexpectedExits.map((e) => `${e.service} (${e.exit}) at ${e.at} s:\n${e.logTail}`).join('\n') || 'none'}`,
    `  timeline:\n    ${chaos.timeline.join('\n    ')}`,
  ].join('\n');
};
