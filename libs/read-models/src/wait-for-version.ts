import { ApplicationError } from '@app/core';

/** The read model did not reach the version a client asked for within the wait (HTTP 503, retry). */
export class ReadModelBehindError extends ApplicationError {
  constructor(what: string, wanted: number, reached: number | undefined, waitedMs: number) {
    super(
      'READ_MODEL_BEHIND',
      'unavailable',
      `${what} has not reached version ${wanted} after ${waitedMs} ms (it is at ${reached ?? 'none'}); retry shortly`,
      { minVersion: wanted, currentVersion: reached ?? null, waitedMs },
    );
  }
}

/**
 * Read-your-writes: re-reads until the document reaches `minVersion` or `timeoutMs` passes.
 * Returns the document (undefined if it never appeared and no version was asked for).
 */
export const readAtLeast = async <T extends { version: number }>(
  what: string,
  read: () => Promise<T | undefined>,
  minVersion: number | undefined,
  timeoutMs: number,
): Promise<T | undefined> => {
  const started = Date.now();
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const document = await read();
    if (minVersion === undefined || (document && document.version >= minVersion)) return document;
    const waited = Date.now() - started;
    if (waited >= timeoutMs) throw new ReadModelBehindError(what, minVersion, document?.version, waited);
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, timeoutMs - waited)));
  }
};
