// The conformance example with `--redis`: its rooms (`join`, `to`) span
// every process on that Redis, a node socket.io server's included.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { client, startExample, startNode, startRedis, until } = require('../lib.js');

describe('conformance --redis beside a node server', () => {
  let redis;
  let node;
  let conformance;
  let fromNode;
  let fromRust;
  let secondRust;

  before(async () => {
    redis = await startRedis();
    node = await startNode(redis.url);
    conformance = await startExample('conformance', ['--redis', redis.url]);
    await until(async () => (await redis.numsub('socket.io-request#/#')) === 2, 'both subscribed');
    const ws = { transports: ['websocket'] };
    fromNode = await client(node.url, { ...ws, auth: { rooms: ['lobby'] } });
    fromRust = await client(conformance.url, ws);
    const other = await startExample('conformance', ['--redis', redis.url]);
    conformance.other = other;
    await until(async () => (await redis.numsub('socket.io-request#/#')) === 3, 'three subscribed');
    secondRust = await client(other.url, ws);
  });

  after(async () => {
    for (const socket of [fromNode, fromRust, secondRust]) socket?.disconnect();
    await node?.close();
    await conformance?.other?.stop();
    await conformance?.stop();
    await redis?.stop();
  });

  test('a room joined on one process hears `to` from every other', async () => {
    assert.equal(await fromRust.emitWithAck('join', 'lobby'), true);
    assert.equal(await secondRust.emitWithAck('join', 'lobby'), true);
    // From a tornadio process: to the node client and the other process.
    fromRust.emit('to', 'lobby', 'said', 'hi', Buffer.from([7]));
    await until(() => fromNode.seen.some(([e]) => e === 'said'), 'the node client');
    await until(() => secondRust.seen.some(([e]) => e === 'said'), 'the other process');
    for (const socket of [fromNode, secondRust]) {
      assert.deepEqual(socket.seen.filter(([e]) => e === 'said'), [['said', 'hi', Buffer.from([7])]]);
    }
    assert.deepEqual(fromRust.seen.filter(([e]) => e === 'said'), [], 'not to the sender');
    // From node: to both tornadio processes.
    node.io.to('lobby').emit('news', 1);
    for (const socket of [fromRust, secondRust]) {
      await until(() => socket.seen.some(([e]) => e === 'news'), 'news');
    }
    // After leaving, the room is silent for that socket.
    assert.equal(await secondRust.emitWithAck('leave', 'lobby'), true);
    node.io.to('lobby').emit('news', 2);
    node.io.emit('end');
    assert.deepEqual((await secondRust.until('end')).filter(([e]) => e === 'news'), [['news', 1]]);
    assert.deepEqual((await fromRust.until('end')).filter(([e]) => e === 'news'), [['news', 1], ['news', 2]]);
  });
});
