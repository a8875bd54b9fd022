// Durability for @vercel/cosmosdb-server, which keeps everything in memory: every change of its
// storage is appended to <data>/journal.jsonl and flushed (fdatasync) before any answer leaves the
// server; at start-up the journal is replayed into the empty account, and compacted when it holds
// much more than the live data.
//
// What is recorded: the package's two storage primitives, `Items#_set(data)` and `Items#delete(id,
// partition)`, for databases, containers and documents (every create, replace, upsert, delete, patch
// and batch goes through them; partition key ranges are derived from the container and not recorded;
// user-defined functions are not persisted). A set records the stored document as the server made it,
// with its `_rid`, `_ts` and `_etag`, so replay rebuilds the state exactly, system properties included.
//
// ETags: kept, not regenerated. The server makes each `_etag` a random UUID per write, so an ETag a
// client held before a restart matches after it exactly the document version it matched before, and
// no other; a new write after the restart gets a new random UUID. (Regenerating them at replay would be
// safe as well, since no old ETag could match, but would fail every compare-and-swap a client held,
// e.g. the relay's lease, for no reason.)
//
// Compaction: at start-up, and while serving once the journal grew past COMPACT_RATIO x the live data
// (and past COSMOS_JOURNAL_COMPACT_BYTES, default 64 MiB): a day of benchmarks writes gigabytes for a
// few megabytes kept. Online, the live state is captured in one tick (references to the stored objects,
// which writes replace rather than change), written out a slice at a time between requests, and every
// entry recorded meanwhile is appended to the new file; then, with no flush in flight, the new file is
// synced and renamed over the journal in one step. A crash at any point leaves the old journal whole.
//
// Format: one line per flush, a JSON array of entries. A flush is one write() of whole lines, so an
// interrupted one leaves at most a torn last line, which replay drops (those writes were never
// acknowledged); a bad line anywhere else is reported as corruption. One request's writes happen in one
// tick, so they land in one line: a transactional batch is on disk whole or not at all.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const lib = (file) => require(`@vercel/cosmosdb-server/lib/account/${file}.js`);
const { default: Items } = lib('items');
const { default: Databases } = lib('databases');
const { default: Collections } = lib('collections');
const { default: Documents } = lib('documents');
const accountModule = lib('index');

// Compact at start-up when the journal holds this many times more entries than live items (and more
// than COMPACT_MIN entries): then replay time follows the data kept, not the history of writes.
const COMPACT_RATIO = 2;
const COMPACT_MIN = 10_000;
const SNAPSHOT_LINE = 1_000; // entries per line when compacting
// Online: compact when the journal is this many times the size it had after the last compaction (the
// live data then), and at least this big.
const ONLINE_RATIO = 4;
const ONLINE_MIN_BYTES = Number(process.env.COSMOS_JOURNAL_COMPACT_BYTES || 64 * 1024 * 1024);

/**
 * Hooks the storage of @vercel/cosmosdb-server and replays `<dir>/journal.jsonl` into the account the
 * server creates when it starts listening. Call once, before the server is created.
 */
