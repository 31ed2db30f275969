// The transports example with socket.io-client 0.9.17 ("protocol 1") in
// Chromium, driven through the same page as the other clients: pick the 0.9
// client and one transport, connect, get the greeting, type text and JSON,
// then let the client fire text, a JSON object and a non-BMP string full of
// protocol-1 framing in one tick (on polling transports it batches them) and
// check every echo is intact. What went over the wire is read off
// Chromium's requests and WebSocket frames, so a test fails when the client
// quietly used another transport.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const { NON_BMP } = require('../clients/util');
const {
  V09_TRANSPORTS, connectV09TransportsPage, htmlfileShim, launchBrowser, openPage, startExample, typeAndSeeEcho,
  typeJsonAndSeeEcho,
} = require('../lib/harness');

const TIMEOUT = 30_000;
const ALL_TRANSPORTS = [...V09_TRANSPORTS, 'htmlfile'];

/**
 * Text, a JSON object, and a string with what frames a protocol-1 payload
 * (`\ufffd` LEN `\ufffd`, LEN in UTF-16 units), packet look-alikes and
 * `</script>` (which the htmlfile transport must not let end its script).
 */
const V09_PAYLOADS = [
  'hello, world',
  { kind: 'json', n: 42, nested: { list: [1, 'two', null], ok: true }, text: 'ünïcødé' },
  `${NON_BMP} \ufffd5\ufffd3:::x 3:1::fake 5:::{"name":"x"} </script><script>x()</script>`,
];

function optionsFor(transport) {
  return transport === 'htmlfile' ? { initScript: htmlfileShim } : {};
}

/** Records the page's protocol-1 traffic: every request and every WebSocket. */
function watchWire(page) {
  const wire = { requests: [], sockets: [] };
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith('/socket.io/')) {
      wire.requests.push({ method: request.method(), url, body: request.postData() || '' });
    }
  });
  page.on('websocket', (socket) => {
    const entry = { url: new URL(socket.url()), sent: [], received: [] };
    socket.on('framesent', ({ payload }) => entry.sent.push(String(payload)));
    socket.on('framereceived', ({ payload }) => entry.received.push(String(payload)));
    wire.sockets.push(entry);
  });
  return wire;
}

/**
 * Splits a protocol-1 payload into its packets. Written from the protocol
 * text: one bare packet, or `\ufffd` LEN `\ufffd` packet repeated, LEN in
 * UTF-16 code units (JavaScript's length); framed by length only.
 */
function decodePayload(payload) {
  if (!payload.startsWith('\ufffd')) return [payload];
  const packets = [];
  let at = 0;
  while (at < payload.length) {
    const match = /^\ufffd(\d+)\ufffd/.exec(payload.slice(at));
    if (!match) throw new Error(`not a protocol-1 frame at ${at}: ${JSON.stringify(payload.slice(at, at + 40))}`);
    const start = at + match[0].length;
    const length = Number(match[1]);
    if (payload.length < start + length) throw new Error(`frame cut short: ${JSON.stringify(payload.slice(at, at + 40))}`);
    packets.push(payload.slice(start, start + length));
    at = start + length;
  }
  return packets;
}

/** The `d` field of jsonp-polling's form POST: the payload as a JSON string. */
function formField(body) {
  for (const pair of String(body).split('&')) {
    const [name, value = ''] = pair.split('=');
    if (name === 'd') return JSON.parse(decodeURIComponent(value.replace(/\+/g, ' ')));
  }
  throw new Error(`no d field in ${JSON.stringify(String(body).slice(0, 40))}`);
}

/** The packets the client POSTed, one list per POST. */
function posted(wire, transport) {
  return wire.requests
    .filter((request) => request.method === 'POST')
    .map((request) => decodePayload(transport === 'jsonp-polling' ? formField(request.body) : request.body));
}

/** How the client sends each payload: text as `3:::`, anything else as `4:::` JSON. */
function packetOf(payload) {
  return typeof payload === 'string' ? `3:::${payload}` : `4:::${JSON.stringify(payload)}`;
}

/**
 * Sends `payloads` in one tick through the page's 0.9 socket (text with
 * `send`, objects with `json.send`); resolves with the next as many messages
 * that come back.
 */
async function burst(page, payloads, timeout = TIMEOUT) {
  await page.evaluate((payloads) => {
    window.echoes = [];
    window.socket.on('message', (message) => window.echoes.push(message));
    payloads.forEach((payload) => {
      if (typeof payload === 'string') window.socket.send(payload);
      else window.socket.json.send(payload);
    });
  }, payloads);
  await page.waitForFunction((n) => window.echoes.length >= n, payloads.length, { timeout });
  return page.evaluate(() => window.echoes);
}

