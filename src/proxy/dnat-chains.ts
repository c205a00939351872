/**
 * The shared DNAT chains (pure): one per protocol and endpoint count in use, whose one rule picks
 * an endpoint with `numgen random mod N` as the last part of a key into the protocol's endpoint
 * map (service-rules.ts says why the rule is shared rather than in each Service's chain).
 */
import type { NftChain, NftFamily } from "./nft-model.ts";
import {
  endpointsChainName,
  nodePortEndpointsChainName,
  nodePortEndpointsMap,
  type Proto,
  serviceEndpointsMap,
} from "./nft-names.ts";

/** The shared DNAT chains for the "proto/count" pairs in use, by protocol then count. */
export function dnatChains(
  addr: NftFamily,
  endpoints: Iterable<string>,
  nodePortEndpoints: Iterable<string>,
): NftChain[] {
  const byProtoThenCount = (pairs: Iterable<string>) =>
    [...pairs]
      .map((p) => p.split("/") as [Proto, string])
      .map(([proto, n]) => [proto, Number(n)] as const)
      .sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
  const dnat = (name: string, count: number, key: string, map: string): NftChain => ({
    name,
    rules: [`dnat ${addr} to ${key} . numgen random mod ${count} map @${map}`],
  });
  return [
    ...byProtoThenCount(endpoints).map(([proto, n]) =>
      dnat(endpointsChainName(proto, n), n, `${addr} daddr . ${proto} dport`, serviceEndpointsMap(proto)),
    ),
    ...byProtoThenCount(nodePortEndpoints).map(([proto, n]) =>
      dnat(nodePortEndpointsChainName(proto, n), n, `${proto} dport`, nodePortEndpointsMap(proto)),
    ),
  ];
}
