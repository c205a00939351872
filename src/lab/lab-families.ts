/**
 * The address families a lab runs (pure): `--ip-family ipv4|ipv6|dual`, the primary family first
 * (IPv4 in dual, Kubernetes' default order), and how a claim names its family in a dual lab.
 */
import { type Family, tryParseIP } from "../ipnet/address.ts";
import { type IPFamily, ipFamilyName, ipFamilyNumber } from "../k8s/service-model.ts";

export type LabFamily = Family;
export type IpFamilyFlag = "ipv4" | "ipv6" | "dual";
export const IP_FAMILY_FLAGS: readonly IpFamilyFlag[] = ["ipv4", "ipv6", "dual"];

export function isIpFamilyFlag(text: string): text is IpFamilyFlag {
  return (IP_FAMILY_FLAGS as readonly string[]).includes(text);
}

/** dual → [4, 6]: IPv4 is the primary family. */
export function familiesOf(flag: IpFamilyFlag): LabFamily[] {
  if (flag === "ipv4") return [4];
  if (flag === "ipv6") return [6];
  return [4, 6];
}

/** The lab's families in order; a state written before labs had families is IPv4 only. */
export function labFamilies(state: { readonly ipFamilies?: readonly IPFamily[] }): LabFamily[] {
  const names = state.ipFamilies ?? ["IPv4"];
  return names.map(ipFamilyNumber);
}

/**
 * The bare addresses of family f, in order, among addresses with or without a prefix length
 * ("192.0.2.11/24"); text that is no address is of no family.
 */
export function addressesOf(addresses: readonly string[], f: LabFamily): string[] {
  return addresses.map((a) => a.split("/")[0] ?? a).filter((bare) => tryParseIP(bare)?.family === f);
}

/** The first bare address of family f (see addressesOf). */
export function addressOf(addresses: readonly string[], f: LabFamily): string | undefined {
  return addressesOf(addresses, f)[0];
}

/** What a claim appends to name its family: nothing in a single-family lab, " [IPv6]" in a dual one. */
export function familyLabel(state: { readonly ipFamilies?: readonly IPFamily[] }, f: LabFamily): string {
  return labFamilies(state).length > 1 ? ` [${ipFamilyName(f)}]` : "";
}

/** The pods' ranges per family (IPv6: unique local addresses, a /64 block per node). */
export const LAB_CLUSTER_CIDRS: Readonly<Record<LabFamily, string>> = {
  4: "10.244.0.0/16",
  6: "fd00:10:244::/56",
};
/** The Services' ranges per family (IPv4: the agent's default). */
export const LAB_SERVICE_CIDRS: Readonly<Record<LabFamily, string>> = {
  4: "10.96.0.0/12",
  6: "fd00:10:96::/112",
};