/** What protocol 1 on `transport` must look like on the wire. */
function checkWire(wire, transport) {
  const sid = wire.sockets[0]?.url.pathname.split('/')[4]
    ?? wire.requests.find((r) => r.url.pathname.startsWith(`/socket.io/1/${transport}/`))?.url.pathname.split('/')[4];
  assert.ok(sid, `no ${transport} request at all: ${wire.requests.map((r) => `${r.method} ${r.url.pathname}`).join(', ')}`);
  for (const { method, url } of wire.requests) {
    const handshake = url.pathname === '/socket.io/1/';
    assert.ok(
      handshake || url.pathname === `/socket.io/1/${transport}/${sid}`,
      `${method} ${url.pathname}: only the handshake and ${transport} for ${sid}`,
    );
    if (handshake) assert.equal(method, 'GET', 'the handshake is a GET');
  }
  const last = packetOf(V09_PAYLOADS[V09_PAYLOADS.length - 1]);
  if (transport === 'websocket') {
    assert.equal(wire.sockets.length, 1, 'one WebSocket');
    assert.equal(wire.sockets[0].url.pathname, `/socket.io/1/websocket/${sid}`);
    assert.equal(wire.requests.filter((r) => r.url.pathname !== '/socket.io/1/').length, 0, 'no polling');
    // A WebSocket never batches: one packet per frame, in order.
    const sent = wire.sockets[0].sent.filter((frame) => frame !== '2::');
    assert.deepEqual(sent.slice(-V09_PAYLOADS.length), V09_PAYLOADS.map(packetOf));
    assert.equal(wire.sockets[0].received[0], '1::', 'the server opens with 1::');
  } else {
    assert.equal(wire.sockets.length, 0, `${transport}: no WebSocket`);
    // One tick of sends: the first POST goes alone, the client buffers the
    // rest while it is out and posts them as one framed payload.
    const batch = posted(wire, transport)
      .map((packets) => packets.filter((packet) => packet !== '2::')) // heartbeat answers may ride along
      .find((packets) => packets.includes(last));
    assert.ok(batch, `no POST carried the burst's last packet: ${JSON.stringify(posted(wire, transport))}`);
    assert.deepEqual(batch, V09_PAYLOADS.slice(1).map(packetOf));
  }
}

describe('transports example, socket.io-client 0.9', () => {
  let server;
  let browser;

  before(async () => {
    server = await startExample('transports');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function withPage(transport, body) {
    const page = await openPage(browser, optionsFor(transport));
    try {
      await body(page);
    } catch (error) {
      error.message += `\n--- browser (${transport}) ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
      throw error;
    } finally {
      await page.closeAll();
    }
  }

  for (const transport of ALL_TRANSPORTS) {
    const label = transport === 'htmlfile' ? 'htmlfile (through an ActiveXObject shim)' : transport;
    test(`${label}: greeting, typed text, JSON and non-BMP text echoed intact`, { timeout: 60_000 }, async () => {
      await withPage(transport, async (page) => {
        const wire = watchWire(page);
        await connectV09TransportsPage(page, server.url, transport); // as a person would
        assert.equal(await page.evaluate(() => window.io09.version), '0.9.17');
        assert.equal(await page.evaluate(() => window.io09.protocol), 1);
        await typeAndSeeEcho(page, `typed over ${transport} 😀`);
        await typeJsonAndSeeEcho(page, { typed: true, emoji: '😀', transport });
        assert.deepEqual(await burst(page, V09_PAYLOADS), V09_PAYLOADS);
        // What the person sees: the tricky string, shown whole in the log.
        await page.locator('#log .entry.in', { hasText: V09_PAYLOADS[2] }).waitFor({ timeout: TIMEOUT });
        checkWire(wire, transport);

        await page.click('#disconnect');
        await page.locator('#state', { hasText: /^Disconnected$/ }).waitFor({ timeout: TIMEOUT });
        if (transport === 'websocket') {
          // The client says goodbye before it closes.
          const socket = wire.sockets[0];
          assert.equal(socket.sent[socket.sent.length - 1], '0::');
        }
      });
    });
  }

  for (const transport of ALL_TRANSPORTS) {
    test(`${transport}: disconnect, connect again, and the new session echoes`, { timeout: 60_000 }, async () => {
      await withPage(transport, async (page) => {
        await connectV09TransportsPage(page, server.url, transport);
        const first = await page.evaluate(() => window.socket.socket.sessionid);
        await page.click('#disconnect');
        await page.locator('#state', { hasText: /^Disconnected$/ }).waitFor({ timeout: TIMEOUT });

        await page.click('#connect');
        await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout: TIMEOUT });
        await page.locator('#log .entry.in', { hasText: 'Welcome from the server.' }).nth(1).waitFor({ timeout: TIMEOUT });
        const second = await page.evaluate(() => window.socket.socket.sessionid);
        assert.notEqual(second, first, 'a new session');
        assert.equal(await page.evaluate(() => window.socket.socket.transport.name), transport);
        // jsonp-polling: this second transport is io.j[1], so the server
        // must answer with the index the client asked for.
        await typeAndSeeEcho(page, `second session over ${transport}`);
      });
    });
  }

  test('line breaks and quotes survive every transport', { timeout: 90_000 }, async () => {
    const lines = ['line one\nline two', 'windows\r\nline', '\n', '"quoted" \\ back\\slash', { poem: 'roses\nviolets' }];
    for (const transport of ALL_TRANSPORTS) {
      await withPage(transport, async (page) => {
        await connectV09TransportsPage(page, server.url, transport);
        assert.deepEqual(await burst(page, lines), lines, transport);
        assert.equal(await page.textContent('#state'), 'Connected', transport);
      });
    }
  });

  test('the page offers 0.9 what Chromium can do, and htmlfile with the shim', { timeout: 30_000 }, async () => {
    for (const [options, expected] of [[{}, V09_TRANSPORTS], [{ initScript: htmlfileShim }, ALL_TRANSPORTS]]) {
      const page = await openPage(browser, options);
      try {
        await page.goto(server.url + '/');
        await page.check('#client-v09');
        assert.equal(await page.isVisible('#v09-choices'), true);
        assert.equal(await page.isVisible('#choices'), false, 'the 0.6 transports are hidden');
        const usable = await page.locator('#v09-choices label:not(.unavailable) input').evaluateAll(
          (boxes) => boxes.map((box) => box.value));
        assert.deepEqual(usable.sort(), [...expected].sort());
      } finally {
        await page.closeAll();
      }
    }
  });
});
