// The chatroom example with socket.io-client 0.9.17 at /v09, beside the 0.6
// page at / and socket.io-client 4 at /current: one room for three client
// generations. People type into the pages and read each other; text, JSON
// and non-BMP text sent through the clients arrive intact and in order on
// every page; whoever leaves, the others are told.
//
// Every test gets a fresh server: a closed polling page leaves only when
// its session expires, and its `A user has left.` must not land in another
// test's room.
'use strict';

const assert = require('node:assert/strict');
const { after, afterEach, before, beforeEach, describe, test } = require('node:test');
const { NON_BMP } = require('../clients/util');
const { htmlfileShim, launchBrowser, openPage, screenshotPath, startExample } = require('../lib/harness');

const TIMEOUT = 30_000;

/**
 * How a page joins: the path and query that pick its client and transport,
 * the client (0.6, 0.9 or current) and the transport it must end up on.
 */
const WAYS = {
  '0.6 websocket': { path: '/?transport=websocket', client: '0.6', final: 'websocket' },
  '0.6 xhr-polling': { path: '/?transport=xhr-polling', client: '0.6', final: 'xhr-polling' },
  '0.9 websocket': { path: '/v09?transport=websocket', client: '0.9', final: 'websocket' },
  '0.9 xhr-polling': { path: '/v09?transport=xhr-polling', client: '0.9', final: 'xhr-polling' },
  '0.9 jsonp-polling': { path: '/v09?transport=jsonp-polling', client: '0.9', final: 'jsonp-polling' },
  '0.9 htmlfile': { path: '/v09?transport=htmlfile', client: '0.9', final: 'htmlfile', shim: true },
  'current websocket': { path: '/current?transport=websocket', client: 'current', final: 'websocket' },
  'current polling': { path: '/current?transport=polling', client: 'current', final: 'polling' },
};

