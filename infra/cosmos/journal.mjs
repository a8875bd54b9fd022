// Durability for @vercel/cosmosdb-server, which keeps everything in memory: every change of its storage
// (`Items#_set(data)` and `Items#delete(id, partition)` for databases, containers and documents, which every
// create, replace, upsert, delete, patch and batch goes through) is recorded to <data>/journal.jsonl and on
// disk before any answer leaves the server (./journal-writer.mjs); at start-up the journal is replayed
// into the empty account, and compacted when it holds much more than the live data
// (./journal-compaction.mjs). A set records the document as the server stored it (`_rid`, `_ts`, `_etag`):
// replay rebuilds the state exactly, and an ETag held before a restart still matches the same version.
// Format: one line per flush, a JSON array of entries; replay drops a torn last line (never acknowledged)
// and reports a bad line anywhere else as corruption. One request's writes land in one line.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { COMPACT_MIN, COMPACT_RATIO, compactNow, compactOnline } from './journal-compaction.mjs';
import { Writer } from './journal-writer.mjs';

const require = createRequire(import.meta.url);
const lib = (file) => require(`@vercel/cosmosdb-server/lib/account/${file}.js`);
const { default: Items } = lib('items');
const { default: Databases } = lib('databases');
const { default: Collections } = lib('collections');
const { default: Documents } = lib('documents');
const accountModule = lib('index');

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
