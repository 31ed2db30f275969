// Events and acknowledgements with the real socket.io-client 0.9.17 in
// Chromium against the `conformance` example: `message` comes back as
// `message-back`, `message-with-ack` through a data ack, rooms with `join`,
// `leave` and `to` between two pages, the server asking the client (`ask`,
// then `answer` with the client's ack), the `/custom` endpoint beside the
// main one on one connection, `bye` ending a socket, and heartbeats. The
// page comes from a second origin, as 0.9 was often deployed: the client
// reaches the server cross-origin (CORS with credentials on XHR).
'use strict';

const assert = require('node:assert/strict');
const { after, afterEach, before, describe, test } = require('node:test');
const { NON_BMP } = require('../clients/util');
const { CLIENT_V09_JS, V09_TRANSPORTS, launchBrowser, openPage, startExample, startOtherOrigin } = require('../lib/harness');

const TIMEOUT = 20_000;

/**
 * Non-BMP text for ack arguments, without U+2028 and U+2029: 0.9.17 reads
 * an ack's arguments with `/^([0-9]+)(\+)?(.*)/`, whose `.` stops at those
 * two, so it drops the arguments of any ack that holds them raw (as
 * 0.9.17's own server, with JSON.stringify, sends them). Events carry them
 * fine, and so do the client's acks to the server (see `ask`).
 */
const ACK_TEXT = NON_BMP.replace(/[\u2028\u2029]/g, '');

/** Every event the pages listen for; each lands in the socket's `seen` list. */
const EVENTS = ['connect', 'disconnect', 'error', 'connect_failed', 'auth', 'message-back', 'hello', 'answer'];

/**
 * The page: the 0.9 client, and `open09(url, transport)`, which connects one
 * new connection over `transport` alone (0.9 merges a `transports` option
 * index by index into its default list, so the list goes on the connection
 * before it connects), and `watch(socket)`, which records its events.
 */
const PAGE = `<!DOCTYPE html>
<meta charset="utf-8">
<title>socket.io 0.9 events</title>
<script src="/socket.io-v09.js"></script>
<script>
  window.sockets = {};
  window.watch = function (name, socket) {
    socket.seen = [];
    ${JSON.stringify(EVENTS)}.forEach(function (event) {
      socket.on(event, function () { socket.seen.push([event].concat([].slice.call(arguments))); });
    });
    window.sockets[name] = socket;
    return socket;
  };
  window.open09 = function (name, url, transport) {
    var socket = io.connect(url, { 'auto connect': false, 'force new connection': true, reconnect: false });
    socket.socket.options.transports = [transport];
    watch(name, socket);
    socket.socket.connect();
    return socket;
  };
</script>
<body>socket.io 0.9 events</body>`;

