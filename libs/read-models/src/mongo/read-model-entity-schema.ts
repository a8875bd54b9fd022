import { EntitySchema } from 'typeorm';
import type { CollectionDefinition, ReadModelDocument } from '../document-collection.js';

/** A document as stored: the read model's `id` is MongoDB's `_id` (a string, not an ObjectId). */
export type StoredDocument = { _id: string; version: number } & Record<string, unknown>;

/**
 * The TypeORM entity of one read model: collection = `definition.name`, `id` stored as `_id`, and the
 * indexes its queries need:
 * - `sort_<field>_<dir>`: `{ [sort]: dir, _id: dir }` for unfiltered listing;
 * - `by_<filter>_<sort>_<dir>`: `{ [filter]: 1, [sort]: dir, _id: dir }` for each filter field (equality first,
 *   then the listing order, so a filtered page is an index range scan with no in-memory sort).
 * A filter on the sort field or on `id`, and a sort on `id`, are already served by the first index or `_id_`.
 * Index names carry the direction: flipping a definition's direction adds an index instead of conflicting.
 *
 * Only the indexed fields are declared as columns (TypeORM needs them to resolve the indexes); MongoDB is
 * schemaless and the `mongodb` driver of TypeORM ignores column types, so `String` is a placeholder.
 */
export const readModelEntitySchema = <T extends ReadModelDocument>(
  definition: CollectionDefinition<T>,
): EntitySchema<StoredDocument> => {
  const { field: sort, direction } = definition.sort;
  const dir = direction === 'asc' ? 1 : -1;
  const filters = [...new Set(definition.filterFields)].filter((f) => f !== sort && f !== 'id');
  const fields = [sort, ...filters].filter((f) => f !== 'id' && f !== 'version');
  return new EntitySchema<StoredDocument>({
    name: definition.name,
    tableName: definition.name,
    columns: {
      id: { type: String, objectId: true, primary: true },
      version: { type: Number },
      ...Object.fromEntries(fields.map((f) => [f, { type: String }])),
    },
    indices: [
      // Sorting by id needs nothing beyond the `_id_` index (walked either way).
      ...(sort === 'id' ? [] : [{ name: `sort_${sort}_${direction}`, columns: () => ({ [sort]: dir, id: dir }) }]),
      ...filters.map((f) => ({
        name: `by_${f}_${sort}_${direction}`,
        columns: () => ({ [f]: 1, [sort]: dir, id: dir }),
      })),
    ],
  });
};
