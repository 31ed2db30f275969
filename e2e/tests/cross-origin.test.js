// A page from another origin (another loopback port, served by a plain node
// HTTP server) loads the client from the tornadio server and connects to it
// over each transport the 0.6 client allows cross-origin in Chromium: that
// needs CORS on the XHR transports, none on jsonp's <script>, and origin-free
// WebSocket handling. The messages are sent before the connection is up, so
// the client queues them and sends all three as one batch.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const {
  BROWSER_TRANSPORTS, PAYLOADS, launchBrowser, openPage, startExample, startOtherOrigin,
} = require('../lib/harness');

const TIMEOUT = 30_000;

describe('cross-origin page', () => {
  let server;
  let other;
  let browser;

  before(async () => {
    server = await startExample('transports');
    other = await startOtherOrigin(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Another origin</title>
<script src="${server.url}/socket.io.js"></script></head>
<body><h1>A page on another origin</h1><ul id="log"></ul></body></html>`);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await other?.stop();
    await server?.stop();
  });

  for (const transport of BROWSER_TRANSPORTS) {
    test(`${transport}: connects from another origin and echoes a queued batch`, { timeout: 60_000 }, async () => {
      const page = await openPage(browser);
      try {
        await page.goto(other.url + '/');
        assert.notEqual(new URL(page.url()).origin, server.url, 'the page must be on another origin');

        const chosen = await page.evaluate(({ port, transport, payloads }) => {
          window.received = [];
          window.connected = null;
          const socket = new io.Socket('127.0.0.1', {
            port, transports: [transport], rememberTransport: false, reconnect: false,
          });
          window.socket = socket;
          socket.on('connect', () => { window.connected = socket.transport.type; });
          socket.on('message', (message) => {
            window.received.push(message);
            const item = document.createElement('li');
            item.textContent = typeof message === 'object' ? JSON.stringify(message) : message;
            document.getElementById('log').appendChild(item);
          });
          socket.connect();
          // Not connected yet: queued, then sent as one batch on connect.
          payloads.forEach((payload) => socket.send(payload));
          return socket.transport && socket.transport.type;
        }, { port: server.port, transport, payloads: PAYLOADS });
        assert.equal(chosen, transport, 'the client must accept the transport cross-origin');

        await page.waitForFunction((n) => window.received.length >= n, PAYLOADS.length + 1, { timeout: TIMEOUT });
        assert.equal(await page.evaluate(() => window.connected), transport);
        assert.deepEqual(await page.evaluate(() => window.received), ['Welcome from the server.', ...PAYLOADS]);
        await page.locator('#log li', { hasText: PAYLOADS[2] }).waitFor({ timeout: TIMEOUT });
      } catch (error) {
        error.message += `\n--- browser ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
        throw error;
      } finally {
        await page.closeAll();
      }
    });
  }
});
