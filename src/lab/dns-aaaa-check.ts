/**
 * The DNS claim of a dual lab's second family (IPv6), part of `podnet lab check`: the demo
 * Service answers A and AAAA with its two ClusterIPs, glibc's `ahostsv6` gives the headless
 * Service's ready IPv6 endpoints, and the IPv6 ClusterIP resolves back under ip6.arpa. The
 * verdict is dns-claims.ts's.
 */
import { reverseName } from "../dns/dns-name.ts";
import { canonicalIP, parseIP } from "../ipnet/address.ts";
import type { Service } from "../k8s/service-model.ts";
import type { Verdict } from "./claims.ts";
import { type ExpectedAnswer, resolvesBothFamilies } from "./dns-claims.ts";
import type { QueryType } from "./dns-lookup.ts";
import { getentFrom, queryFrom } from "./dns-query.ts";
import { type LabFamily, labFamilies } from "./lab-families.ts";
import { clusterIPOf } from "./lab-services.ts";
import type { LabPod, LabState } from "./lab-state.ts";

/** The address record type of a family. */
export const addressType = (f: LabFamily): QueryType => (f === 4 ? "A" : "AAAA");

/** Answer data of an A/AAAA record in its canonical text (RFC 5952 for IPv6); other data as it is. */
export const addressData = (data: string): string => canonicalIP(data) ?? data;

export interface BothFamiliesTarget {
  /** The demo Service (PreferDualStack: a ClusterIP per family). */
  readonly service: Service;
  /** Its full name. */
  readonly name: string;
  /** The headless Service's full name. */
  readonly headless: string;
  /** The headless Service's ready endpoints of the second family. */
  readonly readyIPs: readonly string[];
  readonly secondary: LabFamily;
}

export async function bothFamiliesCheck(
  state: LabState,
  pod: LabPod,
  t: BothFamiliesTarget,
): Promise<Verdict> {
  const answers: ExpectedAnswer[] = [];
  for (const f of labFamilies(state)) {
    answers.push({
      what: `${addressType(f)} ${t.name}`,
      expected: [addressData(clusterIPOf(t.service, f))],
      lookup: await queryFrom(state, pod.netns, t.name, addressType(f)),
      normalize: addressData,
    });
  }
  const ptr = reverseName(parseIP(clusterIPOf(t.service, t.secondary)));
  answers.push({
    what: `PTR ${ptr}`,
    expected: [t.name],
    lookup: await queryFrom(state, pod.netns, ptr, "PTR"),
    normalize: (d) => d.replace(/\.$/, "").toLowerCase(),
  });
  return resolvesBothFamilies(answers, {
    pod: pod.name,
    name: t.headless,
    expected: t.readyIPs.map(addressData),
    outcome: await getentFrom(pod.netns, t.headless, t.secondary),
  });
}
