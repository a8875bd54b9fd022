/**
 * The script of the live page (/app/app.js), plain browser JavaScript kept in a string so that it ships in
 * the build output with the rest of the app. Each panel opens one EventSource: the browser reconnects by
 * itself and sends Last-Event-ID, so a panel resumes where it stopped. Features this process does not serve
 * (another service's feeds, in the split deployment) answer 404 and their panel says so.
 */
export const LIVE_APP_SCRIPT = String.raw`'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var token = '';
  var feeds = {};

  function tail(line) {
    var row = document.createElement('div');
    row.textContent = new Date().toISOString().slice(11, 23) + '  ' + line;
    $('tail').prepend(row);
  }

  function headers() {
    var h = { 'Content-Type': 'application/json' };
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  /**
   * Opens (or reopens) a live feed; each named event calls onMessage(type, data). EventSource reconnects by
   * itself after a network error, but gives up on an error answer (a 503 while the server starts, a 429):
   * then it is opened again a few times, 2 s apart.
   */
  function follow(name, url, types, onMessage, attempt) {
    if (feeds[name]) feeds[name].close();
    var source = new EventSource(url);
    feeds[name] = source;
    types.forEach(function (type) {
      source.addEventListener(type, function (e) { onMessage(type, JSON.parse(e.data)); });
    });
    source.addEventListener('error', function () {
      if (source.readyState !== EventSource.CLOSED || feeds[name] !== source) return;
      if ((attempt || 0) >= 5) return tail(name + ': feed closed');
      setTimeout(function () { follow(name, url, types, onMessage, (attempt || 0) + 1); }, 2000);
    });
    return source;
  }

  var ORDER_EVENTS = ['state', 'ready', 'reset', 'OrderPlaced', 'OrderConfirmed', 'OrderRejected', 'OrderCancelled'];
  var PRODUCT_EVENTS = ['state', 'ready', 'reset', 'ProductRegistered', 'ProductRestocked', 'ProductStockReserved',
    'ProductStockReleased'];
  var SHIPMENT_EVENTS = ['state', 'ShipmentCreated', 'ShipmentDispatched', 'ShipmentDelivered', 'ShipmentCancelled'];

  function showProduct(p) {
    var row = document.getElementById('product-' + p.sku);
    if (!row) {
      row = document.createElement('tr');
      row.id = 'product-' + p.sku;
      $('products').appendChild(row);
      var option = document.createElement('option');
      option.value = p.sku;
      $('skus').appendChild(option);
    }
    row.innerHTML = '';
    [p.sku, p.name, p.available, p.reserved].forEach(function (value, i) {
      var cell = document.createElement('td');
      cell.textContent = String(value);
      cell.className = ['sku', 'name', 'available', 'reserved'][i];
      row.appendChild(cell);
    });
  }

  function followProducts() {
    follow('products', '/products/live', PRODUCT_EVENTS, function (type, data) {
      if (data.state) showProduct(data.state);
      if (data.event) tail(type + ' ' + data.state.sku + ' available ' + data.state.available);
    }).addEventListener('error', function () {
      $('products-note').textContent = 'Product feed unavailable here (the inventory service serves it).';
    });
  }

  function followOrders() {
    follow('orders', '/orders/live', ORDER_EVENTS, function (type, data) {
      if (data.event) tail(type + ' order ' + data.state.id + ' -> ' + data.state.status);
    });
  }

  function findShipment(orderId, attempts) {
    fetch('/shipments?orderId=' + encodeURIComponent(orderId), { headers: headers() })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (page) {
        var shipment = page.items && page.items[0];
        if (shipment) return followShipment(shipment.id);
        if (attempts > 0) setTimeout(function () { findShipment(orderId, attempts - 1); }, 500);
        else $('shipment-status').textContent = 'not visible here';
      })
      .catch(function () { $('shipment-status').textContent = 'not visible here'; });
  }

  function followShipment(id) {
    follow('shipment', '/shipments/' + id + '/live', SHIPMENT_EVENTS, function (type, data) {
      $('shipment-status').textContent = data.state.status + (data.state.carrier ? ' (' + data.state.carrier + ')' : '');
    });
  }

  function followOrder(id) {
    $('order-id').textContent = id;
    $('order-status').textContent = '...';
    var lookedForShipment = false;
    follow('order', '/orders/' + id + '/live', ORDER_EVENTS, function (type, data) {
      $('order-status').textContent = data.state.status;
      $('order-reason').textContent = data.state.statusReason || '';
      if (data.state.status === 'CONFIRMED' && !lookedForShipment) {
        lookedForShipment = true;
        findShipment(id, 20);
      }
    });
  }

  $('order-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var body = {
      customerId: $('customer').value,
      currency: 'EUR',
      lines: [{ sku: $('sku').value, quantity: Number($('quantity').value), unitPrice: Number($('price').value) }],
    };
    fetch('/orders', { method: 'POST', headers: headers(), body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (json) { return { ok: r.ok, json: json }; }); })
      .then(function (answer) {
        if (!answer.ok) {
          $('order-status').textContent = 'refused: ' + (answer.json.detail || answer.json.code);
          return;
        }
        followOrder(answer.json.id);
      });
  });

  function start() {
    followProducts();
    followOrders();
  }

  $('use-token').addEventListener('click', function () {
    token = $('token').value.trim();
    fetch('/live/session', { method: 'POST', headers: headers() }).then(function (r) {
      $('session').textContent = r.ok ? 'live feeds use this token' : 'token refused (' + r.status + ')';
      if (r.ok) start();
    });
  });

  start();
})();
`;
