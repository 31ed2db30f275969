// The Engine.IO client suite, shared by engine.io-client 6 (protocol v4)
// and engine.io-client 3.5 (protocol v3): the same user-visible behaviour
// is expected of `/engine.io/` (an echo server) for both.
'use strict';

const assert = require('node:assert/strict');
const { afterEach, describe, test } = require('node:test');
const { useServer } = require('./server');
const {
  NON_BMP, bigText, bytes, collect, delay, isBinary, once, pattern, waitSessionGone,
} = require('./util');

const PATH = '/engine.io/';
const TRANSPORTS = ['polling', 'websocket', 'upgrade'];

/**
 * @param {object} client
 * @param {string} client.name        for test titles
 * @param {number} client.eio         protocol revision (4 or 3)
 * @param {(url: string, opts: object) => any} client.create  a new client socket
 * @param {(socket: any) => void} client.silence  makes the socket stop its
 *   side of the heartbeat (v4: no pong; v3: no ping, no own timeout)
 * @param {string} client.heartbeatEvent  what the client emits per heartbeat
 *   it gets from the server (v4: "ping", v3: "pong")
 */
function engineSuite(client) {
  describe(client.name, () => {
    const getServer = useServer();
    const open = new Set();

    afterEach(() => {
      for (const socket of open) socket.close();
      open.clear();
    });

    /**
     * Opens a client over `transport` ("polling", "websocket", or "upgrade":
     * polling first, then upgraded) and resolves once it is on its final
     * transport, with the handshake it got.
     */
    async function connect(transport, { silence = false, ...opts } = {}) {
      const transports = transport === 'upgrade' ? ['polling', 'websocket'] : [transport];
      const socket = client.create(getServer().url, { path: PATH, transports, ...opts });
      open.add(socket);
      if (silence) client.silence(socket);
      const handshake = once(socket, 'handshake', { failOn: ['error', 'close'] });
      const opened = once(socket, 'open', { failOn: ['error', 'close'] });
      socket.handshakeData = (await handshake)[0];
      await opened;
      socket.openedOver = socket.transport.name;
      if (transport === 'upgrade' && socket.transport.name !== 'websocket') {
        await once(socket, 'upgrade', { failOn: ['upgradeError', 'error', 'close'] });
      }
      return socket;
    }

    /** Sends each of `messages` and resolves with what came back, in order. */
    async function echo(socket, messages, ms = 10_000) {
      const back = collect(socket, 'message', messages.length, { ms });
      for (const message of messages) socket.send(message);
      return (await back).map(([data]) => data);
    }

    for (const transport of TRANSPORTS) {
      describe(`over ${transport === 'upgrade' ? 'polling upgraded to websocket' : `${transport} only`}`, () => {
        test('handshake: ping 300/200 ms, max payload, transport as asked', async () => {
          const socket = await connect(transport);
          const hs = socket.handshakeData;
          assert.equal(typeof hs.sid, 'string');
          assert.ok(hs.sid.length > 0, 'empty sid');
          assert.equal(socket.id, hs.sid);
          assert.equal(hs.pingInterval, 300);
          assert.equal(hs.pingTimeout, 200);
          if (client.eio === 4) assert.equal(hs.maxPayload, 1_000_000);
          if (transport === 'websocket') {
            assert.equal(socket.openedOver, 'websocket');
            assert.deepEqual(hs.upgrades, []);
          } else {
            assert.equal(socket.openedOver, 'polling');
            assert.deepEqual(hs.upgrades, ['websocket']);
          }
          const expected = transport === 'upgrade' ? 'websocket' : transport;
          assert.equal(socket.transport.name, expected, 'transport after connecting');
          // still on it (no unasked upgrade) after a round trip
          assert.deepEqual(await echo(socket, ['still here?']), ['still here?']);
          assert.equal(socket.transport.name, expected, 'transport after a round trip');
        });

        test('text messages come back as the same text', async () => {
          const socket = await connect(transport);
          const messages = ['hello', '', 'line\nbreak\ttab', '{"looks":"like json"}', '4', '1:6', ' spaces '];
          const back = await echo(socket, messages);
          // Both clients decode an empty message packet (`4`) as `undefined`.
          assert.ok(back[1] === '' || back[1] === undefined, `empty message came back as ${JSON.stringify(back[1])}`);
          back[1] = '';
          assert.deepEqual(back, messages);
        });

        test('non-BMP and other non-ASCII text comes back intact', async () => {
          const socket = await connect(transport);
          const messages = [NON_BMP, '😀', '𝄞'.repeat(1000), `${'😀'.repeat(300)}:${'é'.repeat(300)}`];
          const back = await echo(socket, messages);
          for (let i = 0; i < messages.length; i++) {
            assert.equal(typeof back[i], 'string', `message ${i} came back as ${typeof back[i]}`);
            assert.equal(back[i], messages[i], `message ${i}`);
          }
        });

        test('binary messages come back as binary with the same bytes', async () => {
          const socket = await connect(transport);
          const sent = [
            new Uint8Array([0, 1, 2, 3, 127, 128, 254, 255]),
            Buffer.from('binary, not text: 😀', 'utf8'),
            new Uint8Array([0x34, 0x68, 0x69]).buffer, // an ArrayBuffer that reads "4hi"
            Buffer.from([0x1e, 0x3a, 0x62, 0x34]), // separator, ':', 'b', '4'
            pattern(65_536),
          ];
          const back = await echo(socket, sent);
          for (let i = 0; i < sent.length; i++) {
            assert.ok(isBinary(back[i]), `message ${i} came back as ${typeof back[i]}: ${String(back[i]).slice(0, 40)}`);
            assert.equal(bytes(back[i]).toString('hex'), bytes(sent[i]).toString('hex'), `message ${i}`);
          }
        });

        test('binary with forceBase64 (b64=1) still comes back as binary', async () => {
          const socket = await connect(transport, { forceBase64: true });
          const sent = [new Uint8Array([0, 1, 2, 3, 255]), pattern(10_000, 3)];
          const back = await echo(socket, sent);
          for (let i = 0; i < sent.length; i++) {
            assert.ok(isBinary(back[i]), `message ${i} came back as ${typeof back[i]}: ${String(back[i]).slice(0, 40)}`);
            assert.equal(bytes(back[i]).toString('hex'), bytes(sent[i]).toString('hex'), `message ${i}`);
          }
        });

        test('a burst of 500 mixed text and binary messages comes back in order', async () => {
          const socket = await connect(transport);
          const sent = [];
          for (let i = 0; i < 500; i++) {
            sent.push(i % 3 === 2 ? Buffer.from([i & 0xff, i >> 8, 0xff]) : `message ${i} ${i % 7 === 0 ? '😀' : ''}`);
          }
          const back = await echo(socket, sent, 20_000);
          for (let i = 0; i < sent.length; i++) {
            if (typeof sent[i] === 'string') {
              assert.equal(back[i], sent[i], `message ${i}`);
            } else {
              assert.ok(isBinary(back[i]), `message ${i} is not binary`);
              assert.equal(bytes(back[i]).toString('hex'), sent[i].toString('hex'), `message ${i}`);
            }
          }
        });

        test('a 500 KB text message comes back intact', async () => {
          const socket = await connect(transport);
          const big = bigText(500_000);
          const [back] = await echo(socket, [big]);
          assert.equal(typeof back, 'string');
          assert.equal(back.length, big.length);
          assert.ok(back === big, '500 KB message came back changed');
        });

        test('closing the client ends the session on the server', async () => {
          const socket = await connect(transport);
          const sid = socket.id;
          assert.deepEqual(await echo(socket, ['before close']), ['before close']);
          const closed = once(socket, 'close');
          socket.close();
          const [reason] = await closed;
          assert.equal(reason, 'forced close');
          const answer = await waitSessionGone(getServer().url, PATH, client.eio, sid);
          assert.equal(answer.body.message, 'Session ID unknown');
        });

        // Not for v3 once upgraded: node's engine.io 6.6 clears its v3 ping
        // timer on upgrade and never arms it again, so the reference server
        // keeps a silent upgraded v3 client forever (the spec says close
        // after pingInterval + pingTimeout without a ping).
        const heartbeatCase = !(client.eio === 3 && transport === 'upgrade');
        if (heartbeatCase) test('the server drops a client that stops its heartbeat', async () => {
          const socket = await connect(transport, { silence: true });
          const sid = socket.id;
          const started = Date.now();
          const [reason] = await once(socket, 'close', { ms: 5_000 });
          const elapsed = Date.now() - started;
          // The client itself no longer times out, so this is the server's doing.
          assert.ok(['transport close', 'transport error'].includes(reason), `close reason ${reason}`);
          assert.ok(elapsed < 4_000, `closed only after ${elapsed} ms`);
          await waitSessionGone(getServer().url, PATH, client.eio, sid);
        });
      });
    }

    test('idle clients on every transport survive 3 s of 300/200 ms heartbeats', async () => {
      const sockets = await Promise.all(TRANSPORTS.map((t) => connect(t)));
      const beats = sockets.map(() => 0);
      const closes = [];
      sockets.forEach((socket, i) => {
        socket.on(client.heartbeatEvent, () => { beats[i] += 1; });
        socket.on('close', (reason) => closes.push(`${TRANSPORTS[i]}: ${reason}`));
      });
      const ids = sockets.map((s) => s.id);
      await delay(3_000); // the point of the test: time passing with nothing to do
      assert.deepEqual(closes, [], 'a client was closed while idle');
      sockets.forEach((socket, i) => {
        assert.equal(socket.readyState, 'open', `${TRANSPORTS[i]} client not open`);
        assert.equal(socket.id, ids[i]);
        // 3 s at 300 ms is ~10 heartbeats; ask for a few, a busy machine may lag
        assert.ok(beats[i] >= 4, `${TRANSPORTS[i]}: only ${beats[i]} heartbeats in 3 s`);
      });
      const back = await Promise.all(sockets.map((s, i) => echo(s, [`after idle ${i}`])));
      assert.deepEqual(back, sockets.map((_, i) => [`after idle ${i}`]));
    });
  });
}

module.exports = { engineSuite };
