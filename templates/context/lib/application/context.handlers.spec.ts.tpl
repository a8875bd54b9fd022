// Given events / when a command handler runs / then the events appended (or the error), over the in-memory
// event store with the real repository.
import { __ITEM___EVENT_TYPES, __itemCamel__Stream, type __Item__Event } from '@app/contracts';
import { fixedClock } from '@app/core';
import { CommandSpec, fromOutside } from '@app/event-sourcing/testing';
import { __itemCamel__Type } from '../infrastructure/__context__.repositories.js';
import { Close__Item__Command } from './close-__item__/close-__item__.command.js';
import { Close__Item__Handler } from './close-__item__/close-__item__.handler.js';
import { Open__Item__Command } from './open-__item__/open-__item__.command.js';
import { Open__Item__Handler } from './open-__item__/open-__item__.handler.js';

const at = '2026-01-02T03:04:05.000Z';
const __itemCamel__Id = '7d9a3c1e-0000-4000-8000-000000000001';
const opened: __Item__Event = { type: '__Item__Opened', data: { __itemCamel__Id, title: 'First', openedAt: at } };
const closed: __Item__Event = { type: '__Item__Closed', data: { __itemCamel__Id, closedAt: at } };
const inStream = (event: __Item__Event) => ({ streamId: __itemCamel__Stream(__itemCamel__Id), ...event });

const setUp = () => {
  const spec = new CommandSpec(__ITEM___EVENT_TYPES);
  const repository = spec.repository(__itemCamel__Type);
  const clock = fixedClock(at);
  return { spec, open: new Open__Item__Handler(repository, clock), close: new Close__Item__Handler(repository, clock) };
};

describe('__context__ command handlers', () => {
  describe('Open__Item__', () => {
    it('starts the stream of a new __item__', async () => {
      const { spec, open } = setUp();
      const result = await spec.when(() => open.execute(new Open__Item__Command(__itemCamel__Id, 'First', fromOutside())));
      spec.then([inStream(opened)]);
      expect(result).toEqual({ id: __itemCamel__Id, version: 1 });
    });

    it('refuses an id that is taken', async () => {
      const { spec, open } = setUp();
      await spec.given(__itemCamel__Stream(__itemCamel__Id), [opened]);
      await spec.when(() => open.execute(new Open__Item__Command(__itemCamel__Id, 'Again', fromOutside())));
      spec.thenFails('CONCURRENCY_CONFLICT');
    });
  });

  describe('Close__Item__', () => {
    it('closes an open __item__', async () => {
      const { spec, close } = setUp();
      await spec.given(__itemCamel__Stream(__itemCamel__Id), [opened]);
      await spec.when(() => close.execute(new Close__Item__Command(__itemCamel__Id, fromOutside())));
      spec.then([inStream(closed)]);
    });

    it('refuses an unknown __item__', async () => {
      const { spec, close } = setUp();
      await spec.when(() => close.execute(new Close__Item__Command(__itemCamel__Id, fromOutside())));
      spec.thenFails('__ITEM___NOT_FOUND');
    });
  });
});
