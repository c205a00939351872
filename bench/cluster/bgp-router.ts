/**
 * The BGP part's router: BIRD in the underlay's router namespace, configured as the lab's
 * (src/lab/lab-router-bird.ts: dynamic neighbors per node segment, route reflector, hold 9 s /
 * keepalive 3 s, BGP routes into the router's kernel), and the cluster's peering config written
 * to the datastore before any agent starts, as `lab up --backend bgp` does. BIRD runs as a child
 * of the benchmark (startBird), stopped by `close` and, should the benchmark die, by
 * bird-process's exit hook; never in the root namespace (startBird refuses it).
 */
import { appendFileSync } from "node:fs";
import type { BgpConfig } from "../../src/cluster/bgp-config.ts";
import { writeBgpConfig } from "../../src/cluster/bgp-config-store.ts";
import { writeLabRouterConfig } from "../../src/lab/lab-router.ts";
import { labBgpConfig, labRouterBirdInput } from "../../src/lab/lab-router-bird.ts";
import type { Topology } from "../../src/lab/topology.ts";
import type { BirdHandle } from "../../src/linux/bird-process.ts";
import { startBird } from "../../src/linux/bird-process.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { BenchSandbox } from "../support/sandbox.ts";

export interface BenchRouter {
  readonly bird: BirdHandle;
  readonly bgp: BgpConfig;
  close(): Promise<void>;
}

/** Writes the lab's BgpConfig for `topology` to `datastore` (before the agents start). */
export async function writeBenchBgpConfig(datastore: string, topology: Topology): Promise<BgpConfig> {
  const store = await openStore(datastore);
  try {
    return await writeBgpConfig(store, labBgpConfig(topology));
  } finally {
    await store.close();
  }
}

/** Starts the router's BIRD in `netns` (config and socket under `dir`); resolves once it answers. */
export async function startBenchRouter(
  sandbox: BenchSandbox,
  netns: string,
  dir: string,
  topology: Topology,
  bgp: BgpConfig,
  podCidrs: readonly string[],
): Promise<BenchRouter> {
  const paths = writeLabRouterConfig(dir, labRouterBirdInput(topology, bgp, podCidrs));
  const bird = await startBird({
    netns,
    configPath: paths.configPath,
    ctlPath: paths.ctlPath,
    pidPath: paths.pidPath,
    // BIRD's own lines (sessions up and down, errors), kept with the run's files.
    log: (_level, line) => appendFileSync(`${dir}/router-bird.log`, `${line}\n`),
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await bird.stop();
  };
  sandbox.onClose(`router BIRD in ${netns}`, close);
  return { bird, bgp, close };
}
