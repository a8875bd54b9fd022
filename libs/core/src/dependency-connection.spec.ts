import { jest } from '@jest/globals';
import { DependencyConnection, oneLine } from './dependency-connection.js';

const recordingLogger = () => {
  const lines: string[] = [];
  return {
    lines,
    log: (m: string) => lines.push(`log ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
    error: (m: string) => lines.push(`error ${m}`),
  };
};

describe('DependencyConnection', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  describe('when the dependency answers at once', () => {
    it('connects on the first attempt and logs nothing', async () => {
      const logger = recordingLogger();
      const connection = new DependencyConnection('Kafka', async () => undefined, logger);
      await expect(connection.start()).resolves.toBe(true);
      expect(connection.state).toBe('connected');
      expect(logger.lines).toEqual([]);
    });
  });

  describe('when the dependency is down at start and comes back', () => {
    it('retries in the background and logs one line going down and one coming back', async () => {
      const logger = recordingLogger();
      let up = false;
      let attempts = 0;
      const connection = new DependencyConnection(
        'Kafka',
        async () => {
          attempts += 1;
          if (!up) throw new Error('connect ECONNREFUSED 127.0.0.1:9092\n    at TCPConnectWrap.afterConnect');
        },
        logger,
        { retryMs: 1_000 },
      );
      await expect(connection.start()).resolves.toBe(false);
      expect(connection.state).toBe('retrying');
      for (let i = 0; i < 5; i++) await jest.advanceTimersByTimeAsync(1_000);
      expect(attempts).toBe(6);
      up = true;
      await jest.advanceTimersByTimeAsync(1_000);
      await connection.connected;
      expect(connection.state).toBe('connected');
      expect(logger.lines).toEqual([
        'warn Kafka unavailable (connect ECONNREFUSED 127.0.0.1:9092); retrying every 1 s in the background',
        'log Kafka connected after 7 attempts',
      ]);
      await jest.advanceTimersByTimeAsync(5_000);
      expect(attempts).toBe(7);
    });
  });

  describe('when the first attempt is slow', () => {
    it('lets the start-up go on after the wait and says so then, once, whatever the attempt ends in', async () => {
      const logger = recordingLogger();
      const connection = new DependencyConnection(
        'MongoDB',
        () => new Promise<void>((_, fail) => setTimeout(() => fail(new Error('server selection timed out')), 5_000)),
        logger,
      );
      const started = connection.start(1_000);
      await jest.advanceTimersByTimeAsync(1_000);
      await expect(started).resolves.toBe(false);
      expect({ state: connection.state, lines: logger.lines.length }).toEqual({ state: 'retrying', lines: 1 });
      await jest.advanceTimersByTimeAsync(4_000);
      expect({ state: connection.state, lines: logger.lines.length }).toEqual({ state: 'retrying', lines: 1 });
      connection.stop();
    });

    it('says it is back when the slow first attempt succeeds after the wait (the server came back meanwhile)', async () => {
      const logger = recordingLogger();
      const connection = new DependencyConnection(
        'MongoDB',
        () => new Promise<void>((done) => setTimeout(done, 3_000)),
        logger,
      );
      await Promise.all([connection.start(1_000), jest.advanceTimersByTimeAsync(1_000)]);
      await jest.advanceTimersByTimeAsync(2_000);
      expect({ state: connection.state, lines: logger.lines.length }).toEqual({ state: 'connected', lines: 2 });
    });
  });

  describe('when stopped while retrying', () => {
    it('makes no further attempt', async () => {
      let attempts = 0;
      const connection = new DependencyConnection(
        'Cosmos DB',
        async () => {
          attempts += 1;
          throw new Error('down');
        },
        recordingLogger(),
        { retryMs: 1_000 },
      );
      await connection.start();
      connection.stop();
      await jest.advanceTimersByTimeAsync(10_000);
      expect({ attempts, state: connection.state }).toEqual({ attempts: 1, state: 'stopped' });
    });
  });

  describe('when an error is fatal', () => {
    it('stops retrying and reports it once, through onFatal when given', async () => {
      const logger = recordingLogger();
      const fatal: unknown[] = [];
      const connection = new DependencyConnection(
        'Cosmos DB',
        async () => {
          throw Object.assign(new Error('The input authorization token cannot serve the request'), { code: 401 });
        },
        logger,
        { fatal: (e) => (e as { code?: number }).code === 401, onFatal: (e) => fatal.push(e) },
      );
      await connection.start();
      await jest.advanceTimersByTimeAsync(10_000);
      expect({ state: connection.state, fatal: fatal.length, lines: logger.lines }).toEqual({
        state: 'failed',
        fatal: 1,
        lines: [],
      });
      const alone = recordingLogger();
      await new DependencyConnection(
        'Cosmos DB',
        async () => {
          throw new Error('refused');
        },
        alone,
        { fatal: () => true },
      ).start();
      expect(alone.lines).toEqual(['error Cosmos DB: refused']);
    });
  });
});

describe('oneLine', () => {
  it('keeps the first line of a message, bounded', () => {
    expect(oneLine(new Error('first\nsecond'))).toBe('first');
    expect(oneLine('x'.repeat(300), 10)).toBe('xxxxxxxxxx...');
  });
});
