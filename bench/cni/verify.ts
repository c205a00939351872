/**
 * Proof that both subjects did the same real work: after one ADD, the pod's eth0 carries the
 * address from the result and the node has a veth on the bridge with hairpin on. A benchmark of a
 * plugin that silently did less would otherwise look fast.
 */
import { mustRunSync } from "../../src/linux/exec.ts";
import type { Pod, Subject } from "./subjects.ts";

interface AddrInfo {
  readonly ifname: string;
  readonly addr_info: readonly {
    readonly family: string;
    readonly local: string;
    readonly prefixlen: number;
  }[];
}

interface DetailedLink {
  readonly ifname: string;
  readonly master?: string;
  readonly linkinfo?: {
    readonly info_slave_kind?: string;
    readonly info_slave_data?: { readonly hairpin?: boolean };
  };
}

export class AttachmentCheckError extends Error {
  override readonly name = "AttachmentCheckError";
}

function resultAddress(output: unknown): string {
  const ips = (output as { ips?: { address?: unknown }[] } | undefined)?.ips;
  const address = ips?.[0]?.address;
  if (typeof address !== "string")
    throw new AttachmentCheckError(`ADD result has no ips[0].address: ${JSON.stringify(output)}`);
  return address;
}

/** Throws AttachmentCheckError naming what is missing. */
export function verifyAttachment(subject: Subject, pod: Pod, addOutput: unknown): void {
  const label = subject.spec.label;
  const want = resultAddress(addOutput);
  const addrs = JSON.parse(
    mustRunSync(["ip", "-n", pod.netns, "-json", "addr", "show", "dev", "eth0"]).stdout,
  ) as AddrInfo[];
  const have = (addrs[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  if (!have.includes(want)) {
    throw new AttachmentCheckError(
      `${label}: pod ${pod.netns} eth0 has ${have.join(", ") || "no address"}, the result says ${want}`,
    );
  }
  const links = JSON.parse(
    mustRunSync(["ip", "-n", subject.nodeNetns, "-details", "-json", "link", "show", "type", "veth"]).stdout,
  ) as DetailedLink[];
  const ports = links.filter((l) => l.master === subject.spec.bridge);
  if (ports.length === 0)
    throw new AttachmentCheckError(
      `${label}: no veth of node ${subject.nodeNetns} is a port of ${subject.spec.bridge}`,
    );
  const noHairpin = ports.filter((l) => l.linkinfo?.info_slave_data?.hairpin !== true).map((l) => l.ifname);
  if (noHairpin.length > 0)
    throw new AttachmentCheckError(`${label}: hairpin is off on ${noHairpin.join(", ")}`);
}
