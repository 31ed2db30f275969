// socket.io-client 4.8 (Socket.IO v5 over Engine.IO v4) against /socket.io/:
// websocket only, polling only, polling upgraded to websocket.
'use strict';

const assert = require('node:assert/strict');
const { io, Manager } = require('socket.io-client');
const { socketSuite } = require('./socketio-cases');
const { once } = require('./util');

socketSuite({
  name: 'socket.io-client 4.8 (Socket.IO v5, EIO=4)',
  protocol: 5,
  transports: ['websocket', 'polling', 'upgrade'],
  socket: (url, nsp, opts) => io(url + nsp, opts),
  manager: (url, opts) => new Manager(url, opts),
  managerSocket: (manager, nsp, opts) => manager.socket(nsp, opts),
  authOptions: (auth) => (auth ? { auth } : {}),
  // v5 clients send `auth` in their CONNECT for every namespace
  expectedAuth: (auth) => auth || {},
  refusal: (socket) => once(socket, 'connect_error', { ms: 5_000 }).then(([error]) => error),
  checkRefusal(error) {
    assert.ok(error instanceof Error, `connect_error gave ${error}`);
    assert.equal(error.message, 'Invalid namespace');
  },
});
