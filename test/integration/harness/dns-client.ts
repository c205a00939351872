/**
 * DNS questions asked from inside a namespace (a pod's), as its processes would ask them: a
 * small Bun script run with `ip netns exec` sends each question over UDP (or TCP) with
 * dns-packet and prints the decoded replies as JSON, so a test can assert the rcode, the AA bit
 * and every record. One process per batch of questions.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../../../src/linux/exec.ts";
import { inNetns } from "../../../src/linux/netns.ts";
import { REPO } from "../../../testkit/podnet-build.ts";

export interface DnsRecord {
  readonly name: string;
  readonly type: string;
  readonly ttl?: number;
  readonly data: unknown;
}

export type DnsReply =
  | {
      readonly rcode: string;
      readonly aa: boolean;
      readonly tc: boolean;
      readonly answers: readonly DnsRecord[];
      readonly authorities: readonly DnsRecord[];
    }
  | { readonly error: string };

export interface DnsQuestion {
  readonly name: string;
  readonly type: string;
}

const SCRIPT = `
import * as dnsPacket from ${JSON.stringify(`${REPO}/node_modules/dns-packet/index.js`)};
import { createSocket } from "node:dgram";
const [server, transport, ...questions] = process.argv.slice(2);
const records = (list) => list.map((r) => ({ name: r.name, type: r.type, ttl: r.ttl, data: Buffer.isBuffer(r.data) ? r.data.toString() : r.data }));
const shape = (r) => ({ rcode: r.rcode, aa: r.flag_aa, tc: r.flag_tc, answers: records(r.answers), authorities: records(r.authorities) });
function query(name, type) {
  const id = Math.floor(Math.random() * 65535);
  return { id, message: dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] }) };
}
async function udp(name, type) {
  const q = query(name, type);
  const sock = createSocket(server.includes(":") ? "udp6" : "udp4");
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ error: "no UDP reply within 2 s" }), 2000);
      sock.on("message", (msg) => {
        const r = dnsPacket.decode(msg);
        if (r.id !== q.id) return;
        clearTimeout(timer);
        resolve(shape(r));
      });
      sock.send(q.message, 53, server);
    });
  } finally {
    sock.close();
  }
}
async function tcp(name, type) {
  const q = query(name, type);
  let buf = Buffer.alloc(0);
  return await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ error: "no TCP reply within 2 s" }), 2000);
    Bun.connect({ hostname: server, port: 53, socket: {
      open: (s) => { const len = Buffer.alloc(2); len.writeUInt16BE(q.message.length); s.write(Buffer.concat([len, q.message])); },
      data: (s, chunk) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        clearTimeout(timer);
        resolve(shape(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)))));
        s.end();
      },
      error: (_s, e) => { clearTimeout(timer); resolve({ error: String(e) }); },
      connectError: (_s, e) => { clearTimeout(timer); resolve({ error: String(e) }); },
    } });
  });
}
const out = [];
for (const q of questions) {
  const at = q.lastIndexOf(" ");
  out.push(await (transport === "tcp" ? tcp : udp)(q.slice(0, at), q.slice(at + 1)));
}
console.log(JSON.stringify(out));
`;

let scriptPath: string | undefined;

function script(): string {
  if (scriptPath === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "podnet-dns-client-"));
    scriptPath = join(dir, "ask.mjs");
    writeFileSync(scriptPath, SCRIPT);
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  return scriptPath;
}

/** Asks `server` each question from inside `ns`; one reply (or error) per question, in order. */
export async function askDns(
  ns: string,
  server: string,
  questions: readonly DnsQuestion[],
  transport: "udp" | "tcp" = "udp",
): Promise<DnsReply[]> {
  const argv = [
    process.execPath,
    script(),
    server,
    transport,
    ...questions.map((q) => `${q.name} ${q.type}`),
  ];
  const r = await run(inNetns(ns, argv), { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`the DNS client in ${ns} failed (${r.code}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as DnsReply[];
}

/** One question; throws when no reply came. */
export async function askOne(
  ns: string,
  server: string,
  name: string,
  type: string,
  transport: "udp" | "tcp" = "udp",
): Promise<Exclude<DnsReply, { error: string }>> {
  const [reply] = await askDns(ns, server, [{ name, type }], transport);
  if (reply === undefined || "error" in reply)
    throw new Error(`no answer to ${name} ${type} from ${server}: ${reply ? reply.error : "nothing"}`);
  return reply;
}