export function openJournal(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'journal.jsonl');
  const parentOf = new WeakMap(); // container item -> its database item
  let writer; // null while replaying: nothing is recorded
  let summary = 'journal not loaded yet';

  // ---- which Items instance an entry belongs to, by the `_rid`s of its database and container
  const scopeOf = (items) => {
    if (items instanceof Databases) return { k: 'dbs' };
    if (items instanceof Collections) return { k: 'colls', db: items._parent.read()._rid };
    if (items instanceof Documents) {
      const container = items._parent;
      const database = parentOf.get(container)?.read();
      if (!database || !container.read()) throw new Error('a document outside of any container');
      return { k: 'docs', db: database._rid, coll: container.read()._rid };
    }
    return null; // partition key ranges, user-defined functions
  };
  const itemsOf = (account, { k, db, coll }) => {
    if (k === 'dbs') return account.databases;
    const database = account.databases._data.get(db);
    if (k === 'colls') return database?.collections;
    return database?.collections._data.get(coll)?.documents;
  };

  // ---- recording
  const { _set: set, delete: del } = Items.prototype;
  Items.prototype._set = function journalledSet(data) {
    const result = set.call(this, data);
    const scope = writer && scopeOf(this);
    if (scope) writer.append({ o: 's', ...scope, n: this._ridCount, d: result });
    return result;
  };
  Items.prototype.delete = function journalledDelete(idOrRid, partition) {
    const scope = writer && scopeOf(this);
    del.call(this, idOrRid, partition);
    if (scope) writer.append({ o: 'd', ...scope, id: idOrRid, p: partition });
  };
  const newCollection = Collections.prototype._newItem;
  Collections.prototype._newItem = function rememberDatabase(data) {
    const container = newCollection.call(this, data);
    parentOf.set(container, this._parent);
    return container;
  };

  // ---- replay, when the server creates its account
  const { default: Account } = accountModule;
  accountModule.default = class JournalledAccount extends Account {
    constructor(...args) {
      super(...args);
      const started = Date.now();
      const { entries, lines } = replay(this, file, itemsOf);
      const live = countLive(this);
      summary = `journal ${file}: ${entries} writes replayed (${live} items) in ${Date.now() - started} ms`;
      fs.rmSync(`${file}.compact`, { force: true }); // what an interrupted compaction left
      if (entries > COMPACT_MIN && entries > COMPACT_RATIO * live) {
        const t = Date.now();
        compactNow(this, file);
        summary += `, compacted to ${live} entries in ${Date.now() - t} ms`;
      } else if (lines.torn) {
        fs.truncateSync(file, lines.goodBytes);
        summary += `, dropped a torn last line (unacknowledged writes)`;
      }
      writer = new Writer(file, (w) => compactOnline(this, file, w));
    }
  };

  return {
    /** Resolves once every write made so far is on disk. */
    durable: () => (writer ? writer.durable() : Promise.resolve()),
    close: async () => {
      await writer?.durable();
      writer?.close();
    },
    describe: () => summary,
  };
}

const READ_CHUNK = 16 * 1024 * 1024;

/**
 * Replays the journal line by line, reading it in chunks: its size is bounded by the disk, not by what
 * one Buffer or string can hold (a day of benchmarks wrote more than the 2 GiB `readFileSync` takes).
 */
function replay(account, file, itemsOf) {
  if (!fs.existsSync(file)) return { entries: 0, lines: { torn: false } };
  const fd = fs.openSync(file, 'r');
  let entries = 0;
  let lineNo = 0;
  let bad; // the first line that did not parse: torn if nothing but newlines follows it
  const apply = (bytes, offset) => {
    lineNo += 1;
    if (bad) {
      if (bytes.every((b) => b === 10)) return;
      throw new Error(
        `${file} line ${bad.lineNo} is corrupt (${bad.err.message}); move the file aside to start empty`,
        { cause: bad.err },
      );
    }
    let batch;
    try {
      batch = JSON.parse(bytes.toString('utf8'));
      if (!Array.isArray(batch)) throw new Error('not an array');
    } catch (err) {
      if (bytes.length === 0) return; // an empty line (nothing was cut short)
      bad = { lineNo, err, offset };
      return;
    }
    for (const e of batch) {
      const items = itemsOf(account, e);
      if (!items) throw new Error(`${file} line ${lineNo}: ${e.k} of a missing parent (${e.db}/${e.coll})`);
      if (e.o === 's') {
        items._set(e.d);
        items._ridCount = Math.max(items._ridCount, e.n);
      } else {
        items.delete(e.id, e.p);
      }
      entries += 1;
    }
  };
  try {
    let carry = Buffer.alloc(0); // the start of a line that continues in the next chunk
    let carryAt = 0; // its offset in the file
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let end = data.indexOf(10, start); end !== -1; end = data.indexOf(10, start)) {
        apply(data.subarray(start, end), carryAt + start);
        start = end + 1;
      }
      carryAt += start;
      carry = Buffer.from(data.subarray(start)); // a copy: `chunk` is overwritten by the next read
    }
    if (carry.length) apply(carry, carryAt);
  } finally {
    fs.closeSync(fd);
  }
  if (bad) return { entries, lines: { torn: true, goodBytes: bad.offset } };
  return { entries, lines: { torn: false } };
}