describe('conformance example, socket.io-client 0.9 events and acks', () => {
  let server;
  let origin;
  let browser;
  const pages = [];

  before(async () => {
    server = await startExample('conformance');
    origin = await startOtherOrigin(PAGE, { scripts: { '/socket.io-v09.js': CLIENT_V09_JS } });
    browser = await launchBrowser();
  });

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.closeAll().catch(() => {});
  });

  after(async () => {
    await browser?.close();
    await origin?.stop();
    await server?.stop();
  });

  async function newPage(label) {
    const page = await openPage(browser);
    page.label = label;
    const frames = { sent: [], received: [] };
    page.on('websocket', (socket) => {
      socket.on('framesent', ({ payload }) => frames.sent.push(String(payload)));
      socket.on('framereceived', ({ payload }) => frames.received.push(String(payload)));
    });
    page.frames09 = frames;
    pages.push(page);
    await page.goto(origin.url + '/');
    assert.equal(await page.evaluate(() => `${io.version} ${io.protocol}`), '0.9.17 1');
    return page;
  }

  /**
   * Opens socket `name` on `page` to `path` (`/` or `/custom`) over
   * `transport`; waits for its `connect` and the server's `auth`.
   */
  async function open(page, name, transport, path = '/') {
    await page.evaluate(([name, url, transport]) => open09(name, url, transport), [name, server.url + path, transport]);
    await seen(page, name, 'connect');
    const [auth] = await seen(page, name, 'auth');
    assert.deepEqual(auth, ['auth', {}], 'the server greets with the auth it got: none');
    assert.equal(await page.evaluate((name) => sockets[name].socket.transport.name, name), transport);
  }

  /** Opens endpoint `path` on the connection of socket `of` as socket `name`. */
  async function openEndpoint(page, name, of, path) {
    await page.evaluate(([name, of, path]) => watch(name, sockets[of].socket.of(path)), [name, of, path]);
    await seen(page, name, 'connect');
    assert.deepEqual((await seen(page, name, 'auth'))[0], ['auth', {}]);
  }

  /** Waits until socket `name` saw `count` `event`s; resolves with them (each [event, ...args]). */
  async function seen(page, name, event, count = 1) {
    try {
      await page.waitForFunction(([name, event, count]) => window.sockets[name]
        && window.sockets[name].seen.filter((e) => e[0] === event).length >= count, [name, event, count], { timeout: TIMEOUT });
    } catch (error) {
      const all = await page.evaluate((name) => window.sockets[name] && window.sockets[name].seen, name);
      error.message += `\nsocket ${name} saw ${JSON.stringify(all)}`;
      throw error;
    }
    return page.evaluate(([name, event]) => window.sockets[name].seen.filter((e) => e[0] === event), [name, event]);
  }

  /** Emits `event(...args)` with an ack callback; resolves with the ack's arguments. */
  function emitWithAck(page, name, event, ...args) {
    return page.evaluate(([name, event, args, timeout]) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack for ${event} within ${timeout} ms`)), timeout);
      sockets[name].emit(event, ...args, (...answer) => { clearTimeout(timer); resolve(answer); });
    }), [name, event, args, TIMEOUT]);
  }

  /**
   * A round trip on socket `name`: `message(token)` and its `message-back`.
   * Whatever the server sent this socket before it handled the message has
   * arrived once this resolves (one connection delivers in order).
   */
  async function roundTrip(page, name, token) {
    const before = (await page.evaluate((name) => sockets[name].seen.filter((e) => e[0] === 'message-back').length, name));
    await page.evaluate(([name, token]) => sockets[name].emit('message', token), [name, token]);
    const backs = await seen(page, name, 'message-back', before + 1);
    assert.deepEqual(backs[before], ['message-back', token]);
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

  for (const transport of V09_TRANSPORTS) {
    test(`${transport}: message, send and json.send come back; message-with-ack answers through a data ack`, { timeout: 60_000 }, () => run(async () => {
      const page = await newPage(`events on ${transport}`);
      await open(page, 'main', transport);

      await page.evaluate((text) => sockets.main.emit('message', 1, 'two', { three: [3, null, true] }, text), NON_BMP);
      assert.deepEqual((await seen(page, 'main', 'message-back'))[0], ['message-back', 1, 'two', { three: [3, null, true] }, NON_BMP]);

      // A message (3), then JSON (4): both reach the server's on_message.
      await page.evaluate(() => { sockets.main.send('plain text 😀'); sockets.main.json.send({ a: [1, { b: 'c' }] }); });
      const backs = await seen(page, 'main', 'message-back', 3);
      assert.deepEqual(backs.slice(1), [['message-back', 'plain text 😀'], ['message-back', { a: [1, { b: 'c' }] }]]);

      const args = [1, 'two', { three: [3, null, true] }, ACK_TEXT];
      assert.deepEqual(await emitWithAck(page, 'main', 'message-with-ack', ...args), args);
      assert.deepEqual(await emitWithAck(page, 'main', 'message-with-ack'), [], 'an ack of no arguments');
      // Several acks in flight at once, each answered to its own id.
      const many = await page.evaluate(() => Promise.all([1, 2, 3, 4, 5].map((n) => new Promise((resolve) => {
        sockets.main.emit('message-with-ack', n, String(n), (...answer) => resolve(answer));
      }))));
      assert.deepEqual(many, [1, 2, 3, 4, 5].map((n) => [n, String(n)]));

      if (transport === 'websocket') {
        // 0.9 asks for a data ack (`id+`) and gets the arguments back.
        const { sent, received } = page.frames09;
        const asked = sent.find((frame) => /^5:\d+\+::\{"name":"message-with-ack"/.test(frame));
        assert.ok(asked, `no data-ack event on the wire: ${JSON.stringify(sent)}`);
        const id = asked.split(':')[1].replace('+', '');
        assert.ok(received.includes(`6:::${id}+${JSON.stringify(args)}`), `no 6:::${id}+[...] in ${JSON.stringify(received)}`);
      }
      assert.equal(await page.evaluate(() => sockets.main.socket.connected), true);
    }));
  }

  for (const transport of V09_TRANSPORTS) {
    test(`${transport}: ask — the server asks the client, the client's ack comes back as answer`, { timeout: 60_000 }, () => run(async () => {
      const page = await newPage(`ask on ${transport}`);
      await open(page, 'main', transport);
      await page.evaluate(() => {
        sockets.main.on('question', (n, text, ack) => {
          sockets.main.seen.push(['question', n, text, typeof ack]);
          ack('reply', n + 1, `${text}!`);
        });
      });
      await page.evaluate((text) => sockets.main.emit('ask', 'question', 41, text), NON_BMP);
      assert.deepEqual((await seen(page, 'main', 'question'))[0], ['question', 41, NON_BMP, 'function'],
        'the server asked with a data ack');
      assert.deepEqual((await seen(page, 'main', 'answer'))[0], ['answer', 'reply', 42, `${NON_BMP}!`]);
    }));
  }

  for (const transport of V09_TRANSPORTS) {
    test(`${transport}: join, to and leave between two pages`, { timeout: 60_000 }, () => run(async () => {
      const ann = await newPage(`ann on ${transport}`);
      const bob = await newPage(`bob on ${transport}`);
      await open(ann, 'ann', transport);
      await open(ann, 'cat', transport); // a second connection on Ann's page
      await open(bob, 'bob', transport);
      for (const [page, name] of [[ann, 'ann'], [ann, 'cat'], [bob, 'bob']]) {
        assert.deepEqual(await emitWithAck(page, name, 'join', 'room-9'), [true], `${name} joins`);
      }

      await ann.evaluate(() => sockets.ann.emit('to', 'room-9', 'hello', 1, { two: [2] }, '😀'));
      for (const [page, name] of [[bob, 'bob'], [ann, 'cat']]) {
        assert.deepEqual((await seen(page, name, 'hello'))[0], ['hello', 1, { two: [2] }, '😀'], `${name} hears Ann`);
      }
      await roundTrip(ann, 'ann', 'after hello');
      assert.equal(await ann.evaluate(() => sockets.ann.seen.filter((e) => e[0] === 'hello').length), 0,
        'to(room) skips the sender');

      assert.deepEqual(await emitWithAck(bob, 'bob', 'leave', 'room-9'), [true], 'bob leaves');
      await ann.evaluate(() => sockets.ann.emit('to', 'room-9', 'hello', 'after bob left'));
      assert.deepEqual((await seen(ann, 'cat', 'hello', 2))[1], ['hello', 'after bob left'], 'cat is still in the room');
      await roundTrip(ann, 'ann', 'the server has handled to');
      await roundTrip(bob, 'bob', 'anything for bob has arrived');
      assert.deepEqual(await bob.evaluate(() => sockets.bob.seen.filter((e) => e[0] === 'hello')),
        [['hello', 1, { two: [2] }, '😀']], 'bob heard nothing after leaving');
    }));
  }

  for (const transport of V09_TRANSPORTS) {
    test(`${transport}: /custom beside / on one connection; bye ends an endpoint, then the connection`, { timeout: 60_000 }, () => run(async () => {
      const page = await newPage(`endpoints on ${transport}`);
      await open(page, 'main', transport);
      await openEndpoint(page, 'custom', 'main', '/custom');
      assert.equal(await page.evaluate(() => sockets.custom.socket === sockets.main.socket), true, 'one connection');

      assert.deepEqual(await emitWithAck(page, 'custom', 'message-with-ack', 'on custom', ACK_TEXT), ['on custom', ACK_TEXT]);
      await page.evaluate(() => sockets.custom.emit('message', 'custom only'));
      assert.deepEqual((await seen(page, 'custom', 'message-back'))[0], ['message-back', 'custom only']);
      await roundTrip(page, 'main', 'main only');
      assert.equal((await seen(page, 'custom', 'message-back')).length, 1, 'each endpoint gets its own events');

      // bye on /custom: that endpoint's disconnect; / goes on.
      await page.evaluate(() => sockets.custom.emit('bye'));
      await seen(page, 'custom', 'disconnect');
      await roundTrip(page, 'main', 'still here');
      assert.equal(await page.evaluate(() => sockets.main.seen.some((e) => e[0] === 'disconnect')), false);

      // bye on /: the server ends the connection; 0.9 calls that booted.
      await page.evaluate(() => sockets.main.emit('bye'));
      assert.deepEqual((await seen(page, 'main', 'disconnect'))[0], ['disconnect', 'booted']);
      assert.equal(await page.evaluate(() => sockets.main.socket.connected), false);
      assert.equal(await page.evaluate(() => sockets.main.socket.reconnecting), false, 'booted: no reconnect');
      if (transport === 'websocket') {
        assert.ok(page.frames09.received.includes('0::/custom'), `0::/custom in ${JSON.stringify(page.frames09.received)}`);
        assert.equal(page.frames09.received[page.frames09.received.length - 1], '0::');
      }
    }));
  }
});

