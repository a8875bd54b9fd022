import type { Server } from 'node:http';
import { Body, Controller, HttpCode, Inject, Module, Param, Post } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { IsInt } from 'class-validator';
import type { NextFunction, Request, Response } from 'express';
import supertest from 'supertest';
import {
  AggregateCache,
  AggregateRepository,
  AppendOutcomeUnknownError,
  InMemoryEventStore,
  newAggregateId,
  type AppendOptions,
  type CommandContext,
  type EventToAppend,
} from '@app/event-sourcing';
import { Counter, counterEventTypes, counterType, type Incremented } from '@app/event-sourcing/testing';
import { configureHttpApp, RequestContext } from './http-app.js';
import type { Principal } from './auth/principal.js';
import { IDEMPOTENCY_KEY_PATTERN } from './api-responses.js';
import { parseIdempotencyKey } from './idempotency.js';

class IncrementDto {
  @IsInt() by!: number;
}

/** An event store whose next append fails after writing, as a Cosmos batch whose answer was lost. */
class LosingStore extends InMemoryEventStore {
  loseNext = false;
  override async appendToStream(streamId: string, events: readonly EventToAppend[], options: AppendOptions) {
    const result = await super.appendToStream(streamId, events, options);
    if (!this.loseNext) return result;
    this.loseNext = false;
    throw new AppendOutcomeUnknownError(`append to ${streamId} failed: socket hang up`);
  }
}

const WINDOW_MS = 60_000;
/** Moves the repository's clock (the store stamps records with the real time). */
const clock = { offsetMs: 0 };
const store = new LosingStore();
/** Released by the test: holds increments in flight. */
let gate: Promise<void> = Promise.resolve();

const REPOSITORY = Symbol('REPOSITORY');

@Controller('counters')
class CountersController {
  constructor(@Inject(REPOSITORY) private readonly counters: AggregateRepository<Counter, Incremented>) {}

  @Post()
  create(@Body() body: IncrementDto, @RequestContext() context: CommandContext) {
    const counter = new Counter();
    counter.increment(body.by);
    return this.counters.create(newAggregateId(context), () => counter, context);
  }

  @Post(':id/increment')
  @HttpCode(200)
  async increment(@Param('id') id: string, @Body() body: IncrementDto, @RequestContext() context: CommandContext) {
    await gate;
    return this.counters.update(id, (c) => c.increment(body.by), context);
  }
}

@Module({
  controllers: [CountersController],
  providers: [
    {
      provide: REPOSITORY,
      useFactory: () => {
        return new AggregateRepository<Counter, Incremented>(
          store,
          counterEventTypes(),
          counterType(),
          () => {},
          { attempts: 8, baseDelayMs: 1, maxDelayMs: 20 },
          new AggregateCache(100),
          { windowMs: WINDOW_MS, now: () => Date.now() + clock.offsetMs },
        );
      },
    },
  ],
})
class CountersModule {}

/** Stands in for the access guard: `x-test-subject` is the token's subject. */
const principalFromHeader = (req: Request & { principal?: Principal }, _res: Response, next: NextFunction) => {
  const sub = req.header('x-test-subject');
  req.principal = sub ? { kind: 'user', sub, roles: [] } : { kind: 'anonymous' };
  next();
};

