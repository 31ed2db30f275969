// engine.io-client 3.5 (Engine.IO protocol v3) against the bare Engine.IO
// echo server at /engine.io/: polling only, websocket only, polling upgraded.
// In Node.js this client has no XHR2, so on polling it asks for base64
// binary (`b64=1`); over websocket it sends and gets binary frames.
'use strict';

const eio3 = require('engine.io-client-v3');
const { engineSuite } = require('./engineio-cases');

engineSuite({
  name: 'engine.io-client 3.5 (Engine.IO v3)',
  eio: 3,
  create: (url, opts) => eio3(url, opts),
  silence(socket) {
    // In v3 the client pings. Send none, and drop the client's own timeout,
    // so that only the server can end the session.
    socket.setPing = () => {};
    socket.onHeartbeat = () => {};
  },
  heartbeatEvent: 'pong',
});
