/**
 * Links and their addresses as the kernel holds them (`ip -j -d addr show`), for explain's "the
 * address really is on the pod's interface" and trace's view of bridges, veths and the VXLAN device.
 */
import type { InterfaceFact } from "./kernel-facts.ts";
import {
  isRecord,
  KernelOutputError,
  type NetnsOption,
  optNumber,
  optString,
  parseToolJson,
  runRead,
  stringList,
  validateIfname,
} from "./kernel-read.ts";

const COMMAND = "ip -j -d addr show";

function vxlanOf(linkinfo: Record<string, unknown>): InterfaceFact["vxlan"] {
  const data = linkinfo.info_data;
  if (!isRecord(data)) return undefined;
  const vni = optNumber(data.id);
  if (vni === undefined) return undefined;
  const local = optString(data.local) ?? optString(data.local6);
  const dev = optString(data.link);
  return {
    vni,
    port: optNumber(data.port) ?? 0,
    ...(local !== undefined ? { local } : {}),
    ...(dev !== undefined ? { dev } : {}),
  };
}

function interfaceOf(entry: unknown): InterfaceFact {
  if (!isRecord(entry)) throw new KernelOutputError(COMMAND, "an entry is not an object");
  const name = optString(entry.ifname);
  const index = optNumber(entry.ifindex);
  if (name === undefined || index === undefined)
    throw new KernelOutputError(COMMAND, "an entry has no ifname or ifindex");
  const linkinfo = isRecord(entry.linkinfo) ? entry.linkinfo : {};
  const kind = optString(linkinfo.info_kind) ?? "";
  const addresses: string[] = [];
  if (Array.isArray(entry.addr_info)) {
    for (const a of entry.addr_info) {
      if (!isRecord(a)) continue;
      const local = optString(a.local);
      const len = optNumber(a.prefixlen);
      if (local !== undefined && len !== undefined) addresses.push(`${local}/${len}`);
    }
  }
  const master = optString(entry.master);
  const alias = optString(entry.ifalias);
  const vxlan = kind === "vxlan" ? vxlanOf(linkinfo) : undefined;
  return {
    name,
    index,
    kind,
    mac: optString(entry.address) ?? "",
    mtu: optNumber(entry.mtu) ?? 0,
    // Administratively up (IFF_UP), as `ip link set up` made it; carrier is another matter.
    up: stringList(entry.flags).includes("UP"),
    ...(master !== undefined ? { master } : {}),
    ...(alias !== undefined ? { alias } : {}),
    addresses,
    ...(vxlan !== undefined ? { vxlan } : {}),
  };
}

/** Pure: the interfaces of `ip -j -d addr show` output. */
export function parseIpAddrJson(json: string): InterfaceFact[] {
  const doc = parseToolJson(COMMAND, json, []);
  if (!Array.isArray(doc)) throw new KernelOutputError(COMMAND, "not a JSON array");
  return doc.map(interfaceOf);
}

/** Every interface (or only `dev`; a missing one gives []) of the current or given namespace. */
export async function readInterfaces(
  options: NetnsOption & { readonly dev?: string } = {},
): Promise<InterfaceFact[]> {
  const argv = ["ip", "-j", "-d", "addr", "show"];
  if (options.dev !== undefined) argv.push("dev", validateIfname(options.dev));
  const r = await runRead(options, argv, (_code, stderr) => /does not exist|Cannot find device/.test(stderr));
  if (r.code !== 0) return [];
  return parseIpAddrJson(r.stdout);
}
