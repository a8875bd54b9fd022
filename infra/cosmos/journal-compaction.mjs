// Compaction of the Cosmos server's journal: at start-up (nothing else runs) when it holds COMPACT_RATIO x
// more entries than live items, and while serving once it grew past ONLINE_RATIO x its size after the last
// compaction (and past COSMOS_JOURNAL_COMPACT_BYTES, default 64 MiB): a day of benchmarks writes gigabytes
// for a few megabytes kept. Online, the live state is captured in one tick (references to the stored
// objects, which writes replace rather than change), written out a slice at a time between requests, and
// every entry recorded meanwhile is appended to the new file; then, with no flush in flight, the new file
// is synced and renamed over the journal in one step. A crash at any point leaves the old journal whole.
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fdatasyncAsync, syncDir, writeAll } from './journal-writer.mjs';

// Compact at start-up when the journal holds this many times more entries than live items (and more
// than COMPACT_MIN entries): then replay time follows the data kept, not the history of writes.
export const COMPACT_RATIO = 2;
export const COMPACT_MIN = 10_000;
const SNAPSHOT_LINE = 1_000; // entries per line when compacting

/** The live state as journal entries (one set per item), captured now: the stored objects, not copies. */
function snapshotOf(account) {
  const entries = [];
  const dbs = account.databases;
  for (const db of dbs._data.values()) {
    const dbRid = db.read()._rid;
    entries.push({ o: 's', k: 'dbs', n: dbs._ridCount, d: db.read() });
    const colls = db.collections;
    for (const coll of colls._data.values()) {
      entries.push({ o: 's', k: 'colls', db: dbRid, n: colls._ridCount, d: coll.read() });
      const docs = coll.documents;
      const collRid = coll.read()._rid;
      for (const doc of docs._data.values())
        entries.push({ o: 's', k: 'docs', db: dbRid, coll: collRid, n: docs._ridCount, d: doc.read() });
    }
  }
  return entries;
}

const linesOf = (entries, from, to) => `${JSON.stringify(entries.slice(from, to))}\n`;

/** At start-up (nothing else runs): rewrites the journal as the live state, fsynced, swapped in atomically. */
export function compactNow(account, file) {
  const tmp = `${file}.compact`;
  const entries = snapshotOf(account);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (let i = 0; i < entries.length; i += SNAPSHOT_LINE) fs.writeSync(fd, linesOf(entries, i, i + SNAPSHOT_LINE));
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
}

/**
 * While serving: the state of this tick is written out a line at a time (requests run between the
 * writes), the entries recorded since are appended, and the result replaces the journal at a moment when
 * no flush is in flight (`Writer#swap`). Replaying it gives the state at the swap: the snapshot, then
 * every change made after it, in order.
 */
export async function compactOnline(account, file, writer) {
  const started = Date.now();
  const pauses = monitorEventLoopDelay({ resolution: 5 }); // what the requests waiting meanwhile felt
  pauses.enable();
  const entries = snapshotOf(account);
  writer.keepTail(); // in the same tick: every entry recorded from now on is also kept for the new file
  const fd = fs.openSync(`${file}.compact`, 'w');
  let open = true;
  try {
    for (let i = 0; i < entries.length; i += SNAPSHOT_LINE) await writeAll(fd, linesOf(entries, i, i + SNAPSHOT_LINE));
    // The snapshot to disk off the event loop: what the swap then syncs is only the tail.
    await fdatasyncAsync(fd);
    const meanwhile = await writer.swap((tail) => {
      // synchronous from here: nothing is recorded or flushed until the new journal is in place
      for (let i = 0; i < tail.length; i += SNAPSHOT_LINE) fs.writeSync(fd, linesOf(tail, i, i + SNAPSHOT_LINE));
      fs.fdatasyncSync(fd);
      open = false;
      fs.closeSync(fd);
      return tail.length;
    });
    console.log(
      `cosmosdb-server: journal compacted while serving to ${entries.length} items (+${meanwhile} writes ` +
        `meanwhile), ${fs.statSync(file).size} bytes, in ${Date.now() - started} ms; longest event-loop ` +
        `pause ${Math.round(pauses.max / 1e6)} ms`,
    );
  } finally {
    pauses.disable();
    if (open) fs.closeSync(fd);
  }
}
