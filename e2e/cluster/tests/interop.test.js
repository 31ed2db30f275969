// A node socket.io 4.8 server with @socket.io/redis-adapter 8.3 and a
// tornadio server with tornadio-redis on one real Redis, a client or two on
// each: broadcasts, fetchSockets, rooms, joins, disconnects, server-side
// events and acknowledged broadcasts, both ways. Node's requests must
// complete well before its request timeout: a tornadio server that left
// one unanswered would stall them until it.
'use strict';

const assert = require('node:assert/strict');
const { after, before, describe, test } = require('node:test');

const { client, startNode, startRedis, startTornadio, until } = require('../lib.js');

const REQUESTS_TIMEOUT = 2000;
/** "Well before the timeout": a healthy answer takes milliseconds. */
const PROMPT = 500;

/** Runs `call`, asserting it completes well before the request timeout. */
async function timed(what, call) {
  const started = performance.now();
  const result = await call();
  const ms = performance.now() - started;
  console.log(`# ${what}: ${ms.toFixed(1)} ms`);
  assert.ok(ms < PROMPT, `${what} took ${ms.toFixed(0)} ms (timeout ${REQUESTS_TIMEOUT} ms)`);
  return result;
}

describe('a node server and a tornadio server on one Redis', () => {
  let redis;
  let node;
  let tornadio;
  // n1, t1 in room r1; n2, t2 in no room.
  let n1;
  let n2;
  let t1;
  let t2;

  before(async () => {
    redis = await startRedis();
    tornadio = await startTornadio(redis.url, ['--request-timeout-ms', String(REQUESTS_TIMEOUT)]);
    node = await startNode(redis.url, { requestsTimeout: REQUESTS_TIMEOUT });
    await until(async () => (await redis.numsub('socket.io-request#/#')) === 2, 'both servers subscribed');
    await until(async () => (await redis.numsub('socket.io-request#/chat#')) === 2, '/chat subscribed');
    const ws = { transports: ['websocket'] };
    n1 = await client(node.url, { ...ws, auth: { rooms: ['r1'], name: 'n1' } });
    n2 = await client(node.url, { ...ws, auth: { name: 'n2' } });
    t1 = await client(tornadio.url, { ...ws, auth: { rooms: ['r1'], name: 't1' } });
    t2 = await client(tornadio.url, { ...ws, auth: { name: 't2' } });
    for (const [socket, name] of [[n1, 'n1'], [n2, 'n2'], [t1, 't1'], [t2, 't2']]) {
      socket.on('question', (arg, ack) => ack(`${name}:${arg}`));
    }
  });

  after(async () => {
    for (const socket of [n1, n2, t1, t2]) socket?.disconnect();
    await node?.close();
    await tornadio?.stop();
    await redis?.stop();
  });

  test('both count two servers', async () => {
    assert.equal(await node.io.of('/').adapter.serverCount(), 2);
    assert.equal((await tornadio.op('count')).count, 2);
  });

  test('node broadcasts reach tornadio clients: all, room, except, binary, socket.broadcast', async () => {
    node.io.emit('all', 1);
    node.io.to('r1').emit('room', 2);
    node.io.except('r1').emit('except', 3);
    node.io.to('r1').emit('bin', 'x', Buffer.from([9, 8]));
    const [n1Socket] = await node.io.in(n1.id).fetchSockets();
    n1Socket.broadcast.emit('from-n1', 4);
    node.io.emit('end');
    const bin = ['bin', 'x', Buffer.from([9, 8])];
    assert.deepEqual(await t1.until('end'), [['all', 1], ['room', 2], bin, ['from-n1', 4]]);
    assert.deepEqual(await t2.until('end'), [['all', 1], ['except', 3], ['from-n1', 4]]);
    assert.deepEqual(await n1.until('end'), [['all', 1], ['room', 2], bin]);
    assert.deepEqual(await n2.until('end'), [['all', 1], ['except', 3], ['from-n1', 4]]);
  });

  test('tornadio broadcasts reach node clients: all, room, except, binary', async () => {
    await tornadio.op('emit', { event: 'all', args: '[1]' });
    await tornadio.op('emit', { event: 'room', args: '[2]', rooms: 'r1' });
    await tornadio.op('emit', { event: 'except', args: '[3]', except: 'r1' });
    await tornadio.op('emit', { event: 'bin', args: '["x"]', bin: '0908', rooms: 'r1' });
    await tornadio.op('emit', { event: 'not-t1', args: '[4]', except: t1.id });
    await tornadio.op('emit', { event: 'end' });
    const bin = ['bin', 'x', Buffer.from([9, 8])];
    assert.deepEqual(await n1.until('end'), [['all', 1], ['room', 2], bin, ['not-t1', 4]]);
    assert.deepEqual(await n2.until('end'), [['all', 1], ['except', 3], ['not-t1', 4]]);
    assert.deepEqual(await t1.until('end'), [['all', 1], ['room', 2], bin]);
    assert.deepEqual(await t2.until('end'), [['all', 1], ['except', 3], ['not-t1', 4]]);
  });

  test('node fetchSockets and allRooms see tornadio sockets', async () => {
    const sockets = await timed('node fetchSockets', () => node.io.in('r1').fetchSockets());
    assert.deepEqual(sockets.map((s) => s.id).sort(), [n1.id, t1.id].sort());
    const remote = sockets.find((s) => s.id === t1.id);
    assert.deepEqual(remote.handshake.auth, { rooms: ['r1'], name: 't1' });
    assert.equal(remote.handshake.query.EIO, '4');
    assert.ok(remote.handshake.headers.host, 'headers');
    assert.ok([...remote.rooms].includes('r1'));
    const rooms = await timed('node allRooms', () => node.io.of('/').adapter.allRooms());
    for (const room of ['r1', t1.id, t2.id, n2.id]) assert.ok(rooms.has(room), room);
  });

  test('tornadio fetch_sockets and all_rooms see node sockets', async () => {
    const fetched = await tornadio.op('fetch', { rooms: 'r1' });
    assert.ok(fetched.ms < PROMPT, `${fetched.ms} ms`);
    console.log(`# tornadio fetch_sockets: ${fetched.ms} ms`);
    assert.deepEqual(fetched.sockets.map((s) => s.id).sort(), [n1.id, t1.id].sort());
    const remote = fetched.sockets.find((s) => s.id === n1.id);
    assert.equal(remote.local, false);
    assert.deepEqual(remote.handshake.auth, { rooms: ['r1'], name: 'n1' });
    assert.ok(remote.rooms.includes('r1'));
    const { rooms, ms } = await tornadio.op('rooms');
    assert.ok(ms < PROMPT);
    for (const room of ['r1', n1.id, n2.id, t2.id]) assert.ok(rooms.includes(room), room);
  });

  test('tornadio answers the requests of older adapters too', async () => {
    // Adapters before 7 ask for socket ids (SOCKETS) and join, leave or
    // disconnect one socket by id; the answer says the socket was found.
    const listener = redis.client.duplicate();
    await listener.connect();
    const answers = [];
    await listener.subscribe('socket.io-response#/#', (message) => answers.push(JSON.parse(message)));
    const ask = (request) => redis.client.publish('socket.io-request#/#', JSON.stringify(request));
    await ask({ uid: 'old', requestId: 'q0', type: 0, rooms: ['r1'] });
    await ask({ uid: 'old', requestId: 'q2', type: 2, sid: t2.id, room: 'old-room' });
    await ask({ uid: 'old', requestId: 'q2x', type: 2, sid: 'nobody', room: 'old-room' });
    // Both servers answer SOCKETS; only the one that has the socket, q2.
    await until(() => answers.length >= 3, 'answers');
    await listener.quit();
    const sockets = answers.filter((a) => a.requestId === 'q0').flatMap((a) => a.sockets);
    assert.deepEqual(sockets.sort(), [n1.id, t1.id].sort());
    assert.deepEqual(answers.filter((a) => a.requestId === 'q2'), [{ requestId: 'q2' }]);
    assert.deepEqual(answers.filter((a) => a.requestId === 'q2x'), [], 'nobody has that socket');
    const [t2Socket] = await node.io.in(t2.id).fetchSockets();
    assert.ok(t2Socket.rooms.has('old-room'));
    node.io.in(t2.id).socketsLeave('old-room');
  });

  test('socketsJoin and socketsLeave, both ways, then broadcasts to those rooms', async () => {
    node.io.in(t2.id).socketsJoin('from-node');
    node.io.to('from-node').emit('joined', 'by node');
    await tornadio.op('join', { rooms: n2.id, room: 'from-tornadio' });
    await tornadio.op('emit', { event: 'joined', args: '["by tornadio"]', rooms: 'from-tornadio' });
    assert.deepEqual((await until(() => t2.seen.length && t2.seen.splice(0)))[0], ['joined', 'by node']);
    assert.deepEqual((await until(() => n2.seen.length && n2.seen.splice(0)))[0], ['joined', 'by tornadio']);
    const rooms = await (await node.io.in(t2.id).fetchSockets())[0].rooms;
    assert.ok(rooms.has('from-node'));

    node.io.in('from-node').socketsLeave('from-node');
    await tornadio.op('leave', { rooms: 'from-tornadio', room: 'from-tornadio' });
    node.io.to('from-node').emit('left');
    await tornadio.op('emit', { event: 'left', rooms: 'from-tornadio' });
    node.io.emit('end');
    await tornadio.op('emit', { event: 'end' });
    for (const socket of [t2, n2]) {
      const seen = [...(await socket.until('end')), ...(await socket.until('end'))];
      assert.deepEqual(seen, [], `${socket.id} left its room`);
    }
    for (const socket of [n1, t1]) {
      await socket.until('end');
      await socket.until('end');
    }
  });

  test('serverSideEmit with and without acks, both ways', async () => {
    node.io.on('hello', (arg, ack) => ack({ from: 'node', arg }));
    const quiet = [];
    node.io.on('quiet', (...args) => quiet.push(args));

    const answers = await timed('node serverSideEmitWithAck', () => node.io.serverSideEmitWithAck('hello', 1));
    assert.deepEqual(answers, [{ from: 'tornadio', args: [1] }]);
    node.io.serverSideEmit('quiet', 'n');

    const fromTornadio = await tornadio.op('server-emit', { event: 'hello', arg: '2', ack: 'true' });
    console.log(`# tornadio server_side_emit_with_ack: ${fromTornadio.ms} ms`);
    assert.ok(fromTornadio.ms < PROMPT, `${fromTornadio.ms} ms`);
    assert.deepEqual(fromTornadio.responses, [{ from: 'node', arg: 2 }]);
    await tornadio.op('server-emit', { event: 'quiet', arg: '"t"' });
    await until(() => quiet.length === 1, 'node handler');
    assert.deepEqual(quiet, [['t']]);
    const recorded = await until(async () => {
      const events = await tornadio.op('server-events');
      return events.some((e) => e.event === 'quiet') && events;
    }, 'tornadio handler');
    assert.deepEqual(recorded, [{ event: 'hello', args: [1] }, { event: 'quiet', args: ['n'] }]);
  });

  test('broadcasts with acks count the clients of both servers', async () => {
    const answers = await timed('node io.timeout().emitWithAck', () =>
      node.io.timeout(REQUESTS_TIMEOUT).emitWithAck('question', 'q1'));
    assert.deepEqual(answers.sort(), ['n1:q1', 'n2:q1', 't1:q1', 't2:q1']);
    const inRoom = await timed('node io.to(r1).timeout().emitWithAck', () =>
      node.io.to('r1').timeout(REQUESTS_TIMEOUT).emitWithAck('question', 'q2'));
    assert.deepEqual(inRoom.sort(), ['n1:q2', 't1:q2']);
    // No client on tornadio's side: it still reports its count, 0.
    const none = await timed('node emitWithAck reaching no tornadio client', () =>
      node.io.to(n2.id).timeout(REQUESTS_TIMEOUT).emitWithAck('question', 'q3'));
    assert.deepEqual(none, ['n2:q3']);

    const fromTornadio = await tornadio.op('ack', { event: 'question', args: '["q4"]', timeout: REQUESTS_TIMEOUT });
    console.log(`# tornadio emit_with_ack: ${fromTornadio.ms} ms`);
    assert.ok(fromTornadio.ms < PROMPT, JSON.stringify(fromTornadio));
    assert.deepEqual(fromTornadio.responses.map((r) => r[0]).sort(), ['n1:q4', 'n2:q4', 't1:q4', 't2:q4']);
    for (const socket of [n1, n2, t1, t2]) socket.seen.splice(0);
  });

  test('/chat is a cluster of its own', async () => {
    const nc = await client(`${node.url}/chat`, { transports: ['websocket'] });
    const tc = await client(`${tornadio.url}/chat`, { transports: ['websocket'] });
    node.io.of('/chat').emit('in-chat', 1);
    await tornadio.op('emit', { nsp: '/chat', event: 'in-chat', args: '[2]' });
    await tornadio.op('emit', { nsp: '/chat', event: 'end' });
    for (const socket of [nc, tc]) {
      await until(() => socket.seen.length === 3, `three events at ${socket.id}`);
      const names = socket.seen.splice(0).map(([event, ...args]) => `${event}${args.join()}`);
      assert.deepEqual(names.sort(), ['end', 'in-chat1', 'in-chat2']);
    }
    // Nothing of `/` reached `/chat`, nor the other way.
    assert.deepEqual([n1, n2, t1, t2].map((s) => s.seen.length), [0, 0, 0, 0]);
    const sockets = await timed('node /chat fetchSockets', () => node.io.of('/chat').fetchSockets());
    assert.deepEqual(sockets.map((s) => s.id).sort(), [nc.id, tc.id].sort());
    nc.disconnect();
    tc.disconnect();
  });

  test('disconnectSockets, both ways', async () => {
    const gone = (socket) => new Promise((resolve) => socket.once('disconnect', resolve));
    const t2Gone = gone(t2);
    node.io.in(t2.id).disconnectSockets();
    assert.equal(await t2Gone, 'io server disconnect');
    const n2Gone = gone(n2);
    await tornadio.op('disconnect', { rooms: n2.id });
    assert.equal(await n2Gone, 'io server disconnect');
    const t1Gone = gone(t1);
    node.io.in(t1.id).disconnectSockets(true);
    assert.ok(['io server disconnect', 'transport close'].includes(await t1Gone));
    const n1Gone = gone(n1);
    await tornadio.op('disconnect', { rooms: n1.id, close: 'true' });
    assert.ok(['io server disconnect', 'transport close'].includes(await n1Gone));
    const left = await timed('node fetchSockets after the disconnects', () => node.io.fetchSockets());
    assert.deepEqual(left, []);
  });

  test('a node server that leaves is no longer waited for', async () => {
    await node.close();
    node = undefined;
    await until(async () => (await redis.numsub('socket.io-request#/#')) === 1, 'node to unsubscribe');
    const fetched = await tornadio.op('fetch');
    assert.equal(fetched.error, undefined);
    assert.ok(fetched.ms < PROMPT, `${fetched.ms} ms`);
    const acked = await tornadio.op('server-emit', { event: 'hello', arg: '3', ack: 'true' });
    assert.deepEqual([acked.responses, acked.error], [[], undefined]);
  });
});

