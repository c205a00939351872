/**
 * The address families a lab runs (pure): `--ip-family ipv4|ipv6|dual`, the primary family first
 * (IPv4 in dual, Kubernetes' default order), and how a claim names its family in a dual lab.
 */
import { type Family, parseIP } from "../ipnet/address.ts";

export type LabFamily = Family;
export type IpFamilyFlag = "ipv4" | "ipv6" | "dual";
export type IpFamilyName = "IPv4" | "IPv6";
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

export function familyName(f: LabFamily): IpFamilyName {
  return f === 4 ? "IPv4" : "IPv6";
}

export function familyOfName(name: IpFamilyName): LabFamily {
  return name === "IPv4" ? 4 : 6;
}

/** The lab's families in order; a state written before labs had families is IPv4 only. */
export function labFamilies(state: { readonly ipFamilies?: readonly IpFamilyName[] }): LabFamily[] {
  const names = state.ipFamilies ?? ["IPv4"];
  return names.map(familyOfName);
}

/** The bare address of family f among addresses with or without a prefix length ("192.0.2.11/24"). */
export function addressOf(addresses: readonly string[], f: LabFamily): string | undefined {
  for (const a of addresses) {
    const bare = a.split("/")[0] ?? a;
    if (parseIP(bare).family === f) return bare;
  }
  return undefined;
}

/** What a claim appends to name its family: nothing in a single-family lab, " [IPv6]" in a dual one. */
export function familyLabel(state: { readonly ipFamilies?: readonly IpFamilyName[] }, f: LabFamily): string {
  return labFamilies(state).length > 1 ? ` [${familyName(f)}]` : "";
}
