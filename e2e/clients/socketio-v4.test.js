// socket.io-client 2.5 (Socket.IO v4 over Engine.IO v3) against /socket.io/:
// websocket only, polling only, polling upgraded to websocket. 2.5 has no
// `auth`: its `query` goes on the Engine.IO URL and, for namespaces other
// than `/`, in the CONNECT packet (`40/custom?token=…,`), which node's
// server 4.8 hands to the namespace as `handshake.auth`.
'use strict';

const assert = require('node:assert/strict');
const io2 = require('socket.io-client-v2');
const { socketSuite } = require('./socketio-cases');
const { once } = require('./util');

socketSuite({
  name: 'socket.io-client 2.5 (Socket.IO v4, EIO=3)',
  protocol: 4,
  transports: ['websocket', 'polling', 'upgrade'],
  socket: (url, nsp, opts) => io2(url + nsp, opts),
  manager: (url, opts) => new io2.Manager(url, opts),
  managerSocket: (manager, nsp, opts) => manager.socket(nsp, opts),
  authOptions: (auth) => (auth ? { query: auth } : {}),
  // `/` is joined without a CONNECT packet, so it has no auth
  expectedAuth: (auth, nsp) => (nsp === '/' ? {} : auth || {}),
  refusal: (socket) => once(socket, 'error', { ms: 5_000 }).then(([data]) => data),
  checkRefusal(data) {
    assert.deepStrictEqual(data, { message: 'Invalid namespace' });
  },
});
