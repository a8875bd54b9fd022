// The Cosmos server journal's writer: entries are appended in memory and group-committed (one write() of
// whole lines + one fdatasync for everything pending) when the server waits for `durable()` before it
// answers. It starts an online compaction when the journal outgrew the live data, and swaps in the
// compacted file at a moment when no flush is in flight.
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

// Online: compact when the journal is this many times the size it had after the last compaction (the
// live data then), and at least this big.
const ONLINE_RATIO = 4;
const ONLINE_MIN_BYTES = Number(process.env.COSMOS_JOURNAL_COMPACT_BYTES || 64 * 1024 * 1024);

const writeAsync = promisify(fs.write);
export const fdatasyncAsync = promisify(fs.fdatasync);

/** Writes all of `text` at the end of `fd` (a write may take less than it was given); resolves with the bytes. */
export async function writeAll(fd, text) {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length;) {
    const { bytesWritten } = await writeAsync(fd, bytes, at, bytes.length - at, null);
    at += bytesWritten;
  }
  return bytes.length;
}

export function syncDir(dir) {
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
export class Writer {
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
