/**
 * The two servers of the DNS benchmark, started inside its namespace and waited for: podnet's
 * (podnet-dns-child.ts, ready when it prints its ready line) and dnsmasq (ready when it answers a
 * query of the zone: it reads its hosts file after binding). Both are the sandbox's children, so
 * they are stopped and their namespace removed on any exit.
 */
import { writeFileSync } from "node:fs";
import { errorText } from "../../src/base/error-text.ts";
import { pollUntil } from "../../src/base/poll-until.ts";
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { BenchSandbox, Child } from "../support/sandbox.ts";
import type { ServerAnswer } from "./answer-check.ts";
import type { DnsmasqFiles } from "./dnsmasq-config.ts";
import type { ChildReady, ChildStats } from "./podnet-dns-child.ts";

export type Subject = "podnet" | "dnsmasq";
export const SUBJECTS: readonly Subject[] = ["podnet", "dnsmasq"];

export interface RunningServer {
  readonly subject: Subject;
  readonly child: Child;
  readonly port: number;
  /** From the spawn to the first answer (dnsmasq) or the ready line (podnet: Bun's start included). */
  readonly startMs: number;
}

export class ServerStartError extends Error {
  override readonly name = "ServerStartError";
}

const START_TIMEOUT_MS = 60_000;
const CHILD = `${import.meta.dir}/podnet-dns-child.ts`;
const QUERY_CHILD = `${import.meta.dir}/query-child.ts`;

/** Reads a child's stdout line by line. */
class LineReader {
  private buffer = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
  }

  /** The next line, or undefined at the end of the stream. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const nl = this.buffer.indexOf("\n");
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        return line;
      }
      const { done, value } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }
}

async function withTimeout<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ServerStartError(`timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface PodnetServer extends RunningServer {
  /** Stops the server and returns its counters. */
  stop(): Promise<ChildStats | undefined>;
}

export async function startPodnet(
  sandbox: BenchSandbox,
  netns: string,
  zone: { readonly services: number; readonly endpointsPerService: number },
  address: string,
  port: number,
): Promise<PodnetServer> {
  const started = performance.now();
  const argv = [
    process.execPath,
    CHILD,
    String(zone.services),
    String(zone.endpointsPerService),
    address,
    String(port),
  ];
  const child = sandbox.spawn("podnet DNS server", inNetns(netns, argv));
  if (!(child.proc.stdout instanceof ReadableStream))
    throw new ServerStartError("the podnet DNS server's stdout is not a pipe");
  const lines = new LineReader(child.proc.stdout);
  const line = await withTimeout("the podnet DNS server's ready line", lines.next(), START_TIMEOUT_MS);
  if (line === undefined)
    throw new ServerStartError(
      `the podnet DNS server exited before serving (code ${await child.proc.exited})`,
    );
  const ready = JSON.parse(line) as ChildReady;
  if (ready.services !== zone.services)
    throw new ServerStartError(
      `the podnet DNS server holds ${ready.services} Services, not ${zone.services}`,
    );
  return {
    subject: "podnet",
    child,
    port: ready.port,
    startMs: performance.now() - started,
    stop: async () => {
      await sandbox.stop(child);
      const stats = await withTimeout("the podnet DNS server's counters", lines.next(), 5000).catch(
        () => undefined,
      );
      return stats === undefined ? undefined : (JSON.parse(stats) as ChildStats);
    },
  };
}

/** Asks the server at ADDRESS:PORT in `netns` the queries of `queryFile`, from inside. */
export async function askServer(
  netns: string,
  address: string,
  port: number,
  queryFile: string,
): Promise<ServerAnswer[]> {
  const r = await run(inNetns(netns, [process.execPath, QUERY_CHILD, address, String(port), queryFile]), {
    timeoutMs: 120_000,
  });
  if (r.code !== 0)
    throw new Error(`querying ${address}:${port} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as ServerAnswer[];
}

export interface DnsmasqServer extends RunningServer {
  stop(): Promise<void>;
}

export async function startDnsmasq(
  sandbox: BenchSandbox,
  netns: string,
  files: DnsmasqFiles,
  paths: { readonly conf: string; readonly hosts: string; readonly probe: string; readonly log: string },
  address: string,
  port: number,
  probeQuery: string,
): Promise<DnsmasqServer> {
  writeFileSync(paths.hosts, files.hosts);
  writeFileSync(paths.conf, files.conf);
  writeFileSync(paths.probe, `${probeQuery}\n`);
  const started = performance.now();
  const argv = [
    "dnsmasq",
    `--conf-file=${paths.conf}`,
    "--keep-in-foreground",
    `--log-facility=${paths.log}`,
    `--pid-file=${paths.log}.pid`,
  ];
  const child = sandbox.spawn("dnsmasq", inNetns(netns, argv), { log: paths.log });
  let exited: number | undefined;
  void child.proc.exited.then((code) => {
    exited = code;
  });
  try {
    await pollUntil(
      "dnsmasq to answer",
      async () => {
        if (exited !== undefined) throw new ServerStartError(`dnsmasq exited with ${exited}`);
        const [answer] = await askServer(netns, address, port, paths.probe);
        return answer?.rcode === "NOERROR";
      },
      START_TIMEOUT_MS,
      { intervalMs: 100 },
    );
  } catch (e) {
    const log = await Bun.file(paths.log)
      .text()
      .catch(() => "");
    throw new ServerStartError(`dnsmasq did not start: ${errorText(e)}; its log: ${log.trim().slice(-500)}`);
  }
  return {
    subject: "dnsmasq",
    child,
    port,
    startMs: performance.now() - started,
    stop: () => sandbox.stop(child),
  };
}