describe('conformance example, socket.io-client 0.9 heartbeats', () => {
  let server;
  let origin;
  let browser;

  before(async () => {
    // A heartbeat every 250 ms, a 2 s timeout: the client drops a transport
    // that stays silent for 2 s, so a session that lives longer than that
    // proves the heartbeats flow both ways.
    server = await startExample('conformance', {
      args: ['--proto1-heartbeat-interval-ms', '250', '--proto1-heartbeat-timeout-ms', '2000'],
    });
    origin = await startOtherOrigin(PAGE, { scripts: { '/socket.io-v09.js': CLIENT_V09_JS } });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await origin?.stop();
    await server?.stop();
  });

  test('websocket: the client answers every heartbeat and the session outlives the heartbeat timeout', { timeout: 60_000 }, async () => {
    const page = await openPage(browser);
    try {
      let answered = 0;
      let heartbeats = 0;
      let closed = false;
      const enough = new Promise((resolve, reject) => {
        page.on('websocket', (socket) => {
          socket.on('framereceived', ({ payload }) => { if (payload === '2::') heartbeats += 1; });
          socket.on('framesent', ({ payload }) => {
            if (payload === '2::') answered += 1;
            if (answered >= 12) resolve(); // 12 × 250 ms: past the 2 s timeout
          });
          socket.on('close', () => { closed = true; reject(new Error(`the WebSocket closed after ${answered} heartbeats`)); });
        });
      });
      await page.goto(origin.url + '/');
      const started = Date.now();
      await page.evaluate((url) => open09('main', url, 'websocket'), server.url + '/');
      await page.waitForFunction(() => sockets.main.socket.connected, null, { timeout: TIMEOUT });
      assert.equal(await page.evaluate(() => sockets.main.socket.heartbeatTimeout), 2000, 'the handshake announces 2 s');
      let timer;
      await Promise.race([
        enough,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`only ${answered} heartbeats answered`)), TIMEOUT);
        }),
      ]).finally(() => clearTimeout(timer));
      assert.ok(Date.now() - started > 2000, 'the session outlived the heartbeat timeout');
      assert.ok(heartbeats >= answered, `${heartbeats} heartbeats, ${answered} answers`);
      assert.equal(closed, false);
      assert.equal(await page.evaluate(() => sockets.main.socket.connected), true);
      assert.equal(await page.evaluate(() => sockets.main.seen.filter((e) => e[0] === 'disconnect').length), 0);
      // And the session still carries events.
      await page.evaluate(() => sockets.main.emit('message', 'after heartbeats'));
      await page.waitForFunction(() => sockets.main.seen.some((e) => e[0] === 'message-back' && e[1] === 'after heartbeats'),
        null, { timeout: TIMEOUT });
    } catch (error) {
      error.message += `\n--- browser ---\n${page.consoleLog()}\n--- server ---\n${server.log()}`;
      throw error;
    } finally {
      await page.closeAll();
    }
  });
});