describe('chatroom example, socket.io-client 0.9 with 0.6 and 4 in one room', () => {
  let server;
  let browser;
  const pages = [];

  before(async () => {
    browser = await launchBrowser();
  });

  beforeEach(async () => {
    server = await startExample('chatroom');
  });

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.closeAll().catch(() => {});
    await server?.stop();
  });

  after(async () => {
    await browser?.close();
  });

  /**
   * Opens the chat page the way `way` says, as `name`; waits for the welcome
   * and the transport. Every message the page's client receives from then on
   * is also kept in `window.received`.
   */
  async function join(name, way) {
    const { path, client, final, shim } = WAYS[way];
    const page = await openPage(browser, shim ? { initScript: htmlfileShim } : {});
    page.label = `${name} on ${way}`;
    page.way = WAYS[way];
    pages.push(page);
    // The page connects as it loads; with the shim, htmlfile's never-ending
    // iframe sits in the page itself, so its load event never comes.
    await page.goto(server.url + path, { waitUntil: 'domcontentloaded' });
    await page.evaluate(() => {
      window.received = [];
      window.chatSocket.on('message', (message) => window.received.push(message));
    });
    await page.locator('#state', { hasText: /^Connected$/ }).waitFor({ timeout: TIMEOUT });
    await page.locator('#transport', { hasText: new RegExp(`^${final}$`) }).waitFor({ timeout: TIMEOUT });
    await page.locator('#log .system', { hasText: 'Welcome!' }).waitFor({ timeout: TIMEOUT });
    assert.equal(await page.isVisible(`[data-client="${client}"]`), true, `${page.label}: the page says which client it runs`);
    const used = await page.evaluate((client) => {
      const socket = window.chatSocket;
      if (client === '0.9') return `${window.io09.version} ${socket.socket.transport.name}`;
      if (client === 'current') return `current ${socket.io.engine.transport.name}`;
      return `${window.io.version} ${socket.transport.type}`;
    }, client);
    const version = { '0.6': '0.6.3', 0.9: '0.9.17', current: 'current' }[client];
    assert.equal(used, `${version} ${final}`, page.label);
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

  async function seesLeaving(page, count = 1) {
    await page.locator('#log .system', { hasText: 'A user has left.' }).nth(count - 1).waitFor({ timeout: TIMEOUT });
    assert.equal(await page.locator('#log .system', { hasText: 'A user has left.' }).count(), count, page.label);
    assert.equal(await page.textContent('#state'), 'Connected', page.label);
  }

  /**
   * Leaves the room: a WebSocket closes with the tab. A polling page says
   * goodbye first (0.9's and 4's `disconnect()`): a closed polling tab is
   * only noticed when its session times out.
   */
  async function leave(page) {
    if (page.way.final !== 'websocket') {
      assert.notEqual(page.way.client, '0.6', `${page.label} cannot leave promptly`);
      await page.evaluate(() => window.chatSocket.disconnect());
    }
    await page.closeAll();
  }

  /** Sends each of `messages` through the page's client, as it would send it. */
  async function sendAll(page, messages) {
    await page.evaluate(([client, messages]) => {
      const socket = window.chatSocket;
      for (const message of messages) {
        // 0.9 sends an object as JSON only through `json.send`.
        if (client === '0.9' && typeof message !== 'string') socket.json.send(message);
        else socket.send(message);
      }
    }, [page.way.client, messages]);
  }

  /** Waits until `page`'s client received `count` messages; resolves with them. */
  async function received(page, count) {
    await page.waitForFunction((n) => window.received.length >= n, count, { timeout: TIMEOUT });
    return page.evaluate(() => window.received);
  }

  function withLogs(error) {
    error.message += pages.map((page) => `\n--- ${page.label} ---\n${page.consoleLog()}`).join('')
      + `\n--- server ---\n${server.log()}`;
    return error;
  }

  async function run(body) {
    try {
      await body();
    } catch (error) {
      throw withLogs(error);
    }
  }

  test('0.6, 0.9 and 4 on websocket: everyone reads everyone; leaving is told to those who stay', { timeout: 120_000 }, () => run(async () => {
    const old = await join('Ada', '0.6 websocket');
    const mid = await join('Brendan', '0.9 websocket');
    const now = await join('Grace', 'current websocket');
    const everyone = [old, mid, now];

    // Typed: chat lines, which the pages send as {name, text} objects.
    await say(old, 'Hello from 0.6 — ünïcødé 😀');
    await say(mid, 'Hello from 0.9 𝄞 </script>');
    await say(now, 'Hello from 4 🎉');
    for (const page of everyone) {
      await sees(page, 'Ada', 'Hello from 0.6 — ünïcødé 😀');
      await sees(page, 'Brendan', 'Hello from 0.9 𝄞 </script>');
      await sees(page, 'Grace', 'Hello from 4 🎉');
      assert.equal(await page.locator('#log .chat.mine').count(), 1, `${page.label}: its own line is marked its own`);
    }
    await mid.screenshot({ path: screenshotPath('chatroom-v09.png') });

    // Through the clients: text, a JSON value and non-BMP text from each,
    // one sender at a time so that every page sees one order.
    const batches = [
      [old, ['plain text from 0.6', { from: '0.6', list: [1, 'two', null] }, NON_BMP]],
      [mid, ['plain text from 0.9', { from: '0.9', nested: { ok: true }, n: -1.5 }, `${NON_BMP} \ufffd3\ufffd3:::x ~m~4~m~`]],
      [now, ['plain text from 4', { from: 'current', empty: {} }, `${NON_BMP} \u001e 42["x"]`]],
    ];
    for (const page of everyone) await page.evaluate(() => { window.received = []; });
    const expected = [];
    for (const [sender, messages] of batches) {
      await sendAll(sender, messages);
      expected.push(...messages);
      for (const page of everyone) await received(page, expected.length);
    }
    for (const page of everyone) assert.deepEqual(await received(page, expected.length), expected, page.label);
    // Text shows as a notice on every page, whoever sent it.
    for (const page of everyone) {
      for (const text of ['plain text from 0.6', 'plain text from 0.9', 'plain text from 4']) {
        await page.locator('#log .system', { hasText: text }).waitFor({ timeout: TIMEOUT });
      }
    }

    // Grace closes her tab: Ada and Brendan are told. Then Brendan: Ada is.
    await leave(now);
    await seesLeaving(old);
    await seesLeaving(mid);
    await leave(mid);
    await seesLeaving(old, 2);
  }));

  // Each: a 0.9 page, another page, and who leaves (on websocket, or by
  // saying goodbye from polling).
  const pairs = [
    { v09: '0.9 xhr-polling', other: '0.6 websocket', leaves: 'other' },
    { v09: '0.9 jsonp-polling', other: 'current polling', leaves: 'other' },
    { v09: '0.9 htmlfile', other: '0.6 xhr-polling', leaves: 'v09' },
    { v09: '0.9 xhr-polling', other: 'current websocket', leaves: 'v09' },
  ];
  for (const { v09, other, leaves } of pairs) {
    const who = leaves === 'v09' ? 'the 0.9 page' : `the ${other.split(' ')[0]} page`;
    test(`a page on ${v09} and one on ${other} chat; ${who} leaves`, { timeout: 90_000 }, () => run(async () => {
      const mid = await join('Brendan', v09);
      const peer = await join('Ada', other);
      await say(mid, 'Hello from 0.9 😀');
      await sees(peer, 'Brendan', 'Hello from 0.9 😀');
      await sees(mid, 'Brendan', 'Hello from 0.9 😀');
      await say(peer, 'Hello back 𝄞');
      await sees(mid, 'Ada', 'Hello back 𝄞');

      for (const page of [mid, peer]) await page.evaluate(() => { window.received = []; });
      const fromMid = ['text from 0.9', { from: '0.9', list: [1, 'two', null] }, NON_BMP];
      const fromPeer = ['text back', { from: other, n: 2 }, `${NON_BMP} \ufffd9\ufffd`];
      await sendAll(mid, fromMid);
      await received(peer, fromMid.length);
      await sendAll(peer, fromPeer);
      const expected = [...fromMid, ...fromPeer];
      for (const page of [mid, peer]) assert.deepEqual(await received(page, expected.length), expected, page.label);

      const [leaver, stayer] = leaves === 'v09' ? [mid, peer] : [peer, mid];
      await leave(leaver);
      await seesLeaving(stayer);
    }));
  }
});
