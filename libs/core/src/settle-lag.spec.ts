import { SettleLag } from './settle-lag.js';

describe('Settle lag', () => {
  let now: number;
  let lag: SettleLag;
  beforeEach(() => {
    now = 10_000;
    lag = new SettleLag(() => now);
  });

  describe('when work this process started comes back', () => {
    it('is the age of that work when its event reaches a handler', () => {
      lag.started('c1');
      now += 300;
      lag.observe('c1');
      expect(lag.lagMs).toBe(300);
    });

    it('keeps the highest age seen in the window', () => {
      lag.started('c1');
      now += 100;
      lag.started('c2');
      now += 50;
      lag.observe('c1');
      lag.observe('c2');
      expect(lag.lagMs).toBe(150);
    });
  });

  describe('when the events are of work it did not start', () => {
    it('stays at zero', () => {
      now += 5_000;
      lag.observe('someone-else');
      expect(lag.lagMs).toBe(0);
    });
  });

  describe('when nothing slow came back for a while', () => {
    it('lasts into the next window, then falls to zero', () => {
      lag.started('c1');
      now += 400;
      lag.observe('c1');
      now += 500;
      expect(lag.lagMs).toBe(400);
      now += 500;
      expect(lag.lagMs).toBe(0);
    });

    it('falls to zero after a silence longer than a window', () => {
      lag.started('c1');
      now += 400;
      lag.observe('c1');
      now += 5_000;
      expect(lag.lagMs).toBe(0);
    });
  });

  describe('when work never comes back', () => {
    it('forgets it after two minutes, so memory stays bounded', () => {
      for (let i = 0; i < 100; i++) lag.started(`old-${i}`);
      now += 120_001;
      lag.started('new');
      expect(lag.tracked).toBe(1);
      lag.observe('old-1');
      expect(lag.lagMs).toBe(0);
    });
  });

  describe('when a correlation id is used again', () => {
    it('counts from the latest start', () => {
      lag.started('c1');
      now += 1_000;
      lag.started('c1');
      now += 20;
      lag.observe('c1');
      expect(lag.lagMs).toBe(20);
    });
  });
});
