// Two chatroom processes sharing one room through Redis, behind a real
// HAProxy with the configuration the README gives: socket.io-client 4.8
// over polling (kept on one process by HAProxy's cookie), over websocket
// and upgrading from polling, and a socket.io 0.6 client, all in one chat.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const WebSocket = require('ws');

const { client, freePort, startExample, startHaproxy, startRedis, until } = require('../lib.js');

/** The README's HAProxy configuration, on test ports. */
function haproxyConfig(port, backends) {
  const servers = backends
    .map((b, i) => `    server app${i + 1} 127.0.0.1:${b.port} check cookie app${i + 1}`)
    .join('\n');
  return `global
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    # Above the longest poll (Engine.IO ping interval 25 s, 0.6 xhr-polling 20 s).
    timeout client 60s
    timeout server 60s
    # A websocket, once upgraded: above the ping and heartbeat intervals.
    timeout tunnel 1h

frontend www
    bind 127.0.0.1:${port}
    default_backend socketio

backend socketio
    balance roundrobin
    # Polling requests of one session must reach the process that holds it.
    cookie SERVERID insert indirect nocache
${servers}
`;
}

/** `~m~len~m~data`, the length in UTF-16 units as the 0.6 client counts. */
const frame = (data) => `~m~${data.length}~m~${data}`;

function unframe(payload) {
  const out = [];
  while (payload.startsWith('~m~')) {
    const end = payload.indexOf('~m~', 3);
    const length = Number(payload.slice(3, end));
    out.push(payload.slice(end + 3, end + 3 + length));
    payload = payload.slice(end + 3 + length);
  }
  return out;
}

/** A socket.io 0.6 client on its websocket transport. */
async function legacyClient(url) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/websocket`);
  const seen = [];
  ws.on('message', (data) => {
    for (const message of unframe(data.toString())) {
      if (message.startsWith('~h~')) ws.send(frame(message));
      else seen.push(message);
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await until(() => seen.length, 'the session id');
  const id = seen.shift();
  return {
    id,
    seen,
    send: (text) => ws.send(frame(text)),
    close: () => ws.close(),
  };
}

const joined = (proc) => proc.lines().filter((line) => line.includes('joined;')).length;

describe('two chatroom processes behind HAProxy', () => {
  let redis;
  let apps;
  let haproxy;
  let url;
  const clients = {};
  let legacy;

  before(async () => {
    redis = await startRedis();
    apps = [
      await startExample('chatroom', ['--redis', redis.url]),
      await startExample('chatroom', ['--redis', redis.url]),
    ];
    await until(async () => (await redis.numsub('socket.io-request#/#')) === 2, 'both processes subscribed');
    const port = await freePort();
    haproxy = await startHaproxy(haproxyConfig(port, apps), port);
    url = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    for (const socket of Object.values(clients)) socket.disconnect();
    legacy?.close();
    await haproxy?.stop();
    for (const app of apps || []) await app.stop();
    await redis?.stop();
  });

  test('every generation and transport chats in one room across both processes', async () => {
    const sticky = { withCredentials: true };
    clients.polling1 = await client(url, { transports: ['polling'], ...sticky });
    clients.polling2 = await client(url, { transports: ['polling'], ...sticky });
    clients.websocket1 = await client(url, { transports: ['websocket'] });
    clients.websocket2 = await client(url, { transports: ['websocket'] });
    clients.upgrade1 = await client(url, sticky);
    clients.upgrade2 = await client(url, sticky);
    legacy = await legacyClient(url);
    for (const name of ['upgrade1', 'upgrade2']) {
      const engine = clients[name].io.engine;
      await until(() => engine.transport.name === 'websocket', `${name} to upgrade`);
    }
    assert.equal(clients.polling1.io.engine.transport.name, 'polling');
    console.log(`# clients per process: ${joined(apps[0])} and ${joined(apps[1])}`);
    // Both processes took clients.
    assert.ok(joined(apps[0]) > 0 && joined(apps[1]) > 0,
      `joined: ${joined(apps[0])} and ${joined(apps[1])}`);
    const disconnects = [];
    for (const [name, socket] of Object.entries(clients)) {
      socket.on('disconnect', (reason) => disconnects.push(`${name}: ${reason}`));
    }

    const sent = [];
    for (const [name, socket] of Object.entries(clients)) {
      const message = { name, text: `hello from ${name}` };
      socket.send(message);
      sent.push(message);
    }
    legacy.send('hello from 0.6');
    sent.push('hello from 0.6');

    const expected = [...sent].map((m) => JSON.stringify(m)).sort();
    for (const [name, socket] of Object.entries(clients)) {
      const messages = () => socket.seen
        .filter(([event, data]) => event === 'message' && data !== 'Welcome!')
        .map(([, data]) => JSON.stringify(data));
      await until(() => messages().length >= sent.length, `${name} to hear everyone`);
      assert.deepEqual(messages().sort(), expected, name);
      assert.equal(socket.seen.filter(([, data]) => data === 'Welcome!').length, 1, `${name} welcomed once`);
    }
    const heard = () => legacy.seen.filter((m) => m !== 'Welcome!').map((m) => {
      try {
        return JSON.stringify(JSON.parse(m.replace(/^~j~/, '')));
      } catch {
        return JSON.stringify(m);
      }
    });
    await until(() => heard().length >= sent.length, 'the 0.6 client to hear everyone');
    assert.deepEqual(heard().sort(), expected);
    assert.deepEqual(disconnects, [], 'no session was lost (stickiness)');

    // Someone leaves: everyone else, on either process, is told once.
    clients.websocket1.disconnect();
    delete clients.websocket1;
    for (const [name, socket] of Object.entries(clients)) {
      await until(() => socket.seen.some(([, data]) => data === 'A user has left.'), `${name} to be told`);
    }
    await until(() => legacy.seen.includes('A user has left.'), 'the 0.6 client to be told');
    for (const socket of Object.values(clients)) {
      assert.equal(socket.seen.filter(([, data]) => data === 'A user has left.').length, 1);
    }
  });
});
