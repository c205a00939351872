/**
 * Asks a DNS server inside the benchmark's namespace a list of queries, one at a time over UDP, and
 * prints the answers as one JSON array of ServerAnswer: how the runner (outside the namespace) sees
 * that a server is up and that both servers answer alike.
 *
 * usage: bun bench/dns/query-child.ts ADDRESS PORT QUERY_FILE   (lines "NAME TYPE")
 */
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import type { RecordType } from "dns-packet";
import * as dnsPacket from "dns-packet";
import { errorText } from "../../src/base/error-text.ts";
import { decodeMessage } from "../../src/dns/dns-message.ts";
import { recordText, type ServerAnswer } from "./answer-check.ts";

const TIMEOUT_MS = 1000;

const [address, portText, file] = Bun.argv.slice(2);
const port = Number(portText);
if (address === undefined || file === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write("usage: bun bench/dns/query-child.ts ADDRESS PORT QUERY_FILE\n");
  process.exit(2);
}
const queries = readFileSync(file, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "");

const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
let waiting: ((m: Buffer) => void) | undefined;
socket.on("message", (m) => waiting?.(m));

function ask(id: number, name: string, type: RecordType): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting = undefined;
      resolve(undefined);
    }, TIMEOUT_MS);
    waiting = (m) => {
      if (m.length < 2 || m.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      waiting = undefined;
      resolve(m);
    };
    const q = dnsPacket.encode({
      type: "query",
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name, type, class: "IN" }],
    });
    socket.send(q, port, address);
  });
}

const out: ServerAnswer[] = [];
for (const [i, line] of queries.entries()) {
  const [name, type] = line.trim().split(/\s+/);
  if (name === undefined || type === undefined) {
    out.push({ query: line, rcode: "ERROR: not NAME TYPE", records: [] });
    continue;
  }
  const reply = await ask((i + 1) & 0xffff, name, type as RecordType);
  if (reply === undefined) {
    out.push({ query: line, rcode: "TIMEOUT", records: [] });
    continue;
  }
  try {
    const m = decodeMessage(reply);
    out.push({ query: line, rcode: m.rcode, records: (m.answers ?? []).map(recordText) });
  } catch (e) {
    out.push({ query: line, rcode: `ERROR: ${errorText(e)}`, records: [] });
  }
}
socket.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
