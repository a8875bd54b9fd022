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
// Format: one line per flush, a JSON array of entries. A flush is one write() of whole lines, so an
// interrupted one leaves at most a torn last line, which replay drops (those writes were never
// acknowledged); a bad line anywhere else is reported as corruption. One request's writes happen in one
// tick, so they land in one line: a transactional batch is on disk whole or not at all.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

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
      if (entries > COMPACT_MIN && entries > COMPACT_RATIO * live) {
        const t = Date.now();
        compact(this, file);
        summary += `, compacted to ${live} entries in ${Date.now() - t} ms`;
      } else if (lines.torn) {
        fs.truncateSync(file, lines.goodBytes);
        summary += `, dropped a torn last line (unacknowledged writes)`;
      }
      writer = new Writer(file);
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

function replay(account, file, itemsOf) {
  if (!fs.existsSync(file)) return { entries: 0, lines: { torn: false } };
  const buf = fs.readFileSync(file);
  let entries = 0;
  let start = 0;
  let lineNo = 0;
  while (start < buf.length) {
    let end = buf.indexOf(10, start);
    const last = end === -1;
    if (last) end = buf.length;
    lineNo += 1;
    let batch;
    try {
      batch = JSON.parse(buf.toString('utf8', start, end));
      if (!Array.isArray(batch)) throw new Error('not an array');
    } catch (err) {
      const rest = buf.subarray(end + 1);
      if (last || rest.every((b) => b === 10)) return { entries, lines: { torn: true, goodBytes: start } };
      throw new Error(`${file} line ${lineNo} is corrupt (${err.message}); move the file aside to start empty`, {
        cause: err,
      });
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
    start = end + 1;
  }
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

/** Rewrites the journal as the live state (one set per item), fsynced, then swapped in atomically. */
function compact(account, file) {
  const tmp = `${file}.compact`;
  const fd = fs.openSync(tmp, 'w');
  try {
    let line = [];
    const flush = () => {
      if (line.length) fs.writeSync(fd, `${JSON.stringify(line)}\n`);
      line = [];
    };
    const put = (entry) => line.push(entry) >= SNAPSHOT_LINE && flush();
    const dbs = account.databases;
    for (const db of dbs._data.values()) {
      const dbRid = db.read()._rid;
      put({ o: 's', k: 'dbs', n: dbs._ridCount, d: db.read() });
      const colls = db.collections;
      for (const coll of colls._data.values()) {
        put({ o: 's', k: 'colls', db: dbRid, n: colls._ridCount, d: coll.read() });
        const docs = coll.documents;
        for (const doc of docs._data.values())
          put({ o: 's', k: 'docs', db: dbRid, coll: coll.read()._rid, n: docs._ridCount, d: doc.read() });
      }
    }
    flush();
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDir(path.dirname(file));
}

function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends entries; `durable()` group-commits: one write + fdatasync for all entries pending. */
class Writer {
  #fd;
  #pending = [];
  #appended = 0;
  #onDisk = 0;
  #flushing = null;

  constructor(file) {
    const existed = fs.existsSync(file);
    this.#fd = fs.openSync(file, 'a');
    if (!existed) syncDir(path.dirname(file));
  }

  append(entry) {
    this.#pending.push(entry);
    this.#appended += 1;
  }

  async durable() {
    const target = this.#appended;
    while (this.#onDisk < target) await (this.#flushing ??= this.#flush());
  }

  async #flush() {
    const entries = this.#pending;
    const upTo = this.#appended;
    this.#pending = [];
    try {
      const bytes = Buffer.from(`${JSON.stringify(entries)}\n`);
      let written = 0;
      while (written < bytes.length) {
        ({ bytesWritten: written } = await new Promise((ok, fail) =>
          fs.write(this.#fd, bytes, written, bytes.length - written, null, (err, n) =>
            err ? fail(err) : ok({ bytesWritten: written + n }),
          ),
        ));
      }
      await new Promise((ok, fail) => fs.fdatasync(this.#fd, (err) => (err ? fail(err) : ok())));
      this.#onDisk = upTo;
    } finally {
      this.#flushing = null;
    }
  }

  close() {
    fs.closeSync(this.#fd);
  }
}
