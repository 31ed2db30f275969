// The transports example in Chromium, driven through its own page: pick one
// transport, connect, get the greeting, type a message, then let the real
// 0.6 client fire text, a JSON object and a UTF-16-heavy string in one burst
// (on polling transports it batches them) and check every echo is intact.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');
const {
  BROWSER_TRANSPORTS, PAYLOADS, burst, connectTransportsPage, decodeFrames, formData, htmlfileShim, launchBrowser, openPage,
  startExample, typeAndSeeEcho, typeJsonAndSeeEcho,
} = require('../lib/harness');

const TIMEOUT = 30_000;

describe('transports example', () => {
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

  async function roundTrip(transport, options) {
    const page = await openPage(browser, options);
    // What the client really POSTed, read off the wire (no POSTs on websocket).
    const posts = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().includes(`/socket.io/${transport}/`)) {
        posts.push(formData(request.postData()));
      }
    });
    try {
      await connectTransportsPage(page, server.url, transport); // as a person would
      await typeAndSeeEcho(page, `typed over ${transport}`);
      await typeJsonAndSeeEcho(page, { typed: true, emoji: '😀', transport });
      assert.deepEqual(await burst(page, PAYLOADS), PAYLOADS);
      if (transport !== 'websocket') {
        // One tick of sends: the first goes alone, the client buffers the rest
        // while that POST is out and sends them as one batch.
        const batched = posts
          .map((post) => decodeFrames(post).filter((frame) => !frame.startsWith('~h~'))) // heartbeat echoes may ride along
          .find((frames) => frames.includes(PAYLOADS[2]));
        assert.ok(batched, `no POST carried the emoji string: ${JSON.stringify(posts)}`);
        assert.deepEqual(batched, ['~j~' + JSON.stringify(PAYLOADS[1]), PAYLOADS[2]]);
      }
      // What the person sees: the tricky string, shown whole in the log.
      await page.locator('#log .entry.in', { hasText: PAYLOADS[2] }).waitFor({ timeout: TIMEOUT });

      await page.click('#disconnect');
      await page.locator('#state', { hasText: /^Disconnected$/ }).waitFor({ timeout: TIMEOUT });
    } catch (error) {
      error.message += `\n--- browser ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
      throw error;
    } finally {
      await page.closeAll();
    }
  }

  for (const transport of BROWSER_TRANSPORTS) {
    test(`${transport}: greeting, typed text, JSON and emoji echoed intact`, { timeout: 60_000 }, async () => {
      await roundTrip(transport);
    });
  }

  test('htmlfile (through an ActiveXObject shim): greeting and echoes intact', { timeout: 60_000 }, async () => {
    await roundTrip('htmlfile', { initScript: htmlfileShim });
  });

  for (const transport of [...BROWSER_TRANSPORTS, 'htmlfile']) {
    test(`${transport}: disconnect, connect again, and the new session echoes`, { timeout: 60_000 }, async () => {
      const page = await openPage(browser, transport === 'htmlfile' ? { initScript: htmlfileShim } : {});
      try {
        await connectTransportsPage(page, server.url, transport);
        const first = await page.evaluate(() => window.socket.transport.sessionid);
        await page.click('#disconnect');
        await page.locator('#state', { hasText: /^Disconnected$/ }).waitFor({ timeout: TIMEOUT });

        await page.click('#connect');
        await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout: TIMEOUT });
        await page.locator('#log .entry.in', { hasText: 'Welcome from the server.' }).nth(1).waitFor({ timeout: TIMEOUT });
        const second = await page.evaluate(() => window.socket.transport.sessionid);
        assert.notEqual(second, first, 'a new session');
        // jsonp-polling: this second transport is io.JSONP[1], so the server
        // must answer with the index the client asked for.
        await typeAndSeeEcho(page, `second session over ${transport}`);
      } catch (error) {
        error.message += `\n--- browser ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
        throw error;
      } finally {
        await page.closeAll();
      }
    });
  }

  test('line breaks survive every transport (jsonp posts through a form, which rewrites them)', { timeout: 60_000 }, async () => {
    const lines = ['line one\nline two', 'windows\r\nline', '\n', { poem: 'roses\nviolets' }];
    for (const transport of [...BROWSER_TRANSPORTS, 'htmlfile']) {
      const page = await openPage(browser, transport === 'htmlfile' ? { initScript: htmlfileShim } : {});
      try {
        await connectTransportsPage(page, server.url, transport);
        const echoed = await page.evaluate((payloads) => new Promise((resolve) => {
          const got = [];
          window.socket.on('message', (message) => {
            got.push(message);
            if (got.length === payloads.length) resolve(got);
          });
          payloads.forEach((payload) => window.socket.send(payload));
        }), lines);
        assert.deepEqual(echoed, lines, transport);
        assert.equal(await page.textContent('#state'), 'Connected', transport);
      } catch (error) {
        error.message += `\n--- ${transport} ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
        throw error;
      } finally {
        await page.closeAll();
      }
    }
  });

  test('without the shim the page offers only what Chromium can do', { timeout: 30_000 }, async () => {
    const page = await openPage(browser);
    try {
      await page.goto(server.url + '/');
      const usable = await page.locator('#choices label:not(.unavailable) input').evaluateAll(
        (boxes) => boxes.map((box) => box.value));
      assert.deepEqual(usable.sort(), [...BROWSER_TRANSPORTS].sort());
    } finally {
      await page.closeAll();
    }
  });
});
