/**
 * The reservations a product holds, `orderId -> quantity`, kept as its snapshot stores them: one string
 * of `<orderId>\t<quantity>\n` lines (docs/snapshots.md). A product restored from a snapshot holding
 * thousands of them reads that string as one JSON token (an array of pairs cost ~2 tokens and an array
 * per entry to parse) and builds nothing: a lookup searches the string, changes since the snapshot sit in
 * a Map beside it, and their sum is kept, so a command that touches no reservation (a restock) costs
 * nothing per entry. Written by hand: a packed lookup over a string is no library's.
 * Order ids are UUIDs; one that holds a tab, a newline or starts with `"` is written as a JSON string.
 */
export class HeldReservations {
  /** `\n` then the packed lines of the snapshot restored (or taken last); the base `#changes` overlay. */
  #base = '\n';
  /** Entries changed since `#base`: the quantity now held, 0 for released. */
  readonly #changes = new Map<string, number>();
  #total = 0;

  /** The reservations in `packed` (a snapshot's), their sum given; throws if it is not that shape. */
  static unpack(packed: unknown, total: unknown): HeldReservations {
    if (typeof packed !== 'string' || !PACKED.test(packed) || !Number.isSafeInteger(total)) {
      throw new Error('Not packed reservations');
    }
    const held = new HeldReservations();
    held.#base = `\n${packed}`;
    held.#total = total as number;
    return held;
  }

  /** The quantity all reservations hold. */
  get total(): number {
    return this.#total;
  }

  get(orderId: string): number | undefined {
    const changed = this.#changes.get(orderId);
    if (changed !== undefined) return changed === 0 ? undefined : changed;
    const key = `\n${encode(orderId)}\t`;
    const at = this.#base.indexOf(key);
    if (at < 0) return undefined;
    const from = at + key.length;
    return Number(this.#base.slice(from, this.#base.indexOf('\n', from)));
  }

  set(orderId: string, quantity: number): void {
    this.#total += quantity - (this.get(orderId) ?? 0);
    this.#changes.set(orderId, quantity);
  }

  delete(orderId: string): void {
    this.#total -= this.get(orderId) ?? 0;
    this.#changes.set(orderId, 0);
  }

  /** Every held reservation, `[orderId, quantity]`, in no particular order. */
  *entries(): IterableIterator<[string, number]> {
    for (const line of this.#base.slice(1).split('\n')) {
      if (line === '') continue;
      const tab = line.lastIndexOf('\t');
      const orderId = decode(line.slice(0, tab));
      if (!this.#changes.has(orderId)) yield [orderId, Number(line.slice(tab + 1))];
    }
    for (const [orderId, quantity] of this.#changes) if (quantity > 0) yield [orderId, quantity];
  }

  /** The packed lines of every held reservation (what a snapshot stores); the new base from now on. */
  pack(): string {
    if (this.#changes.size > 0) {
      let packed = '';
      for (const [orderId, quantity] of this.entries()) packed += `${encode(orderId)}\t${quantity}\n`;
      this.#base = `\n${packed}`;
      this.#changes.clear();
    }
    return this.#base.slice(1);
  }
}

/** Lines of `<orderId>\t<quantity>\n`: one pass of the string, no entry built. */
const PACKED = /^(?:[^\t\n]+\t[1-9]\d*\n)*$/;
const needsQuoting = /[\t\n]|^"/;
const encode = (orderId: string): string => (needsQuoting.test(orderId) ? JSON.stringify(orderId) : orderId);
const decode = (field: string): string => (field.startsWith('"') ? (JSON.parse(field) as string) : field);
