// Connections that sit idle must stay up: the 0.6 client drops a persistent
// transport after 15 s without a payload and a polling one after 25 s, so
// the server's heartbeats (websocket, htmlfile) and its empty answers to
// long polls (xhr-polling, jsonp-polling) have to keep every page connected.
// All four pages idle side by side for 32 s, then each still echoes.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const {
  BROWSER_TRANSPORTS, connectTransportsPage, htmlfileShim, launchBrowser, openPage, startExample,
} = require('../lib/harness');

const IDLE_MS = 32_000;

describe('idle connections', () => {
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

  test('stay connected past the client timeouts on every transport', { timeout: 120_000 }, async () => {
    const transports = [...BROWSER_TRANSPORTS, 'htmlfile'];
    const pages = await Promise.all(transports.map(
      (transport) => openPage(browser, transport === 'htmlfile' ? { initScript: htmlfileShim } : {})));
    try {
      await Promise.all(pages.map((page, i) => connectTransportsPage(page, server.url, transports[i])));
      await Promise.all(pages.map((page) => page.evaluate(() => {
        window.drops = 0;
        window.socket.on('disconnect', () => { window.drops += 1; });
      })));

      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));

      for (const [i, page] of pages.entries()) {
        const transport = transports[i];
        assert.equal(await page.evaluate(() => window.drops), 0, `${transport} dropped while idle`);
        assert.equal(await page.textContent('#state'), 'Connected', `${transport} page`);
        const text = `still here on ${transport}`;
        await page.fill('#message', text);
        await page.press('#message', 'Enter');
        await page.locator('#log .entry.in', { hasText: text }).waitFor({ timeout: 10_000 });
      }
    } catch (error) {
      error.message += pages.map((page, i) => `\n--- ${transports[i]} ---\n${page.consoleLog()}`).join('')
        + `\n--- server ---\n${server.log()}`;
      throw error;
    } finally {
      await Promise.all(pages.map((page) => page.closeAll()));
    }
  });
});
