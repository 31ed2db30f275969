// The Socket.IO client suite, shared by socket.io-client 4.8 (Socket.IO v5
// over Engine.IO v4) and socket.io-client 2.5 (Socket.IO v4 over Engine.IO
// v3). The server under test (see server.js) serves `/socket.io/` with
// namespaces `/` and `/custom`: `auth` on connection, `message` →
// `message-back`, `message-with-ack`, `join`, `leave`, `to`, `ask` →
// `answer`, `bye` (server-side disconnect of that namespace).
'use strict';

const assert = require('node:assert/strict');
const { afterEach, describe, test } = require('node:test');
const { useServer } = require('./server');
const {
  NON_BMP, assertSameArgs, bigText, collect, isBinary, once, pattern,
} = require('./util');

const PATH = '/socket.io/';
const TEST_TIMEOUT = 30_000;

/**
 * Records, per socket, every listed event as [event, ...args], in arrival
 * order, so that a test can check what did *not* arrive before a fence.
 */
function record(socket, events) {
  const log = [];
  for (const event of events) socket.on(event, (...args) => log.push([event, ...args]));
  return log;
}

/** Waits until `log` holds an entry for `event`, and returns the log up to it. */
async function until(socket, log, event, ms = 5_000) {
  if (!log.some(([e]) => e === event)) await once(socket, event, { ms });
  const at = log.findIndex(([e]) => e === event);
  return log.slice(0, at + 1);
}

/**
 * @param {object} client adapter:
 *   name, protocol (5 or 4), transports: list of 'polling'|'websocket'|'upgrade',
 *   socket(url, nsp, opts) → a new socket on its own connection,
 *   manager(url, opts) → a Manager; managerSocket(manager, nsp, opts) → socket on it,
 *   authOptions(auth) → the client options that carry `auth`,
 *   expectedAuth(auth, nsp) → what the server's `auth` event should hold,
 *   refusal(socket) → promise of what the client reports for a refused namespace,
 *   checkRefusal(value) → asserts that report says "Invalid namespace".
 */
