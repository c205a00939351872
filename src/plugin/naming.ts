/**
 * Deterministic names and MAC addresses for an attachment. Deriving them from the attachment key
 * (instead of random ones) lets DEL and GC find the host side with no stored state, even after
 * the pod's namespace is gone, and keeps MACs stable across a repeated ADD. The host veth's alias
 * is node state the agent reads too, so it is written in node-state/host-veths.ts.
 */
import type { AttachmentKey } from "../cni/attachment-key.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { ipFromBigint } from "../ipnet/address.ts";

/** Host-side veth names start with this, so an operator can tell podnet's links apart. */
export const HOST_VETH_PREFIX = "pn";

// Bun's hasher rather than node:crypto, whose module costs about a millisecond to load on every
// plugin start.
function digest(text: string): Buffer {
  return new Bun.CryptoHasher("sha256").update(text).digest();
}

function attachmentDigest(key: AttachmentKey): Buffer {
  return digest(`${key.network}\0${key.containerId}\0${key.ifname}`);
}

/** 14 characters: within the kernel's 15-byte IFNAMSIZ limit. */
export function hostVethName(key: AttachmentKey): string {
  return HOST_VETH_PREFIX + attachmentDigest(key).toString("hex").slice(0, 12);
}

function formatMac(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** Locally administered unicast MAC (bit 1 set, bit 0 clear) from the first 6 bytes of a digest. */
function macFromDigest(d: Buffer): string {
  const b = [...d.subarray(0, 6)];
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return formatMac(b);
}

/**
 * The pod side's MAC: 0a:58 followed by the IPv4 address, the convention of Kubernetes network
 * plugins (so `ip neigh` output can be read at a glance); hashed when the pod has no IPv4.
 */
export function containerMac(key: AttachmentKey, ipv4: IPAddress | undefined): string {
  if (ipv4 && ipv4.family === 4) {
    const v = Number(ipv4.value);
    return formatMac([0x0a, 0x58, (v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  }
  const d = attachmentDigest(key);
  return formatMac([0x0a, 0x58, d[6] ?? 0, d[7] ?? 0, d[8] ?? 0, d[9] ?? 0]);
}

export function hostVethMac(key: AttachmentKey): string {
  return macFromDigest(attachmentDigest(key));
}

/** A fixed bridge MAC, so it does not change as ports come and go (which would churn ARP caches). */
export function bridgeMac(bridge: string, seed: string): string {
  return macFromDigest(digest(`bridge\0${bridge}\0${seed}`));
}

const MAC_TEXT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * The modified EUI-64 link-local address of a MAC (RFC 4291 appendix A), the one the kernel
 * itself would generate: fe80:: + MAC with the universal/local bit flipped and ff:fe inserted.
 */
export function linkLocalFromMac(mac: string): IPAddress {
  if (!MAC_TEXT.test(mac)) throw new Error(`Invalid MAC address "${mac}"`);
  const b = mac.split(":").map((h) => Number.parseInt(h, 16));
  const iid = [(b[0] ?? 0) ^ 0x02, b[1] ?? 0, b[2] ?? 0, 0xff, 0xfe, b[3] ?? 0, b[4] ?? 0, b[5] ?? 0];
  const low = iid.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  return ipFromBigint(6, (0xfe80n << 112n) | low);
}
