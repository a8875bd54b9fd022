/**
 * The reservations a product holds, `orderId -> quantity`, and the form its snapshot stores them in: one
 * string of `<orderId>\t<quantity>\n` lines (docs/snapshots.md), which parses as one JSON token where an
 * array of pairs costs several per entry. A product restored from a snapshot keeps that string and the sum
 * and builds its Map only when a command first looks an order up (a restock never does); from then on every
 * lookup is a Map's. Order ids are UUIDs; one that holds a tab, a newline or starts with `"` is written as a
 * JSON string.
 */
export class HeldReservations {
  /** The snapshot's packed lines while nothing was looked up; undefined once `#held` is built. */
  #packed: string | undefined;
  #held = new Map<string, number>();
  #total = 0;

  /** The reservations in `packed` (a snapshot's), their sum given; throws if it is not that shape. */
  static unpack(packed: unknown, total: unknown): HeldReservations {
    if (typeof packed !== 'string' || !PACKED.test(packed) || !Number.isSafeInteger(total)) {
      throw new Error('Not packed reservations');
    }
    const held = new HeldReservations();
    held.#packed = packed;
    held.#total = total as number;
    return held;
  }

  /** The quantity all reservations hold. */
  get total(): number {
    return this.#total;
  }

  get(orderId: string): number | undefined {
    return this.#map().get(orderId);
  }

  set(orderId: string, quantity: number): void {
    this.#total += quantity - (this.get(orderId) ?? 0);
    this.#held.set(orderId, quantity);
  }

  delete(orderId: string): void {
    this.#total -= this.get(orderId) ?? 0;
    this.#held.delete(orderId);
  }

  /** Every held reservation, `[orderId, quantity]`, oldest first. */
  entries(): IterableIterator<[string, number]> {
    return this.#map().entries();
  }

  /** The packed lines of every held reservation (what a snapshot stores). */
  pack(): string {
    if (this.#packed !== undefined) return this.#packed;
    let packed = '';
    for (const [orderId, quantity] of this.#held) packed += `${encode(orderId)}\t${quantity}\n`;
    return packed;
  }

  #map(): Map<string, number> {
    if (this.#packed !== undefined) {
      for (const line of this.#packed.split('\n')) {
        if (line === '') continue;
        const tab = line.lastIndexOf('\t');
        this.#held.set(decode(line.slice(0, tab)), Number(line.slice(tab + 1)));
      }
      this.#packed = undefined;
    }
    return this.#held;
  }
}

/** Lines of `<orderId>\t<quantity>\n`: one pass of the string, no entry built. */
const PACKED = /^(?:[^\t\n]+\t[1-9]\d*\n)*$/;
const needsQuoting = /[\t\n]|^"/;
const encode = (orderId: string): string => (needsQuoting.test(orderId) ? JSON.stringify(orderId) : orderId);
const decode = (field: string): string => (field.startsWith('"') ? (JSON.parse(field) as string) : field);
