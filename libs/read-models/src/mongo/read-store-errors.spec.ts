import { MongoBulkWriteError, MongoNetworkError, MongoServerError } from 'mongodb';
import { isReadStoreUnavailable, ReadStoreUnavailableError } from './read-store-errors.js';

/** What the driver throws when a bulk write fails; the result does not matter to the classification. */
const bulkFailure = (cause: Error | object) =>
  new MongoBulkWriteError(cause as Error, {} as ConstructorParameters<typeof MongoBulkWriteError>[1]);

describe('isReadStoreUnavailable', () => {
  describe('when the server cannot be reached', () => {
    it('says so for the driver network error', () => {
      expect(isReadStoreUnavailable(new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017'))).toBe(true);
    });

    it('says so for a bulk write that failed on it (the wrapper keeps it as errorResponse)', () => {
      expect(isReadStoreUnavailable(bulkFailure(new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017')))).toBe(
        true,
      );
    });

    it('says so for our own wrapper', () => {
      expect(isReadStoreUnavailable(new ReadStoreUnavailableError('find', new Error('down')))).toBe(true);
    });
  });

  describe('when the server refused the operation', () => {
    it('does not, for a bulk write with write errors', () => {
      expect(
        isReadStoreUnavailable(
          bulkFailure({ message: 'E11000 duplicate key', code: 11000, writeErrors: [{ code: 11000 }] }),
        ),
      ).toBe(false);
    });

    it('does not, for a plain server error', () => {
      expect(isReadStoreUnavailable(new MongoServerError({ message: 'bad query', code: 2 }))).toBe(false);
    });
  });
});
