import { jest } from '@jest/globals';
import { DocumentWaits } from './document-waits.js';

interface Doc {
  readonly id: string;
  readonly version: number;
}

describe('DocumentWaits', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reads a document nobody announces at growing intervals while anyone waits, once per document', async () => {
    const read = jest.fn(async (id: string): Promise<Doc | undefined> => ({ id, version: 1 }));
    const waits = new DocumentWaits<Doc>(read, 250);
    const waiting = [waits.until('d', 2, 3_000), waits.until('d', 2, 3_000)];
    const readsAt: number[] = [];
    for (let t = 0; t < 3_000; t += 50) {
      const before = read.mock.calls.length;
      await jest.advanceTimersByTimeAsync(50);
      if (read.mock.calls.length > before) readsAt.push(t + 50);
    }
    await expect(Promise.all(waiting)).resolves.toEqual([undefined, undefined]); // timed out
    // 250 ms, then 375, 562.5, 843.75 ms later: 4 reads in 3 s (one every 250 ms would be 11)
    expect(readsAt).toEqual([250, 650, 1200, 2050]);
    expect(waits.size).toBe(0);
  });

  it('answers a waiter from the fallback read once another process wrote the version', async () => {
    let stored: Doc = { id: 'd', version: 1 };
    const waits = new DocumentWaits<Doc>(async () => stored, 250);
    const waiting = waits.until('d', 2, 5_000);
    await jest.advanceTimersByTimeAsync(300);
    stored = { id: 'd', version: 2 };
    await jest.advanceTimersByTimeAsync(400);
    await expect(waiting).resolves.toEqual({ id: 'd', version: 2 });
  });
});