function socketSuite(client) {
  describe(client.name, () => {
    const getServer = useServer();
    const managers = new Set();

    afterEach(() => {
      for (const manager of managers) manager.disconnect();
      managers.clear();
    });

    function transportsOf(transport) {
      return transport === 'upgrade' ? ['polling', 'websocket'] : [transport];
    }

    function baseOptions(transport) {
      return { path: PATH, forceNew: true, reconnection: false, transports: transportsOf(transport) };
    }

    /** Waits for `connect` (and, for "upgrade", for the upgrade to websocket). */
    async function connected(socket, transport) {
      if (!socket.connected) {
        await once(socket, 'connect', { failOn: ['connect_error', 'error', 'disconnect'] });
      }
      const engine = socket.io.engine;
      if (transport === 'upgrade') {
        if (engine.transport.name !== 'websocket') {
          await once(engine, 'upgrade', { failOn: ['upgradeError', 'close'] });
        }
        assert.equal(engine.transport.name, 'websocket', 'not upgraded');
      } else {
        assert.equal(engine.transport.name, transport);
      }
      return socket;
    }

    /**
     * A socket on its own connection to `nsp`, connected, with `authEvent`:
     * the promise of the server's `auth` event (listened to before connecting).
     */
    async function connect(transport, nsp = '/', auth) {
      const socket = client.socket(getServer().url, nsp, { ...baseOptions(transport), ...client.authOptions(auth) });
      managers.add(socket.io);
      socket.authEvent = once(socket, 'auth', { ms: 5_000 });
      socket.authEvent.catch(() => {}); // awaited by the tests that care
      socket.openedOver = new Promise((resolve) => {
        const engineOpen = () => resolve(socket.io.engine.transport.name);
        if (socket.io.engine && socket.io.engine.readyState === 'open') engineOpen();
        else socket.io.once('open', engineOpen);
      });
      return connected(socket, transport);
    }

    /** Emits `event` with `args` and resolves with the arguments of the next `reply`. */
    function roundTrip(socket, event, args, reply = 'message-back', ms = 10_000) {
      const back = once(socket, reply, { ms, failOn: ['disconnect'] });
      socket.emit(event, ...args);
      return back;
    }

    /** Emits with an ack callback; resolves with the ack's arguments. */
    function withAck(socket, event, args, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ack for "${event}" within ${ms} ms`)), ms);
        socket.emit(event, ...args, (...ackArgs) => {
          clearTimeout(timer);
          resolve(ackArgs);
        });
      });
    }

    const ARGS = [
      'text',
      42,
      -1.5,
      true,
      null,
      ['list', 1, { deep: [false] }],
      { json: 'object', n: 7, nested: { ok: true, list: [1, 2, 3], empty: {} } },
      Buffer.from([0, 1, 2, 3, 254, 255]),
      { binaryInside: Buffer.from('in an object'), list: [Buffer.from([9]), 'x', Buffer.from([])] },
    ];

    if (client.protocol === 5) {
      test('a connection that joins no namespace is closed after the connect timeout (1 s)', { timeout: TEST_TIMEOUT }, async () => {
        // A Manager opens the Engine.IO session at once; with no socket,
        // no CONNECT packet is ever sent.
        const manager = client.manager(getServer().url, baseOptions('websocket'));
        managers.add(manager);
        await once(manager, 'open', { failOn: ['error'] });
        const opened = Date.now();
        const [reason] = await once(manager.engine, 'close', { ms: 5_000 });
        const elapsed = Date.now() - opened;
        assert.equal(reason, 'transport close');
        assert.ok(elapsed >= 500, `closed after ${elapsed} ms, before the 1 s connect timeout`);
      });
    }

    for (const transport of client.transports) {
      const label = transport === 'upgrade' ? 'polling upgraded to websocket' : `${transport} only`;
      describe(`over ${label}`, () => {
        const it = (name, fn) => test(name, { timeout: TEST_TIMEOUT }, fn);

        it(`connects${client.protocol === 5 ? ' with auth' : ' with a query'}; the server sees it`, async () => {
          const auth = { token: 'abc-123', user: 'ünï 😀' };
          const socket = await connect(transport, '/', auth);
          const [seen] = await socket.authEvent;
          assert.deepStrictEqual(seen, client.expectedAuth(auth, '/'));
          assert.equal(typeof socket.id, 'string');
          assert.ok(socket.id.length > 0);
          assert.equal(await socket.openedOver, transport === 'websocket' ? 'websocket' : 'polling');
          // and it works
          assertSameArgs(await roundTrip(socket, 'message', ['hi']), ['hi']);
        });

        it('namespace /custom: alone, and beside / on one connection', async () => {
          const auth = { token: 'custom-token' };
          // alone on its own connection
          const alone = await connect(transport, '/custom', auth);
          const [seenAlone] = await alone.authEvent;
          assert.deepStrictEqual(seenAlone, client.expectedAuth(auth, '/custom'));
          assertSameArgs(await roundTrip(alone, 'message', ['alone', 1]), ['alone', 1]);

          // multiplexed: / and /custom over one Engine.IO session
          const manager = client.manager(getServer().url, baseOptions(transport));
          managers.add(manager);
          const root = client.managerSocket(manager, '/', client.authOptions({ token: 'root' }));
          const custom = client.managerSocket(manager, '/custom', client.authOptions({ token: 'custom' }));
          const rootAuth = once(root, 'auth');
          const customAuth = once(custom, 'auth');
          await connected(root, transport);
          await connected(custom, transport);
          assert.deepStrictEqual((await rootAuth)[0], client.expectedAuth({ token: 'root' }, '/'));
          assert.deepStrictEqual((await customAuth)[0], client.expectedAuth({ token: 'custom' }, '/custom'));
          assert.equal(root.io, custom.io, 'not one manager');
          assert.notEqual(root.id, custom.id, 'both namespaces have the same socket id');

          // each namespace answers on its own
          const rootLog = record(root, ['message-back']);
          const customLog = record(custom, ['message-back']);
          custom.emit('message', 'to custom');
          root.emit('message', 'to root');
          const upToCustom = await until(custom, customLog, 'message-back');
          const upToRoot = await until(root, rootLog, 'message-back');
          assert.deepStrictEqual(upToCustom, [['message-back', 'to custom']]);
          assert.deepStrictEqual(upToRoot, [['message-back', 'to root']]);
        });

        it('an unknown namespace is refused; / on the same connection keeps working', async () => {
          const alone = client.socket(getServer().url, '/nope', baseOptions(transport));
          managers.add(alone.io);
          client.checkRefusal(await client.refusal(alone));
          assert.equal(alone.connected, false);

          const manager = client.manager(getServer().url, baseOptions(transport));
          managers.add(manager);
          const root = client.managerSocket(manager, '/', {});
          const nope = client.managerSocket(manager, '/nope', {});
          const refused = client.refusal(nope);
          await connected(root, transport);
          client.checkRefusal(await refused);
          assert.equal(nope.connected, false);
          assertSameArgs(await roundTrip(root, 'message', ['still fine']), ['still fine']);
        });

        it('events with text, JSON and binary arguments come back as sent', async () => {
          const socket = await connect(transport);
          const back = await roundTrip(socket, 'message', ARGS);
          assertSameArgs(back, ARGS);
          assert.ok(isBinary(back[7]), 'a Buffer argument came back as something else');
          assert.ok(isBinary(back[8].binaryInside), 'a nested Buffer came back as something else');
          // one argument of each kind alone, and none at all
          for (const one of [['only text'], [{ only: 'json' }], [Buffer.from([7, 7, 7])], []]) {
            assertSameArgs(await roundTrip(socket, 'message', one), one);
          }
        });

        it('acks both ways: the server acks, and the client answers the server\'s ask', async () => {
          const socket = await connect(transport);
          // client → server, acked with the same arguments
          assertSameArgs(await withAck(socket, 'message-with-ack', ARGS), ARGS);
          assertSameArgs(await withAck(socket, 'message-with-ack', ['one']), ['one']);
          // several acks in flight at once come back to the right callbacks
          const many = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => withAck(socket, 'message-with-ack', [i, `n${i}`])));
          assert.deepStrictEqual(many, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => [i, `n${i}`]));

          // server → client: the server emits `question` with an ack, the
          // client acks, the server emits `answer` with what it got
          const asked = [];
          socket.on('question', (...args) => {
            const ack = args.pop();
            assert.equal(typeof ack, 'function', 'the server asked for no ack');
            asked.push(args);
            ack('reply', args[0], { got: args.length }, Buffer.from([1, 2, 3]));
          });
          const answer = await roundTrip(socket, 'ask', ['question', 'q1', { x: 1 }, Buffer.from([4, 5])], 'answer');
          assert.equal(asked.length, 1);
          assertSameArgs(asked[0], ['q1', { x: 1 }, Buffer.from([4, 5])]);
          assertSameArgs(answer, ['reply', 'q1', { got: 3 }, Buffer.from([1, 2, 3])]);
        });

        it('rooms: `to` reaches the room but not the sender, others, or those who left', async () => {
          const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => connect(transport)));
          const join = (s, room) => withAck(s, 'join', [room]);
          assert.deepStrictEqual(await join(a, 'r1'), [true]);
          assert.deepStrictEqual(await join(b, 'r1'), [true]);
          assert.deepStrictEqual(await join(d, 'r1'), [true]);
          assert.deepStrictEqual(await join(b, 'b-only'), [true]);
          assert.deepStrictEqual(await join(c, 'c-only'), [true]);
          assert.deepStrictEqual(await join(d, 'd-only'), [true]);
          const events = ['news', 'news2', 'fence', 'fence2', 'message-back'];
          const [logA, logB, logC, logD] = [a, b, c, d].map((s) => record(s, events));

          // A (in r1) sends to r1; then fences to B and C and itself. The
          // server handles A's events in order, so anything it wrongly sent
          // to them would arrive before their fence.
          const news = ['hello room', { n: 1 }, Buffer.from([1, 2, 3])];
          a.emit('to', 'r1', 'news', ...news);
          a.emit('to', 'b-only', 'fence');
          a.emit('to', 'c-only', 'fence');
          a.emit('to', 'd-only', 'fence');
          a.emit('message', 'a-fence');
          const seenB = await until(b, logB, 'fence');
          const seenC = await until(c, logC, 'fence');
          const seenD = await until(d, logD, 'fence');
          const seenA = await until(a, logA, 'message-back');
          assert.equal(seenB.length, 2, `B saw ${JSON.stringify(seenB)}`);
          assertSameArgs(seenB[0], ['news', ...news]);
          assertSameArgs(seenD[0], ['news', ...news]);
          assert.deepStrictEqual(seenC, [['fence']], 'C (not in r1) got the room message');
          assert.deepStrictEqual(seenA, [['message-back', 'a-fence']], 'the sender got its own `to`');

          // B leaves r1: A's next `to` reaches D only.
          assert.deepStrictEqual(await withAck(b, 'leave', ['r1']), [true]);
          a.emit('to', 'r1', 'news2', 'after leave');
          a.emit('to', 'b-only', 'fence2');
          a.emit('to', 'd-only', 'fence2');
          const afterB = await until(b, logB, 'fence2');
          const afterD = await until(d, logD, 'fence2');
          assert.deepStrictEqual(afterB.slice(2), [['fence2']], 'B got a room message after leaving');
          assert.deepStrictEqual(afterD.slice(2), [['news2', 'after leave'], ['fence2']]);
        });

        it('`bye`: the server disconnects the socket (io server disconnect)', async () => {
          const manager = client.manager(getServer().url, baseOptions(transport));
          managers.add(manager);
          const root = client.managerSocket(manager, '/', {});
          const custom = client.managerSocket(manager, '/custom', {});
          await connected(root, transport);
          await connected(custom, transport);

          // /custom is sent away; / on the same connection stays
          const customGone = once(custom, 'disconnect', { ms: 5_000 });
          custom.emit('bye');
          assert.deepStrictEqual((await customGone).slice(0, 1), ['io server disconnect']);
          assert.equal(custom.connected, false);
          assertSameArgs(await roundTrip(root, 'message', ['root lives']), ['root lives']);

          const rootGone = once(root, 'disconnect', { ms: 5_000 });
          root.emit('bye');
          assert.deepStrictEqual((await rootGone).slice(0, 1), ['io server disconnect']);
          assert.equal(root.connected, false);
        });

        it('a burst of 1000 events arrives in order', async () => {
          const socket = await connect(transport);
          const count = 1000;
          const back = collect(socket, 'message-back', count, { ms: 20_000 });
          for (let i = 0; i < count; i++) {
            if (i % 100 === 99) socket.emit('message', i, Buffer.from([i & 0xff, i >> 8]));
            else socket.emit('message', i, `event ${i}`);
          }
          const got = await back;
          for (let i = 0; i < count; i++) {
            const expected = i % 100 === 99 ? [i, Buffer.from([i & 0xff, i >> 8])] : [i, `event ${i}`];
            assertSameArgs(got[i], expected, `event ${i} out of order or changed`);
          }
        });

        it('a 500 KB message comes back intact, as text and as binary', async () => {
          const socket = await connect(transport);
          const text = bigText(500_000);
          const [backText] = await roundTrip(socket, 'message', [text]);
          assert.equal(typeof backText, 'string');
          assert.equal(backText.length, text.length);
          assert.ok(backText === text, '500 KB text came back changed');

          const binary = pattern(500_000);
          const [backBinary] = await roundTrip(socket, 'message', [binary]);
          assert.ok(isBinary(backBinary), '500 KB binary came back as something else');
          assert.ok(Buffer.from(backBinary).equals(binary), '500 KB binary came back changed');
        });

        it('non-BMP text survives: arguments, object keys, event names', async () => {
          const socket = await connect(transport);
          const args = [NON_BMP, { '键😀': NON_BMP, list: ['𝄞', '👍🏽'] }, '😀'.repeat(5000)];
          assertSameArgs(await roundTrip(socket, 'message', args), args);
          assertSameArgs(await withAck(socket, 'message-with-ack', args), args);
          // the server emits an event named by the client
          const event = 'ev-😀-𝄞';
          const got = once(socket, event);
          socket.emit('ask', event, NON_BMP);
          const [first] = await got;
          assert.equal(first, NON_BMP);
        });
      });
    }
  });
}

module.exports = { socketSuite };
