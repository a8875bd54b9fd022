import { SettleLag, SettleLagGate } from './settle-lag.js';

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

describe('Settle lag gate', () => {
  let now: number;
  let lag: SettleLag;
  let gate: SettleLagGate;
  beforeEach(() => {
    now = 10_000;
    lag = new SettleLag(() => now);
    gate = new SettleLagGate(lag, 250, () => now);
  });
  const admittedOf = (attempts: number): number =>
    Array.from({ length: attempts }, () => gate.refusal()).filter((r) => r === undefined).length;
  const slowWorkComesBack = (): void => {
    lag.started('slow');
    now += 300;
    lag.observe('slow');
  };

  describe('while the work comes back in time', () => {
    it('admits every command', () => {
      expect(admittedOf(5_000)).toBe(5_000);
    });
  });

  describe('when work comes back later than the bound', () => {
    it('refuses, saying how late', () => {
      slowWorkComesBack();
      expect(gate.refusal()).toBe('the work it accepted takes 300 ms to settle (at most 250)');
      expect(admittedOf(100)).toBe(0);
    });

    it('reopens slowly once it settles in time: one command, then twice as many each window, then all', () => {
      slowWorkComesBack();
      expect(gate.refusal()).toBeDefined();
      now += 1_000; // the slow observation left the signal
      const perWindow: number[] = [];
      for (let w = 0; w < 12; w++, now += 500) perWindow.push(admittedOf(2_000));
      expect(perWindow.slice(0, 10)).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 512, 2_000]);
      expect(gate.refusal()).toBeUndefined();
    });

    it('closes again when slow work comes back while it reopens', () => {
      slowWorkComesBack();
      gate.refusal();
      now += 1_000;
      expect(admittedOf(10)).toBe(2);
      slowWorkComesBack();
      expect(admittedOf(10)).toBe(0);
      now += 1_000;
      expect(admittedOf(10)).toBe(2);
    });
  });
});
