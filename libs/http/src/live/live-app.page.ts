/**
 * The live page at /app: plain HTML, one script (/app/app.js, from live-app.script.ts) and no dependency,
 * so it passes the API's Content-Security-Policy (scripts from this origin only) and needs no CDN. A starting
 * point for a team's own front end: place an order, watch it change, watch the events and the stock move.
 */
export const LIVE_APP_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Live orders</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
  section { border: 1px solid #ddd; border-radius: 6px; padding: .75rem 1rem; margin-bottom: 1rem; }
  h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
  table { border-collapse: collapse; } td, th { padding: .2rem .6rem; text-align: left; border-bottom: 1px solid #eee; }
  #tail { max-height: 16rem; overflow: auto; font: 12px monospace; background: #fafafa; padding: .5rem; }
  .status { font-weight: bold; } .muted { color: #888; }
  input { margin-right: .5rem; }
</style>
</head>
<body>
<h1>Live orders</h1>
<section>
  <h2>Session</h2>
  <label>Bearer token (only with AUTH_MODE=jwt) <input id="token" size="40" autocomplete="off"></label>
  <button id="use-token" type="button">Use token</button>
  <span id="session" class="muted"></span>
</section>
<section>
  <h2>Place an order</h2>
  <form id="order-form">
    <label>Customer <input id="customer" value="customer-1" required></label>
    <label>SKU <input id="sku" list="skus" required></label>
    <datalist id="skus"></datalist>
    <label>Quantity <input id="quantity" type="number" min="1" value="1" required></label>
    <label>Unit price <input id="price" type="number" min="0" step="0.01" value="9.99" required></label>
    <button id="place" type="submit">Place order</button>
  </form>
  <p>Order <span id="order-id" class="muted">none yet</span>:
     <span id="order-status" class="status">-</span> <span id="order-reason" class="muted"></span></p>
  <p>Shipment: <span id="shipment-status" class="status">-</span></p>
</section>
<section>
  <h2>Products</h2>
  <table><thead><tr><th>SKU</th><th>Name</th><th>Available</th><th>Reserved</th></tr></thead>
  <tbody id="products"></tbody></table>
  <p id="products-note" class="muted"></p>
</section>
<section>
  <h2>Events</h2>
  <div id="tail"></div>
</section>
<script src="/app/app.js"></script>
</body>
</html>
`;
