// The shipping context over HTTP, in the monolith on the embedded stores: shipments appear for confirmed
// orders only, follow dispatch and delivery, refuse invalid transitions with 409 problem+json, and every
// response is checked against the OpenAPI document (/docs-json).
import { Api, expectProblem, uniqueCustomer, uniqueSku } from './support/api.js';
import { inMemoryStore, startMonolith, type RunningApp } from './support/app.js';
import { eventually } from './support/eventually.js';

interface ShipmentView {
  id: string;
  orderId: string;
  status: 'AWAITING_DISPATCH' | 'DISPATCHED' | 'DELIVERED' | 'CANCELLED';
  lines: { sku: string; quantity: number }[];
  carrier: string | null;
  trackingCode: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

describe('shipping over HTTP (monolith, embedded)', () => {
  let app: RunningApp;
  let api: Api;

  beforeAll(async () => {
    app = await startMonolith(inMemoryStore.env());
    api = new Api(app.server);
  });
  afterAll(() => app.close());

  const shipmentsOf = async (orderId: string): Promise<ShipmentView[]> => {
    const response = await api.http().get('/shipments').query({ orderId });
    expect(response.status).toBe(200);
    return response.body.items as ShipmentView[];
  };

  /** Places an order of `quantity` against a fresh product with `stock`, and waits until it settled. */
  const settledOrder = async (stock: number, quantity: number) => {
    const sku = uniqueSku('SHIP');
    await api.registerProduct(sku, stock);
    const orderId = await api.placedOrder(uniqueCustomer(), [{ sku, quantity, unitPrice: 2.5 }]);
    const order = await api.settledOrder(orderId);
    return { orderId, sku, status: order.status };
  };

  /** The shipment of a confirmed order, once the policy created it. */
  const shipmentOf = (orderId: string): Promise<ShipmentView> =>
    eventually(async () => {
      const [shipment] = await shipmentsOf(orderId);
      expect(shipment).toBeDefined();
      return shipment!;
    });

  describe('when an order is confirmed', () => {
    it('creates one shipment awaiting dispatch, with the order lines', async () => {
      const { orderId, sku, status } = await settledOrder(10, 3);
      expect(status).toBe('CONFIRMED');
      const shipment = await shipmentOf(orderId);
      expect(shipment).toMatchObject({
        orderId,
        status: 'AWAITING_DISPATCH',
        lines: [{ sku, quantity: 3 }],
        carrier: null,
        trackingCode: null,
        version: 1,
      });
      const one = await api.http().get(`/shipments/${shipment.id}`);
      expect(one.status).toBe(200);
      expect(one.body).toEqual(shipment);
    });
  });

  describe('when an order is rejected', () => {
    it('creates no shipment', async () => {
      const { orderId, status } = await settledOrder(1, 5);
      expect(status).toBe('REJECTED');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await shipmentsOf(orderId)).toEqual([]);
    });
  });

  describe('dispatch and delivery', () => {
    it('moves AWAITING_DISPATCH -> DISPATCHED -> DELIVERED, answering { id, version } each time', async () => {
      const { orderId } = await settledOrder(10, 1);
      const { id } = await shipmentOf(orderId);
      const dispatched = await api
        .http()
        .post(`/shipments/${id}/dispatch`)
        .send({ carrier: 'DHL', trackingCode: 'JD0146-0001' });
      expect(dispatched.status).toBe(200);
      expect(dispatched.body).toEqual({ id, version: 2 });
      const delivered = await api.http().post(`/shipments/${id}/deliver`);
      expect(delivered.status).toBe(200);
      expect(delivered.body).toEqual({ id, version: 3 });
      const view = await api.http().get(`/shipments/${id}`).query({ minVersion: 3 });
      expect(view.body).toMatchObject({ status: 'DELIVERED', carrier: 'DHL', trackingCode: 'JD0146-0001' });
      const listed = await api.http().get('/shipments').query({ orderId, status: 'DELIVERED' });
      expect(listed.body.items.map((s: ShipmentView) => s.id)).toEqual([id]);
    });

    it('refuses to deliver a shipment that was not dispatched (409)', async () => {
      const { orderId } = await settledOrder(10, 1);
      const { id } = await shipmentOf(orderId);
      const problem = expectProblem(
        await api.http().post(`/shipments/${id}/deliver`),
        409,
        'SHIPMENT_TRANSITION_INVALID',
      );
      expect(problem.detail).toContain('AWAITING_DISPATCH');
    });

    it('refuses to dispatch twice (409)', async () => {
      const { orderId } = await settledOrder(10, 1);
      const { id } = await shipmentOf(orderId);
      const body = { carrier: 'UPS', trackingCode: '1Z999' };
      expect((await api.http().post(`/shipments/${id}/dispatch`).send(body)).status).toBe(200);
      expectProblem(await api.http().post(`/shipments/${id}/dispatch`).send(body), 409, 'SHIPMENT_TRANSITION_INVALID');
    });
  });

  describe('when the order is cancelled', () => {
    it('cancels a shipment awaiting dispatch', async () => {
      const { orderId } = await settledOrder(10, 2);
      const { id } = await shipmentOf(orderId);
      expect((await api.cancel(orderId, { reason: 'no longer needed' })).status).toBe(200);
      const cancelled = await eventually(async () => {
        const response = await api.http().get(`/shipments/${id}`);
        expect(response.body.status).toBe('CANCELLED');
        return response.body as ShipmentView;
      });
      expect(cancelled.version).toBe(2);
      expectProblem(
        await api.http().post(`/shipments/${id}/dispatch`).send({ carrier: 'DHL', trackingCode: 'X1' }),
        409,
        'SHIPMENT_TRANSITION_INVALID',
      );
    });

    it('leaves a dispatched shipment DISPATCHED', async () => {
      const { orderId } = await settledOrder(10, 2);
      const { id } = await shipmentOf(orderId);
      await api.http().post(`/shipments/${id}/dispatch`).send({ carrier: 'DHL', trackingCode: 'X2' }).expect(200);
      expect((await api.cancel(orderId)).status).toBe(200);
      await eventually(async () => expect((await api.order(orderId)).status).toBe('CANCELLED'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const response = await api.http().get(`/shipments/${id}`);
      expect(response.body).toMatchObject({ status: 'DISPATCHED', version: 2 });
    });
  });

  describe('bad input', () => {
    it('answers 404 problem+json for an unknown shipment', async () => {
      const unknown = '0c6f3f4e-2a1b-5c3d-9e8f-7a6b5c4d3e2f';
      expectProblem(await api.http().get(`/shipments/${unknown}`), 404, 'SHIPMENT_NOT_FOUND');
      expectProblem(await api.http().post(`/shipments/${unknown}/deliver`), 404, 'SHIPMENT_NOT_FOUND');
    });

    // The document says `format: uuid`: a well-formed UUID of another version is an unknown id, not bad input.
    it.each([
      ['1', 'e3e70682-c209-1cac-a29f-6fbed82c07cd'],
      ['4', '1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b'],
    ])('answers 404 for an unknown shipment id of UUID version %s', async (_, unknown) => {
      expectProblem(await api.http().get(`/shipments/${unknown}`), 404, 'SHIPMENT_NOT_FOUND');
      expectProblem(await api.http().get(`/shipments/${unknown}/live`), 404, 'SHIPMENT_NOT_FOUND');
      expectProblem(await api.http().post(`/shipments/${unknown}/deliver`), 404, 'SHIPMENT_NOT_FOUND');
    });

    it('names the fields of an invalid dispatch body', async () => {
      const { orderId } = await settledOrder(10, 1);
      const { id } = await shipmentOf(orderId);
      const problem = expectProblem(
        await api.http().post(`/shipments/${id}/dispatch`).send({ carrier: '', trackingCode: 'no spaces', extra: 1 }),
        400,
        'VALIDATION_FAILED',
      );
      expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'carrier',
        'extra',
        'trackingCode',
      ]);
    });

    it.each([
      ['a malformed id', '/shipments/not-a-uuid'],
      ['a bad status filter', '/shipments?status=LOST'],
      ['a bad order id filter', '/shipments?orderId=42'],
    ])('refuses %s (400)', async (_, path) => {
      expectProblem(await api.http().get(path), 400, 'VALIDATION_FAILED');
    });
  });

  describe('the API documentation', () => {
    it('groups the shipping operations under its commands and queries tags', async () => {
      const { body: doc } = await api.http().get('/docs-json');
      const tagOf = (path: string, method: string) => doc.paths[path][method].tags;
      expect(tagOf('/shipments', 'get')).toEqual(['shipping: queries']);
      expect(tagOf('/shipments/{id}', 'get')).toEqual(['shipping: queries']);
      expect(tagOf('/shipments/{id}/dispatch', 'post')).toEqual(['shipping: commands']);
      expect(tagOf('/shipments/{id}/deliver', 'post')).toEqual(['shipping: commands']);
    });
  });
});
