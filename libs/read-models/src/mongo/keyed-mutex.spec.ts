import { KeyedMutex } from './keyed-mutex.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedMutex', () => {
  it('runs tasks of one key one at a time, in call order, and tasks of other keys alongside', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([
      mutex.run('a', task('a1')),
      mutex.run('a', task('a2')),
      mutex.run('b', task('b1')),
    ]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
  });

  it('releases the key when a task fails and forgets idle keys', async () => {
    const mutex = new KeyedMutex();
    const failed = mutex.run('a', async () => {
      throw new Error('boom');
    });
    const next = mutex.run('a', async () => 'ok');
    expect(mutex.size).toBe(1);
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
    expect(mutex.size).toBe(0);
  });

  it('runs a task over several keys after every earlier task of those keys, and beside tasks of other keys', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const task = (name: string) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
    };
    await Promise.all([
      mutex.run('a', task('a')),
      mutex.run('b', task('b')),
      mutex.runAll(['a', 'b'], task('ab')),
      mutex.runAll(['b', 'a'], task('ba')), // reversed order: queued behind ab, no deadlock
      mutex.run('c', task('c')),
    ]);
    expect(log.indexOf('start ab')).toBeGreaterThan(Math.max(log.indexOf('end a'), log.indexOf('end b')));
    expect(log.indexOf('start ba')).toBeGreaterThan(log.indexOf('end ab'));
    expect(log.indexOf('start c')).toBeLessThan(log.indexOf('end a'));
    expect(mutex.size).toBe(0);
  });
});
