import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { startMonolith, type RunningApp } from '../e2e/support/app.js';
import { launchChromium, type Browser } from './chromium.js';
import { placeOrderThroughPage } from './live-page.js';

/** The browser globals the functions run in the page use (this project compiles without the DOM library). */
interface PageElement {
  readonly textContent: string | null;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
};

// The live page of the embedded monolith in a real browser (Debian's chromium through playwright-core).

describe('the live page /app (embedded monolith, chromium)', () => {
  let running: RunningApp;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    running = await startMonolith({});
    await running.app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${((running.app.getHttpServer() as Server).address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  it('places an order and shows it CONFIRMED, its shipment, the events and the stock, without a reload', async () => {
    const sku = `PAGE-${randomUUID().slice(0, 8).toUpperCase()}`;
    const registered = await fetch(`${baseUrl}/products`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sku, name: 'Page test', initialStock: 5 }),
    });
    expect(registered.status).toBe(201);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // Failed requests by URL (the browser asks for /favicon.ico by itself: not the page's doing).
    page.on('response', (response) => {
      if (response.status() >= 400 && !response.url().endsWith('/favicon.ico'))
        errors.push(`${response.status()} ${response.url()}`);
    });

    const { orderId, statuses } = await placeOrderThroughPage(page, baseUrl, { sku });
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);
    expect(statuses.at(-1)).toBe('CONFIRMED');
    // The stock moved on the page (the products feed), the events went by in the tail, the shipment came.
    await page.waitForFunction((s) => document.querySelector(`#product-${s} .available`)?.textContent === '4', sku, {
      timeout: 10_000,
    });
    await page.waitForFunction(() => /OrderConfirmed order/.test(document.getElementById('tail')!.textContent!), null, {
      timeout: 10_000,
    });
    await page.waitForFunction(
      () => document.getElementById('shipment-status')!.textContent === 'AWAITING_DISPATCH',
      null,
      { timeout: 15_000 },
    );
    expect(errors).toEqual([]);
  }, 60_000);

  it('renders the AsyncAPI document at /asyncapi with the AsyncAPI component, served locally', async () => {
    const page = await browser.context.newPage();
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(baseUrl)) external.push(request.url());
    });
    page.on('response', (response) => {
      if (response.status() >= 400 && !response.url().endsWith('/favicon.ico'))
        errors.push(`${response.status()} ${response.url()}`);
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${baseUrl}/asyncapi`);
    await page
      .waitForFunction(() => /OrderPlaced/.test(document.getElementById('asyncapi')!.textContent!), null, {
        timeout: 30_000,
      })
      .catch((error: Error) => {
        throw new Error(`${error.message}; page errors: ${errors.join(' | ')}`);
      });
    const text = (await page.textContent('#asyncapi')) ?? '';
    expect(text).toContain('orders.order');
    expect(text).toContain('/orders/{id}/live');
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
  }, 60_000);
});
