// node socket.io 4.8 with its defaults: the server tornadio-bench measures.
//
//   node server.js echo|broadcast [PORT]      (PORT also from $PORT; 0 = any)
//
// echo: every `message` event goes back to its sender.
// broadcast: every `message` event goes to every socket, the sender included
// (io.emit). Prints `LISTENING <addr>` once bound; ends on SIGTERM.
"use strict";

const { createServer } = require("node:http");
const { Server } = require("socket.io");

const mode = process.argv[2] || "echo";
const port = Number(process.argv[3] || process.env.PORT || 0);
if (mode !== "echo" && mode !== "broadcast") {
  console.error(`unknown mode ${JSON.stringify(mode)} (echo|broadcast)`);
  process.exit(2);
}

const httpServer = createServer();
const io = new Server(httpServer);

io.on("connection", (socket) => {
  if (mode === "echo") {
    socket.on("message", (message) => socket.emit("message", message));
  } else {
    socket.on("message", (message) => io.emit("message", message));
  }
});

httpServer.listen(port, "127.0.0.1", () => {
  const { address, port } = httpServer.address();
  process.stdout.write(`LISTENING ${address}:${port}\n`);
});

process.on("SIGTERM", () => process.exit(0));
