// The __context__ context over HTTP, in the monolith on the embedded stores; every response is checked
// against the OpenAPI document (/docs-json).
import { Api, expectProblem } from './support/api.js';
import { inMemoryStore, startMonolith, type RunningApp } from './support/app.js';
import { openSse } from './support/sse-client.js';

describe('__context__ over HTTP (monolith, embedded)', () => {
  let app: RunningApp;
  let api: Api;

  beforeAll(async () => {
    app = await startMonolith(inMemoryStore.env());
    api = new Api(app.server);
  });
  afterAll(() => app.close());

  it('opens a __item__, reads it back, closes it, and refuses to close it twice', async () => {
    const opened = await api.http().post('/__item__s').send({ title: 'First' });
    expect(opened.status).toBe(201);
    const { id } = opened.body as { id: string; version: number };
    expect(opened.body).toEqual({ id, version: 1 });

    const view = await api.http().get(`/__item__s/${id}`).query({ minVersion: 1 });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ id, title: 'First', status: 'OPEN', version: 1 });

    const closed = await api.http().post(`/__item__s/${id}/close`);
    expect(closed.body).toEqual({ id, version: 2 });
    const listed = await api.http().get('/__item__s').query({ status: 'CLOSED' });
    expect(listed.body.items.map((i: { id: string }) => i.id)).toContain(id);

    expectProblem(await api.http().post(`/__item__s/${id}/close`), 409, '__ITEM___ALREADY_CLOSED');
  });

  it('follows a __item__ live: its current state first, then each change (Server-Sent Events)', async () => {
    const { id } = (await api.http().post('/__item__s').send({ title: 'Live' })).body as { id: string };
    await app.app.listen(0, '127.0.0.1');
    const feed = await openSse(await app.app.getUrl(), `/__item__s/${id}/live`);
    try {
      await feed.until((m) => m.length === 1);
      await api.http().post(`/__item__s/${id}/close`);
      const messages = await feed.until((m) => m.length === 2);
      expect(messages.map((m) => [m.id, m.event])).toEqual([
        ['1', 'state'],
        ['2', messages[1]!.event],
      ]);
      expect(messages[1]!.data.state).toMatchObject({ id, status: 'CLOSED', version: 2 });
    } finally {
      feed.close();
    }
  });

  it('answers problem+json for bad input and unknown ids', async () => {
    expectProblem(await api.http().post('/__item__s').send({ title: '', extra: 1 }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.http().get('/__item__s/not-a-uuid'), 400, 'VALIDATION_FAILED');
    expectProblem(await api.http().get('/__item__s/1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b'), 404, '__ITEM___NOT_FOUND');
  });
});
