// The chatroom example with socket.io-client 4 at /current, beside the 0.6
// page at /: one room for both generations. People type into the pages and
// read each other; text, JSON and non-BMP text sent through the clients
// arrive intact and in order on both; whoever leaves, the others are told.
//
// Every test gets a fresh server: a closed 0.6 polling page leaves only when
// its session expires (up to 45 s later), and its `A user has left.` must not
// land in another test's room.
'use strict';

const assert = require('node:assert/strict');
const { after, afterEach, before, beforeEach, describe, test } = require('node:test');
const { NON_BMP } = require('../clients/util');
const { launchBrowser, openPage, startExample } = require('../lib/harness');

const TIMEOUT = 30_000;

/**
 * How a page joins: the path and query that pick its client and transport,
 * and the transport it must end up on (`upgrade` is the current page's
 * default: polling, then websocket).
 */
const WAYS = {
  'websocket (0.6)': { path: '/?transport=websocket', final: 'websocket' },
  'xhr-polling (0.6)': { path: '/?transport=xhr-polling', final: 'xhr-polling' },
  'jsonp-polling (0.6)': { path: '/?transport=jsonp-polling', final: 'jsonp-polling' },
  websocket: { path: '/current?transport=websocket', final: 'websocket', current: true },
  polling: { path: '/current?transport=polling', final: 'polling', current: true },
  upgrade: { path: '/current', final: 'websocket', current: true },
};

