// Redis restarts under traffic, with a node server and a tornadio server
// on it: local delivery goes on meanwhile, cluster requests fail instead of
// hanging, and once Redis is back both servers count each other again and
// later broadcasts cross, both ways.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { client, sleep, startNode, startRedis, startTornadio, until } = require('../lib.js');

describe('a Redis restart under traffic', () => {
  let redis;
  let node;
  let tornadio;
  let n1;
  let t1;

  before(async () => {
    redis = await startRedis();
    tornadio = await startTornadio(redis.url, ['--request-timeout-ms', '1000']);
    node = await startNode(redis.url, { requestsTimeout: 1000 });
    await until(async () => (await redis.numsub('socket.io-request#/#')) === 2, 'both subscribed');
    n1 = await client(node.url, { transports: ['websocket'] });
    t1 = await client(tornadio.url, { transports: ['websocket'] });
  });

  after(async () => {
    for (const socket of [n1, t1]) socket?.disconnect();
    await node?.close();
    await tornadio?.stop();
    await redis?.stop();
  });

  test('the cluster recovers and later broadcasts arrive', async () => {
    let n = 0;
    let sending = true;
    const traffic = (async () => {
      while (sending) {
        n += 1;
        node.io.emit('node-tick', n);
        await tornadio.op('emit', { event: 'tornadio-tick', args: JSON.stringify([n]) }).catch(() => {});
        await sleep(20);
      }
    })();
    await until(() => t1.seen.some(([e]) => e === 'node-tick'), 'node ticks at tornadio');

    await redis.kill();
    const killedAt = n;
    // Local delivery goes on without Redis.
    await until(() => t1.seen.some(([e, m]) => e === 'tornadio-tick' && m > killedAt + 5), 'local ticks');
    const outage = await tornadio.op('fetch');
    assert.ok(outage.error, 'a cluster request fails while Redis is away');
    assert.ok(outage.ms < 1500, `${outage.ms} ms`);

    await redis.restart();
    const restartedAt = n;
    await until(async () => (await redis.numsub('socket.io-request#/#')) === 2, 'both subscribed again');
    await until(() => t1.seen.some(([e, m]) => e === 'node-tick' && m > restartedAt), 'node ticks at tornadio again', 20_000);
    await until(() => n1.seen.some(([e, m]) => e === 'tornadio-tick' && m > restartedAt), 'tornadio ticks at node again', 20_000);
    sending = false;
    await traffic;

    node.io.emit('after', 'node');
    await tornadio.op('emit', { event: 'after', args: '["tornadio"]' });
    for (const socket of [n1, t1]) {
      await until(() => socket.seen.filter(([e]) => e === 'after').length === 2, 'both afters');
    }
    const sockets = await node.io.fetchSockets();
    assert.deepEqual(sockets.map((s) => s.id).sort(), [n1.id, t1.id].sort());
    const fetched = await tornadio.op('fetch');
    assert.deepEqual(fetched.sockets.map((s) => s.id).sort(), [n1.id, t1.id].sort());
  });
});