function countLive(account) {
  let n = 0;
  for (const db of account.databases._data.values()) {
    n += 1;
    for (const coll of db.collections._data.values()) n += 1 + coll.documents._data.size;
  }
  return n;
}

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
function compactNow(account, file) {
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

const writeAsync = promisify(fs.write);
const fdatasyncAsync = promisify(fs.fdatasync);

/** Writes all of `text` at the end of `fd` (a write may take less than it was given); resolves with the bytes. */
async function writeAll(fd, text) {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length;) {
    const { bytesWritten } = await writeAsync(fd, bytes, at, bytes.length - at, null);
    at += bytesWritten;
  }
  return bytes.length;
}

/**
 * While serving: the state of this tick is written out a line at a time (requests run between the
 * writes), the entries recorded since are appended, and the result replaces the journal at a moment when
 * no flush is in flight (`Writer#swap`). Replaying it gives the state at the swap: the snapshot, then
 * every change made after it, in order.
 */
async function compactOnline(account, file, writer) {
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

function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Appends entries; `durable()` group-commits: one write + fdatasync for all entries pending. Starts an
 * online compaction (`compact(writer)`) when the journal outgrew the live data.
 */
class Writer {
  #file;
  #fd;
  #pending = [];
  #appended = 0;
  #onDisk = 0;
  #flushing = null;
  #compact;
  #compacting = false;
  #tail = null; // entries recorded while a compaction runs
  #gate = null; // while the journal is swapped: no flush starts
  #bytes; // size of the journal
  #compactAt; // its size that starts the next compaction

  constructor(file, compact) {
    const existed = fs.existsSync(file);
    this.#file = file;
    this.#fd = fs.openSync(file, 'a');
    if (!existed) syncDir(path.dirname(file));
    this.#compact = compact;
    this.#bytes = fs.fstatSync(this.#fd).size;
    this.#compactAt = Math.max(ONLINE_MIN_BYTES, ONLINE_RATIO * this.#bytes);
  }

  append(entry) {
    this.#pending.push(entry);
    this.#tail?.push(entry);
    this.#appended += 1;
  }

  async durable() {
    const target = this.#appended;
    while (this.#onDisk < target) {
      if (this.#gate) await this.#gate;
      else await (this.#flushing ??= this.#flush());
    }
  }

  /** From now on, keep a copy of every entry recorded, for the compacted journal. */
  keepTail() {
    this.#tail = [];
  }

  /**
   * Holds new flushes off, waits for the one in flight, then (synchronously) has `writeNew(tail)` write
   * the entries recorded since `keepTail()` to the new journal, synced, renames it over this one and
   * continues on it: every entry recorded so far is on disk there.
   */
  async swap(writeNew) {
    let open;
    this.#gate = new Promise((resolve) => (open = resolve));
    try {
      while (this.#flushing) await this.#flushing.catch(() => {});
      const tail = this.#tail;
      this.#tail = null;
      const result = writeNew(tail);
      fs.renameSync(`${this.#file}.compact`, this.#file); // from here on, the new file is the journal
      fs.closeSync(this.#fd);
      this.#fd = fs.openSync(this.#file, 'a');
      this.#pending = [];
      this.#onDisk = this.#appended;
      this.#bytes = fs.fstatSync(this.#fd).size;
      this.#compactAt = Math.max(ONLINE_MIN_BYTES, ONLINE_RATIO * this.#bytes);
      try {
        syncDir(path.dirname(this.#file));
      } catch (err) {
        // The rename may not survive a crash, and writes after it would be lost with it: stop.
        console.error(`cosmosdb-server: journal folder sync failed, exiting: ${err.stack ?? err}`);
        process.exit(1);
      }
      return result;
    } finally {
      this.#gate = null;
      open();
    }
  }

  async #flush() {
    const entries = this.#pending;
    const upTo = this.#appended;
    this.#pending = [];
    try {
      const written = await writeAll(this.#fd, `${JSON.stringify(entries)}\n`);
      await fdatasyncAsync(this.#fd);
      this.#onDisk = upTo;
      this.#bytes += written;
    } finally {
      this.#flushing = null;
    }
    if (this.#bytes >= this.#compactAt && !this.#compacting) {
      this.#compacting = true;
      this.#compact(this)
        .catch((err) => {
          // The old journal is whole and still written to; try again after as much growth again.
          console.error(`cosmosdb-server: journal compaction failed: ${err.stack ?? err}`);
          this.#tail = null;
          this.#compactAt = this.#bytes * 2;
        })
        .finally(() => (this.#compacting = false));
    }
  }

  close() {
    fs.closeSync(this.#fd);
  }
}