describe('chatroom example, socket.io-client 4 and 0.6 in one room', () => {
  let server;
  let browser;

  before(async () => {
    browser = await launchBrowser();
  });

  beforeEach(async () => {
    server = await startExample('chatroom');
  });

  afterEach(async () => {
    await server?.stop();
  });

  after(async () => {
    await browser?.close();
  });

  /**
   * Opens the chat page the way `way` says, as `name`; waits for the welcome
   * and the final transport. Every message the page's client receives from
   * then on is also kept in `window.received`.
   */
  async function join(name, way) {
    const { path, final, current } = WAYS[way];
    const page = await openPage(browser);
    page.label = `${name} on ${way}`;
    page.final = final;
    const sockets = [];
    page.on('websocket', (socket) => sockets.push(new URL(socket.url())));
    await page.goto(server.url + path);
    await page.evaluate(() => {
      window.received = [];
      window.chatSocket.on('message', (message) => window.received.push(message));
    });
    await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout: TIMEOUT });
    await page.locator('#transport', { hasText: new RegExp(`^${final}$`) }).waitFor({ timeout: TIMEOUT });
    await page.locator('#log .system', { hasText: 'Welcome!' }).waitFor({ timeout: TIMEOUT });
    if (current) {
      assert.equal(await page.evaluate(() => window.chatSocket.io.engine.transport.name), final, page.label);
      assert.equal(await page.isVisible('[data-client=current]'), true, 'the page says which client it runs');
      if (way === 'upgrade') {
        assert.equal(sockets.length, 1, 'one WebSocket');
        assert.ok(sockets[0].searchParams.get('sid'), `the WebSocket upgrades a polling session: ${sockets[0]}`);
      }
    } else {
      assert.equal(await page.evaluate(() => typeof window.chatSocket.transport), 'object', 'a 0.6 socket');
    }
    await page.fill('#name', name);
    return page;
  }

  /** Types `text` and clicks Send, like a person. */
  async function say(page, text) {
    await page.click('#message');
    await page.keyboard.type(text);
    await page.click('#send');
    assert.equal(await page.inputValue('#message'), '', 'the input clears after sending');
  }

  async function sees(page, name, text) {
    await page.locator('#log .chat', { hasText: text }).filter({ has: page.locator('.name', { hasText: name }) })
      .waitFor({ timeout: TIMEOUT });
  }

  /**
   * Leaves the room the quickest way the page's transport allows: a
   * WebSocket closes with the tab; a current polling client says goodbye
   * first (a closed polling tab is only noticed when the server's pings go
   * unanswered). A 0.6 polling client has no goodbye, so none leaves here.
   */
  async function leave(page) {
    if (page.final === 'polling') await page.evaluate(() => window.chatSocket.disconnect());
    else assert.equal(page.final, 'websocket', `${page.label} cannot leave promptly`);
    await page.closeAll();
  }

  /** Waits until `page`'s client received `count` messages; resolves with them. */
  async function received(page, count) {
    await page.waitForFunction((n) => window.received.length >= n, count, { timeout: TIMEOUT });
    return page.evaluate(() => window.received);
  }

  function withLogs(error, ...pages) {
    error.message += pages.map((page) => `\n--- ${page.label} ---\n${page.consoleLog()}`).join('')
      + `\n--- server ---\n${server.log()}`;
    return error;
  }

  test('socket.io-client 4 on websocket, polling and upgrade: one room, every message to all, leaving is told', { timeout: 90_000 }, async () => {
    const pages = [];
    try {
      pages.push(await join('ws', 'websocket'));
      pages.push(await join('poll', 'polling'));
      pages.push(await join('up', 'upgrade'));
      const [ws, poll, up] = pages;

      await say(ws, 'websocket here 😀');
      await say(poll, 'polling here, ünïcødé 𝄞');
      await say(up, 'upgraded here 🎉');
      for (const page of pages) {
        await sees(page, 'ws', 'websocket here 😀');
        await sees(page, 'poll', 'polling here, ünïcødé 𝄞');
        await sees(page, 'up', 'upgraded here 🎉');
        assert.equal(await page.locator('#log .chat.mine').count(), 1, `${page.label}: its own message is its`);
      }

      // The websocket tab closes, then the polling one says goodbye.
      await leave(ws);
      await poll.locator('#log .system', { hasText: 'A user has left.' }).waitFor({ timeout: TIMEOUT });
      await leave(poll);
      await up.locator('#log .system', { hasText: 'A user has left.' }).nth(1).waitFor({ timeout: TIMEOUT });
      assert.equal(await up.textContent('#state'), 'Connected');
    } catch (error) {
      throw withLogs(error, ...pages);
    } finally {
      for (const page of pages) await page.closeAll().catch(() => {});
    }
  });

  // Each pair: a 0.6 page and a current page, and which one leaves.
  const pairs = [
    { legacy: 'websocket (0.6)', current: 'upgrade', leaves: 'legacy' },
    { legacy: 'jsonp-polling (0.6)', current: 'websocket', leaves: 'current' },
    { legacy: 'xhr-polling (0.6)', current: 'polling', leaves: 'current' },
  ];
  for (const { legacy, current, leaves } of pairs) {
    test(`a 0.6 page on ${legacy.replace(' (0.6)', '')} and a current page on ${current} chat; the ${leaves} one leaves`, { timeout: 90_000 }, async () => {
      const old = await join('Ada', legacy);
      const now = await join('Grace', current);
      try {
        // Typed: chat lines, which the pages send as {name, text} objects.
        await say(old, 'Hello from 2011 — ünïcødé 😀');
        await sees(old, 'Ada', 'Hello from 2011 — ünïcødé 😀'); // the sender gets it too
        await sees(now, 'Ada', 'Hello from 2011 — ünïcødé 😀');
        await say(now, 'Hello from today 🎉 𝄞');
        await sees(now, 'Grace', 'Hello from today 🎉 𝄞');
        await sees(old, 'Grace', 'Hello from today 🎉 𝄞');

        // Through the clients: text, a JSON value and non-BMP text, each way.
        const fromOld = ['plain text from 0.6', { from: '0.6', list: [1, 'two', null], nested: { ok: true } }, NON_BMP];
        const fromNow = ['plain text from 4', { from: 'current', n: -1.5, empty: {} }, `${NON_BMP} ~m~4~m~ \u001e`];
        // Both have read the last chat line, so nothing else is on its way.
        for (const page of [old, now]) await page.evaluate(() => { window.received = []; });
        await old.evaluate((messages) => messages.forEach((m) => window.chatSocket.send(m)), fromOld);
        await received(now, fromOld.length);
        await now.evaluate((messages) => messages.forEach((m) => window.chatSocket.send(m)), fromNow);
        const expected = [...fromOld, ...fromNow];
        for (const page of [old, now]) {
          assert.deepEqual(await received(page, expected.length), expected, page.label);
        }
        // Text shows as a notice on both pages, whoever sent it.
        await now.locator('#log .system', { hasText: 'plain text from 0.6' }).waitFor({ timeout: TIMEOUT });
        await old.locator('#log .system', { hasText: 'plain text from 4' }).waitFor({ timeout: TIMEOUT });

        const [leaver, stayer] = leaves === 'legacy' ? [old, now] : [now, old];
        await leave(leaver);
        await stayer.locator('#log .system', { hasText: 'A user has left.' }).waitFor({ timeout: TIMEOUT });
        assert.equal(await stayer.textContent('#state'), 'Connected');
      } catch (error) {
        throw withLogs(error, old, now);
      } finally {
        await old.closeAll().catch(() => {});
        await now.closeAll().catch(() => {});
      }
    });
  }
});
