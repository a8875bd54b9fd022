import type { Server } from 'node:http';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { IsInt } from 'class-validator';
import { settleLag } from '@app/core';
import { register } from 'prom-client';
import supertest from 'supertest';
import { eventually } from '../../../test/e2e/support/eventually.js';
import { configureHttpApp } from './http-app.js';

class WorkDto {
  @IsInt() n!: number;
}

/** Commands held until the test releases them: the commands in flight are exactly the ones it sent. */
let release: () => void = () => {};
let gate = new Promise<void>((done) => (release = done));
let started = 0;

@Controller()
class WorkController {
  @Post('work')
  async work(@Body() body: WorkDto) {
    started++;
    await gate;
    return { n: body.n };
  }

  @Get('work')
  read() {
    return { started };
  }

  @Post('admin/work')
  admin() {
    return { ok: true };
  }
}

@Module({ controllers: [WorkController] })
class WorkModule {}

/** The work module over HTTP as the apps configure it, with the given admission bounds. */
const startApp = async (admission: Parameters<typeof configureHttpApp>[1]['admission']) => {
  const moduleRef = await Test.createTestingModule({ imports: [WorkModule] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: false });
  configureHttpApp(app, {
    title: 't',
    description: 'd',
    bodyLimit: '16kb',
    tags: [],
    swaggerEnabled: false,
    admission,
  });
  await app.init();
  return { app, server: app.getHttpServer() as Server };
};

describe('Admission control', () => {
  let app: NestExpressApplication;
  let server: Server;

  beforeAll(async () => {
    ({ app, server } = await startApp({ maxCommandsInFlight: 2, maxEventLoopDelayMs: 0, retryAfterSeconds: 3 }));
  });

  afterAll(() => app.close());

  const commandsInFlight = async () =>
    (await register.getSingleMetric('http_commands_in_flight')!.get()).values[0]!.value;
  const post = (n: number, path = '/work') => supertest(server).post(path).send({ n });

  describe('when as many commands as the bound are in flight', () => {
    it('refuses the next one with 503 OVERLOADED problem+json and Retry-After, serves queries, and admits again once they end', async () => {
      const held = [post(1), post(2)].map((request) => request.then((response) => response));
      await eventually(() => expect(started).toBe(2));

      const refused = await post(3);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('3');
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({
        status: 503,
        code: 'OVERLOADED',
        type: 'urn:problem:overloaded',
        instance: '/work',
        correlationId: expect.any(String),
      });
      expect(refused.body.detail).toContain('2 commands are already being served');
      expect(started).toBe(2); // the refused command never reached its handler

      // Queries and operators' endpoints are not shed.
      expect((await supertest(server).get('/work')).status).toBe(200);
      expect((await post(4, '/admin/work')).status).toBe(201);

      release();
      const answers = await Promise.all(held);
      expect(answers.map((a) => [a.status, a.body.n])).toEqual([
        [201, 1],
        [201, 2],
      ]);
      gate = Promise.resolve();
      const admitted = await post(5);
      expect(admitted.status).toBe(201);
      expect(admitted.body).toEqual({ n: 5 });
    });
  });

  describe('when a held command is abandoned by its client', () => {
    it('frees its place once the connection closes', async () => {
      gate = new Promise<void>((done) => (release = done));
      started = 0;
      const abandoned = [post(6).timeout(200), post(7).timeout(200)].map((r) => r.catch((error: unknown) => error));
      await eventually(() => expect(started).toBe(2));
      await Promise.all(abandoned);
      await eventually(async () => expect(await commandsInFlight()).toBe(0));
      release();
      expect((await post(8)).status).toBe(201);
    });
  });
});

describe('Admission control by settle lag', () => {
  let app: NestExpressApplication;
  let server: Server;

  beforeAll(async () => {
    gate = Promise.resolve();
    ({ app, server } = await startApp({
      maxCommandsInFlight: 0,
      maxEventLoopDelayMs: 0,
      maxSettleLagMs: 100,
      retryAfterSeconds: 2,
    }));
  });

  afterAll(() => app.close());

  const post = (n: number, correlationId: string) =>
    supertest(server).post('/work').set('x-correlation-id', correlationId).send({ n });

  describe('when the work an admitted command started comes back to a handler later than the bound', () => {
    it('refuses new commands with 503 OVERLOADED and Retry-After before their handler runs, then admits again once it settles quickly', async () => {
      expect((await post(1, 'slow-work')).status).toBe(201);
      // The command's events reach a handler of this process (what the event handler registry reports), late.
      await eventually(() => {
        settleLag.observe('slow-work');
        expect(settleLag.lagMs).toBeGreaterThan(100);
      });
      const before = started;

      const refused = await post(2, 'refused-work');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('2');
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body).toMatchObject({ status: 503, code: 'OVERLOADED' });
      expect(refused.body.detail).toMatch(/takes \d+ ms to settle \(at most 100\)/);
      expect(started).toBe(before);
      // A refused command starts no work: its events, were any to arrive, do not count.
      settleLag.observe('refused-work');

      // Nothing slow comes back any more: the signal falls and commands are admitted again.
      await eventually(async () => expect((await post(3, 'fresh-work')).status).toBe(201), 5_000);
      expect(started).toBe(before + 1);
    });
  });
});
