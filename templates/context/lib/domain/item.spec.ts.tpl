import { given } from '@app/core/testing';
import type { __Item__Closed, __Item__Opened } from '@app/contracts';
import { __Item__ } from './__item__.js';

const now = new Date('2026-01-02T03:04:05.000Z');
const at = now.toISOString();
const __itemCamel__Id = '7d9a3c1e-0000-4000-8000-000000000001';
const opened: __Item__Opened = { type: '__Item__Opened', data: { __itemCamel__Id, title: 'First', openedAt: at } };
const closed: __Item__Closed = { type: '__Item__Closed', data: { __itemCamel__Id, closedAt: at } };
const __itemCamel__ = () => new __Item__();

describe('__Item__', () => {
  describe('when opened', () => {
    it('is open with its title', () => {
      given(__itemCamel__)
        .when((a) => a.open(__itemCamel__Id, 'First', now))
        .then([opened]);
    });
  });

  describe('when closed', () => {
    it('closes an open __item__', () => {
      given(__itemCamel__, [opened])
        .when((a) => a.close(now))
        .then([closed]);
    });

    it('refuses to close it twice', () => {
      given(__itemCamel__, [opened, closed])
        .when((a) => a.close(now))
        .thenFails('__ITEM___ALREADY_CLOSED');
    });
  });
});
