// How read-model documents are stored and written on MongoDB and FerretDB: `_id` = `id`, values both servers
// keep faithfully (assertPortable), a write id marking what one `writeMany` call wrote, and unordered bulk
// writes whose duplicate-key refusals are results. Shared by MongoDocumentCollection's writes and reads.
import type { AnyBulkWriteOperation, BulkWriteResult, Collection } from 'mongodb';
import type { ReadModelDocument } from '../document-collection.js';
import type { StoredDocument } from './read-model-entity-schema.js';

/** Field of a stored document naming the `writeMany` call that wrote it; not part of the read model. */
export const WRITE_ID = '_writeId';

export const fromStored = <T extends ReadModelDocument>({ _id, [WRITE_ID]: _writeId, ...fields }: StoredDocument): T =>
  ({ id: _id, ...fields }) as unknown as T;

export const assertId = (id: unknown): void => {
  if (typeof id !== 'string') throw new TypeError(`A read-model id must be a string, got ${typeof id}`);
};

export const isFilterValue = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  [Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null);

/**
 * Refuses what MongoDB and FerretDB do not both store faithfully: NaN (FerretDB drops the connection) and keys
 * starting with `$` or containing `.` (FerretDB: "invalid key"). Caught here as a bug in the projection
 * rather than surfacing as a store outage.
 */
export const assertPortable = (value: unknown, path: string): void => {
  if (typeof value === 'number' && Number.isNaN(value)) throw new TypeError(`${path} is NaN: cannot be stored`);
  if (Array.isArray(value)) value.forEach((item, i) => assertPortable(item, `${path}[${i}]`));
  else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key.startsWith('$') || key.includes('.')) {
        throw new TypeError(`${path}: key '${key}' cannot be stored (no leading '$', no '.')`);
      }
      assertPortable(item, `${path}.${key}`);
    }
  }
};

/**
 * An unordered bulk write whose duplicate-key refusals (a create of a document that exists) are results,
 * not failures: their indexes come back in `duplicates`.
 */
export const bulkWriteKeepingDuplicates = async (
  collection: Collection<StoredDocument>,
  operations: AnyBulkWriteOperation<StoredDocument>[],
): Promise<{ result: BulkWriteResult; duplicates: number[] }> => {
  try {
    return { result: await collection.bulkWrite(operations, { ordered: false }), duplicates: [] };
  } catch (error) {
    const { writeErrors, result } = error as { writeErrors?: unknown; result?: BulkWriteResult };
    // The driver's WriteError is not an Error: read its code and index as plain fields.
    const errors = (Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : []) as {
      code?: unknown;
      index?: unknown;
    }[];
    if (result && errors.length > 0 && errors.every((e) => e.code === 11000 && typeof e.index === 'number')) {
      return { result, duplicates: errors.map((e) => e.index as number) };
    }
    throw error;
  }
};

/**
 * Most statements in one bulk write command, and bulk commands in flight per store. FerretDB 1.24 opens one
 * PostgreSQL connection per statement in flight and stops answering for good once its pool (400) is taken:
 * measured here on PostgreSQL 15, three unordered bulk writes of 500 guarded replaces in flight left all 400
 * connections idle and every later command (other databases too) unanswered until a restart; 3 x 100 and
 * 1 x 300 answered (4.6 s and 4.1 s; 300 as 12 commands of 25, 2 in flight: 1.1-1.8 s). (On SQLite it
 * stopped near 100.) So a batch goes out in commands of 25, at most two at a time in this process (50
 * statements); MongoDB itself has no such limit.
 */
export const MAX_BULK_OPERATIONS = 25;
export const MAX_BULK_COMMANDS_IN_FLIGHT = 2;
