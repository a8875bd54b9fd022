import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Response } from 'supertest';
import { eventually } from './eventually.js';
import { request, type CheckedAgent } from './openapi-contract.js';

export const PROBLEM_JSON = /^application\/problem\+json/;

const suffix = (): string => randomUUID().replaceAll('-', '').slice(0, 12);
export const uniqueSku = (label = 'SKU'): string => `${label}-${suffix()}`;
export const uniqueCustomer = (label = 'customer'): string => `${label}-${suffix()}`;

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPrice: number;
}

export interface OrderView {
  id: string;
  customerId: string;
  status: 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED';
  lines: OrderLine[];
  total: number;
  currency: string;
  version: number;
  placedAt: string;
  updatedAt: string;
  statusReason: string | null;
}

export interface ProductView {
  sku: string;
  name: string;
  available: number;
  reserved: number;
  version: number;
  updatedAt: string;
}

/** Asserts the response is an RFC 9457 problem with this status and (optionally) code; returns its body. */
export const expectProblem = (response: Response, status: number, code?: string): Record<string, any> => {
  const { req } = response as Response & { req?: { method: string; path: string } };
  const context = `${req?.method} ${req?.path} -> ${response.status} ${response.text?.slice(0, 500)}`;
  expect({ context, status: response.status }).toEqual({ context, status });
  expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
  const problem = JSON.parse(response.text) as Record<string, any>;
  expect(problem).toMatchObject({
    status,
    type: expect.any(String),
    title: expect.any(String),
    code: expect.any(String),
  });
  if (code) expect(problem.code).toBe(code);
  return problem;
};

/** Thin client over supertest for the monolith's HTTP API; every response is checked against /docs-json. */
export class Api {
  constructor(readonly server: Server) {}

  http(): CheckedAgent {
    return request(this.server);
  }

  async registerProduct(sku: string, initialStock: number, name = `Product ${sku}`): Promise<ProductView> {
    const response = await this.http().post('/products').send({ sku, name, initialStock });
    expect(response.status).toBe(201);
    return this.product(sku, response.body.version);
  }

  async product(sku: string, minVersion?: number): Promise<ProductView> {
    const response = await this.http()
      .get(`/products/${sku}`)
      .query(minVersion ? { minVersion } : {});
    expect(response.status).toBe(200);
    return response.body as ProductView;
  }

  placeOrder(customerId: string, lines: OrderLine[], currency = 'EUR') {
    return this.http().post('/orders').send({ customerId, currency, lines });
  }

  async placedOrder(customerId: string, lines: OrderLine[]): Promise<string> {
    const response = await this.placeOrder(customerId, lines);
    expect(response.status).toBe(201);
    return response.body.id as string;
  }

  async order(id: string, minVersion?: number): Promise<OrderView> {
    const response = await this.http()
      .get(`/orders/${id}`)
      .query(minVersion ? { minVersion } : {});
    expect(response.status).toBe(200);
    return response.body as OrderView;
  }

  /** Waits (bounded) until inventory's answer settled the order, and returns it. */
  settledOrder(id: string, timeoutMs = 5_000): Promise<OrderView> {
    return eventually(async () => {
      const order = await this.order(id);
      expect(order.status).not.toBe('PENDING');
      return order;
    }, timeoutMs);
  }

  cancel(id: string, body?: object) {
    const call = this.http().post(`/orders/${id}/cancel`);
    return body === undefined ? call : call.send(body);
  }

  async ordersOf(customerId: string, extra: Record<string, string | number> = {}) {
    const response = await this.http()
      .get('/orders')
      .query({ customerId, ...extra });
    expect(response.status).toBe(200);
    return response.body as { items: OrderView[]; nextCursor: string | null };
  }
}
