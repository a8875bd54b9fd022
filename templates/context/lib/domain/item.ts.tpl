import { AggregateRoot } from '@app/core';
import type { __Item__Event } from '@app/contracts';
import { __itemCamel__AlreadyClosed } from './__context__.errors.js';

export const __ITEM___STATUSES = ['OPEN', 'CLOSED'] as const;
export type __Item__Status = (typeof __ITEM___STATUSES)[number];

/** A __item__'s life: OPEN when opened, CLOSED once closed (closing twice is refused). */
export class __Item__ extends AggregateRoot<__Item__Event> {
  #id = '';
  #status: __Item__Status | undefined;

  get status(): __Item__Status | undefined {
    return this.#status;
  }

  open(__itemCamel__Id: string, title: string, now: Date): void {
    this.raise({ type: '__Item__Opened', data: { __itemCamel__Id, title, openedAt: now.toISOString() } });
  }

  close(now: Date): void {
    if (this.#status === 'CLOSED') throw __itemCamel__AlreadyClosed(this.#id);
    this.raise({ type: '__Item__Closed', data: { __itemCamel__Id: this.#id, closedAt: now.toISOString() } });
  }

  protected override evolve(event: __Item__Event): void {
    switch (event.type) {
      case '__Item__Opened':
        this.#id = event.data.__itemCamel__Id;
        this.#status = 'OPEN';
        return;
      case '__Item__Closed':
        this.#status = 'CLOSED';
        return;
    }
  }
}
