import type { Page } from 'playwright-core';

/** The browser globals the functions run in the page use (this project compiles without the DOM library). */
interface PageElement {
  readonly textContent: string | null;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
};
declare const window: { shownStatuses: string[] };
declare const MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void };

/**
 * Places an order through the live page at `${baseUrl}/app` and waits until the page shows `status` for it,
 * without any reload (the page is loaded once: a second navigation fails the flow).
 * @returns the order id the page shows, and what the page showed on the way
 */
export const placeOrderThroughPage = async (
  page: Page,
  baseUrl: string,
  { sku, status = 'CONFIRMED', timeoutMs = 20_000 }: { sku: string; status?: string; timeoutMs?: number },
): Promise<{ orderId: string; statuses: string[] }> => {
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });
  await page.goto(`${baseUrl}/app`);
  // Every status the page shows, as it shows it (a MutationObserver in the page).
  await page.evaluate(() => {
    const shown: string[] = [];
    window.shownStatuses = shown;
    const target = document.getElementById('order-status')!;
    new MutationObserver(() => shown.push(target.textContent ?? '')).observe(target, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
  await page.fill('#sku', sku);
  await page.fill('#quantity', '1');
  await page.click('#place');
  await page.waitForFunction((expected) => document.getElementById('order-status')?.textContent === expected, status, {
    timeout: timeoutMs,
  });
  if (navigations !== 1) throw new Error(`the page navigated ${navigations} times: it must update without a reload`);
  const orderId = (await page.textContent('#order-id')) ?? '';
  const statuses = await page.evaluate(() => window.shownStatuses);
  return { orderId, statuses };
};
