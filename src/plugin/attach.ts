/**
 * Executes an attachment plan against the kernel: host side in the namespace the plugin runs in,
 * pod side inside CNI_NETNS. Undoes its own partial work on failure (CNI.md rule 1).
 */
import type { IPAddress } from "../ipnet/address.ts";
import type { IpCommand, LinkInfo, NetnsTarget } from "../linux/ip.ts";
import { CURRENT_NETNS, getLink, IpBatchError, ipBatch, ipTry, netnsAt } from "../linux/ip.ts";
import { assertNetnsFile } from "../linux/netns.ts";
import { ensureSysctl } from "../linux/sysctl.ts";
import type { AttachInput, AttachPlan } from "./link-plan.ts";
import { planAttach } from "./link-plan.ts";

export class InterfaceExistsError extends Error {
  override readonly name = "InterfaceExistsError";
  constructor(
    readonly ifname: string,
    readonly netnsPath: string,
  ) {
    super(`Interface "${ifname}" already exists in network namespace "${netnsPath}"`);
  }
}

export class BridgeConflictError extends Error {
  override readonly name = "BridgeConflictError";
}

export interface BridgeState {
  readonly exists: boolean;
  readonly mac: string | undefined;
}

export function inspectBridge(name: string): BridgeState {
  const link: LinkInfo | undefined = getLink(name, CURRENT_NETNS, true);
  if (!link) return { exists: false, mac: undefined };
  if (link.linkinfo?.info_kind !== "bridge") {
    throw new BridgeConflictError(
      `"${name}" exists but is a ${link.linkinfo?.info_kind ?? "plain"} link, not a bridge`,
    );
  }
  return { exists: true, mac: link.address };
}

function enableForwarding(families: ReadonlySet<IPAddress["family"]>): void {
  // Pods reach anything beyond their node only if the node forwards (this is the node's
  // namespace, where the plugin runs; never the pod's).
  if (families.has(4)) ensureSysctl("net.ipv4.ip_forward", "1");
  if (families.has(6)) ensureSysctl("net.ipv6.conf.all.forwarding", "1");
}

export function linkExistsIn(ifname: string, target: NetnsTarget): boolean {
  return getLink(ifname, target) !== undefined;
}

/** Deletes the host side of a veth; its peer inside the pod goes with it. */
export function deleteHostVeth(name: string): boolean {
  return ipTry(["link", "del", "dev", name]);
}

/** True when `e` says our `link add` of the bridge found one already there. */
function lostBridgeRace(input: AttachInput, e: unknown): boolean {
  return (
    input.mode === "bridge" &&
    !input.existingBridge &&
    e instanceof IpBatchError &&
    e.failedIndex === 0 &&
    e.exists
  );
}

/** Bridge (if any), veth pair and host side, in one `ip -batch`; undoes its own veth on failure. */
function attachHost(input: AttachInput, plan: AttachPlan): void {
  const host: IpCommand[] = [...plan.bridgeSetup, plan.vethCreate, ...plan.hostSetup];
  const vethIndex = plan.bridgeSetup.length;
  try {
    ipBatch(host);
  } catch (e) {
    if (!(e instanceof IpBatchError) || e.failedIndex !== vethIndex || !e.exists) {
      // Past the bridge steps (or unknown where), the veth may exist: remove what we made.
      const index = e instanceof IpBatchError ? e.failedIndex : undefined;
      if (index === undefined || index > vethIndex) deleteHostVeth(input.hostVeth);
      throw e;
    }
    // EEXIST on the veth: either the pod already has this interface (an error the runtime must
    // see, and the live pod's veth must stay), or a host veth was left by a crashed earlier ADD.
    if (linkExistsIn(input.ifname, netnsAt(input.netnsPath)))
      throw new InterfaceExistsError(input.ifname, input.netnsPath);
    deleteHostVeth(input.hostVeth);
    try {
      ipBatch([plan.vethCreate, ...plan.hostSetup]);
    } catch (retryError) {
      deleteHostVeth(input.hostVeth);
      throw retryError;
    }
  }
}

export function attach(input: AttachInput): void {
  assertNetnsFile(input.netnsPath);
  const plan = planAttach(input);
  enableForwarding(new Set(input.addresses.map((a) => a.ip.family)));
  try {
    attachHost(input, plan);
  } catch (e) {
    if (!lostBridgeRace(input, e)) throw e;
    // Concurrent ADDs on a fresh node all see no bridge and all try to create it (CNI.md rule
    // 3); the losers use the winner's, once it is confirmed to be a bridge.
    if (!inspectBridge(input.bridge).exists) throw e;
    const joined: AttachInput = { ...input, existingBridge: true };
    attachHost(joined, planAttach(joined));
  }
  try {
    ipBatch(plan.container, netnsAt(input.netnsPath));
  } catch (e) {
    deleteHostVeth(input.hostVeth);
    throw e;
  }
}
