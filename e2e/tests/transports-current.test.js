// The transports example with socket.io-client 4 (Socket.IO v5 over
// Engine.IO v4) in Chromium, driven through the same page as the 0.6 client:
// pick the current client and websocket, polling or polling-then-upgrade,
// connect, type, then fire text, JSON and non-BMP text in one burst. What
// went over the wire is read off Chromium's requests and WebSocket frames,
// so a test fails when the client quietly used another transport.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');
const {
  CURRENT_MODES, CURRENT_PAYLOADS, burst, connectCurrentTransportsPage, connectTransportsPage, launchBrowser, openPage,
  startExample, typeAndSeeEcho, typeJsonAndSeeEcho,
} = require('../lib/harness');

const TIMEOUT = 30_000;
const RECORD_SEPARATOR = '\x1e'; // between packets in an Engine.IO v4 polling payload

/**
 * Records the page's Engine.IO traffic: every polling request (method, URL,
 * body) and every WebSocket (URL, text frames each way).
 */
function watchWire(page) {
  const wire = { polls: [], sockets: [] };
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname === '/socket.io/' && url.searchParams.get('transport') === 'polling') {
      wire.polls.push({ method: request.method(), url, body: request.postData() || '' });
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

/** The `message` payloads in a list of Socket.IO packets (`42["message",x]`). */
function messagesIn(packets) {
  return packets
    .filter((packet) => packet.startsWith('42'))
    .map((packet) => JSON.parse(packet.slice(2)))
    .filter(([event]) => event === 'message')
    .map(([, payload]) => payload);
}

/** What Engine.IO v4 and Socket.IO v5 on each transport must look like on the wire. */
function checkWire(wire, mode) {
  for (const { url } of [...wire.polls, ...wire.sockets]) {
    assert.equal(url.searchParams.get('EIO'), '4', `Engine.IO v4: ${url}`);
  }
  const posted = wire.polls.filter((poll) => poll.method === 'POST')
    .map((poll) => messagesIn(poll.body.split(RECORD_SEPARATOR)));
  const sentOnSocket = messagesIn(wire.sockets.flatMap((socket) => socket.sent));
  const last = CURRENT_PAYLOADS[CURRENT_PAYLOADS.length - 1];

  if (mode === 'websocket') {
    assert.equal(wire.polls.length, 0, 'websocket only: no polling request');
    assert.equal(wire.sockets.length, 1, 'one WebSocket');
    assert.equal(wire.sockets[0].url.searchParams.get('sid'), null, 'opened directly, not as an upgrade');
    assert.deepEqual(sentOnSocket.slice(-CURRENT_PAYLOADS.length), CURRENT_PAYLOADS);
  } else if (mode === 'polling') {
    assert.equal(wire.sockets.length, 0, 'polling only: no WebSocket');
    // One tick of sends: the first POST goes alone, the client buffers the
    // rest while it is out and posts them as one payload.
    const batch = posted.find((messages) => messages.some((m) => m === last));
    assert.ok(batch, `no POST carried the burst's last message: ${JSON.stringify(posted)}`);
    assert.deepEqual(batch, CURRENT_PAYLOADS.slice(1));
    assert.deepEqual(posted.flat().slice(-CURRENT_PAYLOADS.length), CURRENT_PAYLOADS);
  } else {
    assert.ok(wire.polls.some((poll) => poll.method === 'GET'), 'started on polling');
    assert.equal(wire.sockets.length, 1, 'one WebSocket');
    const [socket] = wire.sockets;
    assert.ok(socket.url.searchParams.get('sid'), `the WebSocket upgrades the polling session: ${socket.url}`);
    assert.deepEqual(socket.sent.slice(0, 2), ['2probe', '5'], 'probe, then upgrade');
    assert.deepEqual(socket.received[0], '3probe');
    // Everything typed or sent after the upgrade went over the WebSocket.
    assert.deepEqual(posted.flat(), [], 'no message was POSTed');
    assert.deepEqual(sentOnSocket.slice(-CURRENT_PAYLOADS.length), CURRENT_PAYLOADS);
  }
}

describe('transports example, socket.io-client 4', () => {
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

  for (const { mode, label, final } of CURRENT_MODES) {
    test(`${label}: greeting, typed text and JSON, then text, JSON and non-BMP text echoed intact`, { timeout: 60_000 }, async () => {
      const page = await openPage(browser);
      const wire = watchWire(page);
      try {
        await connectCurrentTransportsPage(page, server.url, mode); // as a person would
        await typeAndSeeEcho(page, `typed over ${label} 😀`);
        await typeJsonAndSeeEcho(page, { typed: true, emoji: '🎉', mode });
        assert.deepEqual(await burst(page, CURRENT_PAYLOADS), CURRENT_PAYLOADS);
        assert.equal(await page.evaluate(() => window.socket.io.engine.transport.name), final);
        checkWire(wire, mode);
        // What the person sees: the tricky strings, shown whole in the log.
        for (const text of [CURRENT_PAYLOADS[2], CURRENT_PAYLOADS[3]]) {
          await page.locator('#log .entry.in', { hasText: text }).waitFor({ timeout: TIMEOUT });
        }

        await page.click('#disconnect');
        await page.locator('#state', { hasText: /^Disconnected$/ }).waitFor({ timeout: TIMEOUT });
        assert.equal(await page.evaluate(() => window.socket.connected), false);
      } catch (error) {
        error.message += `\n--- browser ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
        throw error;
      } finally {
        await page.closeAll();
      }
    });
  }

  test('one page, both generations: 0.6 on websocket, disconnect, then socket.io-client 4 on polling', { timeout: 60_000 }, async () => {
    const page = await openPage(browser);
    try {
      await connectTransportsPage(page, server.url, 'websocket');
      await typeAndSeeEcho(page, 'from the 0.6 client');
      await page.click('#disconnect');
      await page.locator('#state', { hasText: /^Disconnected$/ }).waitFor({ timeout: TIMEOUT });

      await page.check('#client-current');
      assert.equal(await page.isVisible('#choices'), false, 'the 0.6 transports are hidden');
      await page.check('#mode-polling');
      await page.click('#connect');
      await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout: TIMEOUT });
      await page.locator('#log .entry.in', { hasText: 'Welcome from the server.' }).nth(1).waitFor({ timeout: TIMEOUT });
      assert.equal(await page.textContent('#transport'), 'polling');
      await typeAndSeeEcho(page, 'from socket.io-client 4');
    } catch (error) {
      error.message += `\n--- browser ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
      throw error;
    } finally {
      await page.closeAll();
    }
  });

  test('the page gets socket.io-client from e2e/node_modules, and the CDN fallback names the same version', async () => {
    const modules = path.join(__dirname, '..', 'node_modules', 'socket.io-client');
    const local = fs.readFileSync(path.join(modules, 'dist', 'socket.io.min.js'));
    const response = await fetch(`${server.url}/socket.io-client.js`, { redirect: 'manual' });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /javascript/);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(local), 'the served file is the local npm file');

    // Without a local copy the example redirects to jsDelivr; that URL is
    // written in the example's source, so check it against the installed version.
    const { version } = JSON.parse(fs.readFileSync(path.join(modules, 'package.json'), 'utf8'));
    const source = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'common', 'mod.rs'), 'utf8');
    assert.ok(
      source.includes(`https://cdn.jsdelivr.net/npm/socket.io-client@${version}/dist/socket.io.min.js`),
      `examples/common/mod.rs should fall back to socket.io-client@${version} on jsDelivr`);
  });
});
