// engine.io-client 6 (Engine.IO protocol v4) against the bare Engine.IO echo
// server at /engine.io/: polling only, websocket only, polling upgraded.
'use strict';

const { Socket } = require('engine.io-client');
const { engineSuite } = require('./engineio-cases');

engineSuite({
  name: 'engine.io-client 6 (Engine.IO v4)',
  eio: 4,
  create: (url, opts) => new Socket(url, opts),
  silence(socket) {
    // Answer no ping: the server must notice within pingTimeout and close.
    const send = socket._sendPacket.bind(socket);
    socket._sendPacket = (type, ...rest) => (type === 'pong' ? undefined : send(type, ...rest));
  },
  heartbeatEvent: 'ping',
});
