import { HeldReservations } from './held-reservations.js';

const held = (...entries: [string, number][]) => {
  const h = new HeldReservations();
  for (const [orderId, quantity] of entries) h.set(orderId, quantity);
  return h;
};

describe('HeldReservations', () => {
  it('finds each order in its packed form, and no order whose id only contains or prefixes another', () => {
    const back = HeldReservations.unpack(held(['o-1', 4], ['o-12', 3]).pack(), 7);
    expect([back.get('o-1'), back.get('o-12'), back.get('o-'), back.get('1'), back.get('o-123'), back.total]).toEqual([
      4,
      3,
      undefined,
      undefined,
      undefined,
      7,
    ]);
  });

  it('keeps changes beside the packed form, and packs them in', () => {
    const h = HeldReservations.unpack('a\t1\nb\t2\n', 3);
    h.delete('a');
    h.set('c', 5);
    h.delete('nobody');
    expect([h.get('a'), h.get('b'), h.get('c'), h.total]).toEqual([undefined, 2, 5, 7]);
    expect([...h.entries()]).toEqual([
      ['b', 2],
      ['c', 5],
    ]);
    expect(h.pack()).toBe('b\t2\nc\t5\n');
    expect(HeldReservations.unpack(h.pack(), h.total).get('c')).toBe(5);
  });

  it('round-trips order ids holding tabs, newlines or a leading quote', () => {
    const odd = ['tab\there', 'new\nline', '"quoted"', 'plain'];
    const h = held(...odd.map((id, i): [string, number] => [id, i + 1]));
    const back = HeldReservations.unpack(h.pack(), h.total);
    expect(odd.map((id) => back.get(id))).toEqual([1, 2, 3, 4]);
    expect([...back.entries()].map(([id]) => id)).toEqual(odd);
  });

  it.each([['x\t0\n'], ['x\t1'], ['\t1\n'], [['x', 1]], [undefined]])('refuses %p as packed reservations', (packed) => {
    expect(() => HeldReservations.unpack(packed, 1)).toThrow('Not packed reservations');
  });
});
