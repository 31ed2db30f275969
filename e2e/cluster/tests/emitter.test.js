// @socket.io/redis-emitter 5.1 (a process with no socket.io server, only
// a Redis client) reaches the clients of a tornadio server: to all, rooms,
// except, namespaces, binary; remote join, leave and disconnect;
// server-side events.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { Emitter } = require('@socket.io/redis-emitter');
const { createClient } = require('redis');

const { client, startRedis, startTornadio, until } = require('../lib.js');

describe('the redis emitter and a tornadio server', () => {
  let redis;
  let tornadio;
  let emitter;
  let publisher;
  let t1;
  let t2;
  let chat;

  before(async () => {
    redis = await startRedis();
    tornadio = await startTornadio(redis.url);
    publisher = createClient({ url: redis.url });
    await publisher.connect();
    emitter = new Emitter(publisher);
    const ws = { transports: ['websocket'] };
    t1 = await client(tornadio.url, { ...ws, auth: { rooms: ['r1'] } });
    t2 = await client(tornadio.url, ws);
    chat = await client(`${tornadio.url}/chat`, ws);
  });

  after(async () => {
    for (const socket of [t1, t2, chat]) socket?.disconnect();
    await publisher?.quit();
    await tornadio?.stop();
    await redis?.stop();
  });

  test('to all, to a room, except a room, binary, volatile', async () => {
    emitter.emit('all', 1, { a: [true, null] });
    emitter.to('r1').emit('room', 2);
    emitter.except('r1').emit('except', 3);
    emitter.to('r1').emit('bin', Buffer.from([1, 2, 3]));
    emitter.volatile.emit('volatile', 4);
    emitter.to(t2.id).emit('to-id', 5);
    emitter.emit('end');
    assert.deepEqual(await t1.until('end'), [
      ['all', 1, { a: [true, null] }],
      ['room', 2],
      ['bin', Buffer.from([1, 2, 3])],
      ['volatile', 4],
    ]);
    assert.deepEqual(await t2.until('end'), [
      ['all', 1, { a: [true, null] }],
      ['except', 3],
      ['volatile', 4],
      ['to-id', 5],
    ]);
    assert.deepEqual(chat.seen, [], 'another namespace');
  });

  test('to another namespace', async () => {
    emitter.of('/chat').emit('in-chat', 'x');
    emitter.of('chat').emit('end');
    assert.deepEqual(await chat.until('end'), [['in-chat', 'x']]);
    assert.deepEqual([t1.seen, t2.seen], [[], []]);
  });

  test('socketsJoin, socketsLeave, then broadcasts to the room', async () => {
    emitter.in(t2.id).socketsJoin(['j1', 'j2']);
    emitter.to('j2').emit('joined');
    // t1, not in j1, leaves r1: nobody is left in r1.
    emitter.except('j1').socketsLeave('r1');
    emitter.to('r1').emit('r1-after-leave');
    emitter.emit('end');
    assert.deepEqual(await t2.until('end'), [['joined']]);
    assert.deepEqual(await t1.until('end'), []);
    const { sockets } = await tornadio.op('fetch', { rooms: 'j1' });
    assert.deepEqual(sockets.map((s) => s.id), [t2.id]);
    assert.ok(sockets[0].rooms.includes('j2'));
  });

  test('server-side events reach the handler', async () => {
    emitter.serverSideEmit('from-emitter', { n: 1 });
    const events = await until(async () => {
      const recorded = await tornadio.op('server-events');
      return recorded.length && recorded;
    }, 'the server-side event');
    assert.deepEqual(events, [{ event: 'from-emitter', args: [{ n: 1 }] }]);
  });

  test('disconnectSockets', async () => {
    const gone = new Promise((resolve) => t2.once('disconnect', resolve));
    emitter.in(t2.id).disconnectSockets();
    assert.equal(await gone, 'io server disconnect');
    const chatGone = new Promise((resolve) => chat.once('disconnect', resolve));
    emitter.of('/chat').disconnectSockets(true);
    assert.ok(['io server disconnect', 'transport close'].includes(await chatGone));
    assert.ok(t1.connected, 'the other socket stays');
  });
});
