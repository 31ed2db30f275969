// Stopping a server with SIGTERM closes every session: pages see it at once
// (not after a client timeout) and the process exits cleanly.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const { connectTransportsPage, launchBrowser, openPage, startExample } = require('../lib/harness');

describe('graceful shutdown', () => {
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

  test('SIGTERM disconnects websocket and xhr-polling pages and exits 0', { timeout: 60_000 }, async () => {
    const transports = ['websocket', 'xhr-polling'];
    const pages = await Promise.all(transports.map(() => openPage(browser)));
    try {
      await Promise.all(pages.map((page, i) => connectTransportsPage(page, server.url, transports[i])));
      const started = Date.now();
      const { code, signal } = await server.stop();
      assert.equal(signal, null, 'the server exits by itself, not killed');
      assert.equal(code, 0);
      // Well before the client's own 15 s / 25 s timeouts would notice.
      await Promise.all(pages.map((page) =>
        page.locator('#state', { hasText: /^Disconnected$/ }).waitFor({ timeout: 10_000 })));
      assert.ok(Date.now() - started < 12_000);
    } catch (error) {
      error.message += pages.map((page, i) => `\n--- ${transports[i]} ---\n${page.consoleLog()}`).join('')
        + `\n--- server ---\n${server.log()}`;
      throw error;
    } finally {
      await Promise.all(pages.map((page) => page.closeAll()));
    }
  });
});