describe('a node server that answers on the requester\'s own channel', () => {
  test('publishOnSpecificResponseChannel: both ways still answered at once', async () => {
    const redis = await startRedis();
    const tornadio = await startTornadio(redis.url, ['--request-timeout-ms', String(REQUESTS_TIMEOUT)]);
    const node = await startNode(redis.url, { requestsTimeout: REQUESTS_TIMEOUT, publishOnSpecificResponseChannel: true });
    try {
      await until(async () => (await redis.numsub('socket.io-request#/#')) === 2, 'both subscribed');
      const n = await client(node.url, { transports: ['websocket'] });
      const t = await client(tornadio.url, { transports: ['websocket'] });
      const fetched = await tornadio.op('fetch');
      assert.equal(fetched.error, undefined);
      assert.ok(fetched.ms < PROMPT, `${fetched.ms} ms`);
      assert.deepEqual(fetched.sockets.map((s) => s.id).sort(), [n.id, t.id].sort());
      const sockets = await timed('node fetchSockets (specific channel)', () => node.io.fetchSockets());
      assert.deepEqual(sockets.map((s) => s.id).sort(), [n.id, t.id].sort());
      n.disconnect();
      t.disconnect();
    } finally {
      await node.close();
      await tornadio.stop();
      await redis.stop();
    }
  });
});
