/**
 * The backend of the latency measurement, run inside the backend namespace with
 * `ip netns exec`: on every TCP connection it writes one JSON line naming the local address the
 * connection arrived on — after DNAT, the endpoint the ruleset chose — and closes. Deliberately
 * smaller than the lab's echo server (no UDP sockets, no address rescans): nothing runs in this
 * process between connections. Prints "listening" on stdout once it accepts connections, and
 * serves until the benchmark kills it or removes the namespace.
 *
 * usage: bun bench/proxy/accept-server.ts PORT
 */
import { createServer } from "node:net";

const port = Number(Bun.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`accept-server: port "${Bun.argv[2]}" must be an integer from 1 to 65535\n`);
  process.exit(2);
}
const server = createServer((socket) => {
  socket.on("error", () => socket.destroy());
  // Closing first puts TIME_WAIT on this side, so the clients' namespaces never run out of ports.
  socket.end(`${JSON.stringify({ ip: socket.localAddress ?? "" })}\n`);
});
server.once("error", (e) => {
  process.stderr.write(`accept-server: cannot listen on port ${port}: ${e.message}\n`);
  process.exit(1);
});
server.listen({ port, host: "0.0.0.0", backlog: 1024 }, () => {
  process.stdout.write(`accept-server listening on 0.0.0.0:${port}\n`);
});
