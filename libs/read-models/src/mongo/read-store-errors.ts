import { ApplicationError, InvalidCommand } from '@app/core';

/** The read-model database cannot be reached (HTTP 503): queries and projections should be retried later. */
export class ReadStoreUnavailableError extends ApplicationError {
  constructor(operation: string, cause: unknown) {
    super(
      'READ_STORE_UNAVAILABLE',
      'unavailable',
      `Read-model store unavailable (${operation}): ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.cause = cause;
  }
}

/** A `where` value that is not a plain string, finite number or boolean: never sent to the database. */
export class ReadFilterRejectedError extends InvalidCommand {
  constructor(collection: string, field: string) {
    super('READ_FILTER_INVALID', `Filter on ${field} must be a string, a number or a boolean`, {
      field,
      collection,
    });
  }
}

/**
 * Errors of the `mongodb` driver that mean "no server to talk to" rather than "the server refused this
 * operation". Matched by class name along the prototype chain (not `instanceof`) so a second copy of the
 * driver (TypeORM loads it with `require`) is recognised too.
 */
const UNAVAILABLE_CLASSES = new Set([
  'MongoNetworkError', // includes MongoNetworkTimeoutError and PoolClearedError
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoServerClosedError',
  'MongoOperationTimeoutError',
  'PoolClosedError',
  'WaitQueueTimeoutError',
]);

/** Server codes for "this node is going away / cannot serve now" (shutdown, step-down, network inside the server). */
const UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

export const isReadStoreUnavailable = (error: unknown, depth = 0): boolean => {
  if (!(error instanceof Error)) return false;
  if (error instanceof ReadStoreUnavailableError) return true;
  // A bulk write that could not reach the server fails as MongoBulkWriteError (a MongoServerError), which
  // keeps the driver's own error as `errorResponse`: judge that one (and a `cause`), not the wrapper.
  const { errorResponse, cause } = error as { errorResponse?: unknown; cause?: unknown };
  if (depth < 3) {
    for (const inner of [errorResponse, cause]) {
      if (inner !== error && inner instanceof Error && isReadStoreUnavailable(inner, depth + 1)) return true;
    }
  }
  for (let proto: object | null = error; proto; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (name && UNAVAILABLE_CLASSES.has(name)) return true;
  }
  const { code } = error as { code?: unknown };
  return error.name === 'MongoServerError' && typeof code === 'number' && UNAVAILABLE_CODES.has(code);
};

/** Wraps "server unreachable" errors in ReadStoreUnavailableError; returns every other error unchanged. */
export const toReadStoreError = (operation: string, error: unknown): unknown =>
  error instanceof ReadStoreUnavailableError || !isReadStoreUnavailable(error)
    ? error
    : new ReadStoreUnavailableError(operation, error);

export const isDuplicateKeyError = (error: unknown): boolean =>
  error instanceof Error && (error as { code?: unknown }).code === 11000;
