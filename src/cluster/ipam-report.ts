/**
 * What each node reports about the addresses it handed out (`/podnet/ipam/NODE`, under the
 * node's lease): per block, the allocated addresses and those whose pod is gone (no veth left).
 * Pod IPs are allocated on the node without a cluster round trip; these reports are how
 * `podnet ipam show` and `podnet ipam check` see them cluster-wide.
 */
import type { Store } from "../store/store.ts";
import { IPAM_PREFIX, ipamKey } from "./keys.ts";

export interface BlockUsage {
  readonly block: string;
  readonly allocated: readonly string[];
  /** Allocations whose pod has no interface on the node any more (leaks). */
  readonly orphaned: readonly string[];
}

export interface IpamReport {
  readonly node: string;
  readonly at: string;
  readonly blocks: readonly BlockUsage[];
  /** Allocations outside every block the node holds (a block changed under running pods). */
  readonly outside: readonly string[];
}

export async function publishIpamReport(store: Store, report: IpamReport, leaseId: string): Promise<void> {
  await store.put(ipamKey(report.node), JSON.stringify(report), { lease: leaseId });
}

export async function listIpamReports(store: Store): Promise<IpamReport[]> {
  const { kvs } = await store.list(IPAM_PREFIX);
  const reports: IpamReport[] = [];
  for (const kv of kvs) {
    try {
      const r = JSON.parse(kv.value) as IpamReport;
      if (typeof r.node === "string" && Array.isArray(r.blocks)) reports.push(r);
    } catch {
      // an unreadable report is reported as missing by `ipam check`
    }
  }
  return reports;
}