describe('Idempotency-Key on commands', () => {
  let app: NestExpressApplication;
  let server: Server;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [CountersModule] }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: false });
    app.use(principalFromHeader);
    configureHttpApp(app, { title: 't', description: 'd', bodyLimit: '16kb', tags: [], swaggerEnabled: false });
    await app.init();
    server = app.getHttpServer() as Server;
  });

  afterAll(() => app.close());

  const post = (path: string, key: string | undefined, body: object, subject?: string) => {
    const call = supertest(server).post(path);
    if (key !== undefined) call.set('Idempotency-Key', key);
    if (subject !== undefined) call.set('x-test-subject', subject);
    return call.send(body);
  };
  const eventsOf = async (id: string) => (await store.readStream(`Counter-${id}`)).events.length;
  const newCounter = async () => (await post('/counters', undefined, { by: 1 })).body.id as string;
  let n = 0;
  const newKey = () => `key-${Date.now()}-${++n}`;

  describe('the same key with the same request', () => {
    it('answers a create with the same status and body, creating one stream', async () => {
      const key = newKey();
      const first = await post('/counters', key, { by: 2 });
      const second = await post('/counters', `"${key}"`, { by: 2 }); // the draft's quoted form is the same key
      expect(first.status).toBe(201);
      expect([second.status, second.body]).toEqual([201, first.body]);
      expect(await eventsOf(first.body.id)).toBe(1);
    });

    it('answers a command on a stream with the first version, appending once, also after other commands', async () => {
      const id = await newCounter();
      const key = newKey();
      const first = await post(`/counters/${id}/increment`, key, { by: 5 });
      await post(`/counters/${id}/increment`, undefined, { by: 1 });
      const second = await post(`/counters/${id}/increment`, key, { by: 5 });
      expect([first.status, first.body]).toEqual([200, { id, version: 2 }]);
      expect([second.status, second.body]).toEqual([200, first.body]);
      expect(await eventsOf(id)).toBe(3);
    });

    it('is the same request whatever the order of the body properties', async () => {
      const key = newKey();
      const first = await post('/counters', key, { by: 2 });
      const again = await supertest(server)
        .post('/counters')
        .set('Idempotency-Key', key)
        .set('Content-Type', 'application/json')
        .send('{ "by" : 2 }');
      expect(again.body).toEqual(first.body);
    });
  });

  describe('the same key with another request', () => {
    it('answers 422 IDEMPOTENCY_KEY_REUSED for another body, with no second effect', async () => {
      const id = await newCounter();
      const key = newKey();
      await post(`/counters/${id}/increment`, key, { by: 5 });
      const reused = await post(`/counters/${id}/increment`, key, { by: 6 });
      expect(reused.status).toBe(422);
      expect(reused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(reused.body).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(await eventsOf(id)).toBe(2);
    });

    it('answers 422 for a create with another body', async () => {
      const key = newKey();
      await post('/counters', key, { by: 2 });
      expect((await post('/counters', key, { by: 3 })).body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    });
  });

  describe('a key whose first request still runs', () => {
    it('answers 409 IDEMPOTENCY_KEY_IN_FLIGHT, and the first its own answer', async () => {
      const id = await newCounter();
      const key = newKey();
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      try {
        const first = post(`/counters/${id}/increment`, key, { by: 5 }).then((r) => r);
        // The first is held by the gate: poll until it is in flight, then repeat it.
        let repeat = await post(`/counters/${id}/increment`, key, { by: 5 });
        while (repeat.status !== 409) repeat = await post(`/counters/${id}/increment`, key, { by: 5 });
        expect(repeat.body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_IN_FLIGHT' });
        expect(repeat.headers['retry-after']).toBe('1');
        release();
        expect((await first).body).toEqual({ id, version: 2 });
      } finally {
        gate = Promise.resolve();
      }
      expect((await post(`/counters/${id}/increment`, key, { by: 5 })).body).toEqual({ id, version: 2 });
      expect(await eventsOf(id)).toBe(2);
    });
  });

  describe('scope', () => {
    it('keeps the keys of each subject apart', async () => {
      const key = newKey();
      const alice = await post('/counters', key, { by: 1 }, 'alice');
      const bob = await post('/counters', key, { by: 1 }, 'bob');
      const anonymous = await post('/counters', key, { by: 1 });
      expect(new Set([alice.body.id, bob.body.id, anonymous.body.id]).size).toBe(3);
      expect((await post('/counters', key, { by: 1 }, 'alice')).body).toEqual(alice.body);
      // Another subject's body under the same key is not a misuse of this subject's key.
      expect((await post('/counters', key, { by: 9 }, 'carol')).status).toBe(201);
    });
  });

  describe('the window', () => {
    it('forgets a key after IDEMPOTENCY_WINDOW_SECONDS: the command then runs again', async () => {
      const id = await newCounter();
      const key = newKey();
      await post(`/counters/${id}/increment`, key, { by: 5 });
      try {
        clock.offsetMs = WINDOW_MS - 2_000;
        expect((await post(`/counters/${id}/increment`, key, { by: 5 })).body).toEqual({ id, version: 2 });
        clock.offsetMs = WINDOW_MS + 1_000;
        expect((await post(`/counters/${id}/increment`, key, { by: 5 })).body).toEqual({ id, version: 3 });
      } finally {
        clock.offsetMs = 0;
      }
    });
  });

  describe('a malformed key', () => {
    it.each([
      ['', 'empty'],
      ['x'.repeat(256), 'too long'],
      ['é', 'not ASCII'],
    ])('is a 400 field error (%#: %s)', async (key) => {
      const response = await supertest(server)
        .post('/counters')
        .set('Idempotency-Key', Buffer.from(key, 'utf8').toString('latin1'))
        .send({ by: 1 });
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ field: 'Idempotency-Key', message: expect.any(String) }],
      });
    });
  });

  describe('the pattern the OpenAPI document gives the header', () => {
    const accepted = (value: string): boolean => {
      try {
        parseIdempotencyKey(value.trimEnd()); // HTTP strips the spaces around a header value
        return true;
      } catch {
        return false;
      }
    };
    it.each([
      'k',
      '"',
      '"k"',
      '""',
      '"  "',
      '"k',
      'k"',
      'a b',
      'k  ',
      '"k" ',
      '"" ',
      'x'.repeat(255),
      'x'.repeat(256),
      `"${'x'.repeat(255)}"`,
      `"${'x'.repeat(256)}"`,
      'é',
      '\x7f',
    ])('matches exactly the values the server accepts (%j)', (value) => {
      expect(new RegExp(IDEMPOTENCY_KEY_PATTERN).test(value)).toBe(accepted(value));
    });
  });

  describe('an append whose outcome is unknown', () => {
    it('answers 503 saying the command may have been applied, without Retry-After when the request had no key', async () => {
      const id = await newCounter();
      store.loseNext = true;
      const response = await post(`/counters/${id}/increment`, undefined, { by: 5 });
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ code: 'APPEND_OUTCOME_UNKNOWN' });
      expect(response.body.detail).toMatch(/may have been applied.*Check the resource/);
      expect(response.headers['retry-after']).toBeUndefined();
    });

    it('invites the retry of a keyed request, which then answers as if the first had been answered', async () => {
      const id = await newCounter();
      const key = newKey();
      store.loseNext = true;
      const response = await post(`/counters/${id}/increment`, key, { by: 5 });
      expect(response.status).toBe(503);
      expect(response.body.detail).toMatch(/same Idempotency-Key is safe/);
      expect(response.headers['retry-after']).toBe('1');
      expect((await post(`/counters/${id}/increment`, key, { by: 5 })).body).toEqual({ id, version: 2 });
      expect(await eventsOf(id)).toBe(2);
    });
  });
});
