/**
 * The shared DNAT chains (pure): one per protocol and endpoint count in use, whose one rule picks
 * an endpoint with `numgen random mod N` as the last part of a key into the protocol's endpoint
 * map (service-rules.ts says why the rule is shared rather than in each Service's chain). A
 * NodePort chain first sets the masquerade mark: NodePort callers are always masqueraded (pods
 * too), because the endpoint may be on another node and its reply must come back here to be
 * un-DNATed.
 */
import type { NftChain, NftFamily } from "./nft-model.ts";
import {
  endpointsChainName,
  nodePortEndpointsChainName,
  nodePortEndpointsMap,
  type Proto,
  serviceEndpointsMap,
} from "./nft-names.ts";
import { SET_MARK } from "./service-rules.ts";

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
  const dnat = (name: string, count: number, key: string, map: string, first: string[] = []): NftChain => ({
    name,
    rules: [...first, `dnat ${addr} to ${key} . numgen random mod ${count} map @${map}`],
  });
  return [
    ...byProtoThenCount(endpoints).map(([proto, n]) =>
      dnat(endpointsChainName(proto, n), n, `${addr} daddr . ${proto} dport`, serviceEndpointsMap(proto)),
    ),
    ...byProtoThenCount(nodePortEndpoints).map(([proto, n]) =>
      dnat(nodePortEndpointsChainName(proto, n), n, `${proto} dport`, nodePortEndpointsMap(proto), [
        SET_MARK,
      ]),
    ),
  ];
}
