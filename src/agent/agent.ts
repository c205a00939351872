/**
 * The node agent, wired together. Read top to bottom: the node registers and leases its pod
 * blocks (node-registration.ts), sets itself up and writes the CNI conflist (local-network.ts),
 * publishes its pods as endpoint candidates (pod-publisher.ts), follows Services and pods in one
 * ClusterView that feeds both the service proxy and the node-local DNS (node-local-dns.ts), routes
 * every other node's blocks (peer-route-loop.ts) — with BGP, BIRD announces the node's blocks and
 * installs its peers' (agent-bgp.ts) — follows its own node IP (uplink-watch.ts),
 * answers `podnet explain` and `podnet trace` (diagnosis-responder.ts), and is marked ready
 * after the first route sync (readiness.ts). Every timer, watch and server is disposed on stop
 * (SIGTERM); errors in the loops are logged, counted and retried.
 */

import type { Logger } from "../daemon/log.ts";
import { Metrics } from "../daemon/metrics.ts";
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { formatIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { ClusterView } from "../proxy/cluster-view.ts";
import { KernelCommands } from "../proxy/kernel-commands.ts";
import { ServiceProxy } from "../proxy/service-proxy.ts";
import type { Store } from "../store/store.ts";
import { AgentBgp } from "./agent-bgp.ts";
import { agentMetrics } from "./agent-metrics.ts";
import type { AgentOptions } from "./agent-options.ts";
import { checkDnsAddress, DNS_ADDRESS_ADVICE } from "./cluster-dns-options.ts";
import { CniService } from "./cni-service.ts";
import { DiagnosisResponder } from "./diagnosis-responder.ts";
import { IpamReporter } from "./ipam-reporter.ts";
import { LocalNetwork } from "./local-network.ts";
import { NodeLocalDns, removeNodeLocalDnsLink } from "./node-local-dns.ts";
import { NodeRegistration } from "./node-registration.ts";
import { PeerRouteLoop } from "./peer-route-loop.ts";
import { PodPublisher } from "./pod-publisher.ts";
import { Readiness } from "./readiness.ts";
import { ReadinessChecks } from "./readiness-checks.ts";
import { readUplink } from "./uplink.ts";
import { UplinkWatch } from "./uplink-watch.ts";

export class Agent {
  readonly metrics = new Metrics();
  private readonly m = agentMetrics(this.metrics);
  private readonly readiness: Readiness;
  private readonly local: LocalNetwork;
  private readonly registration: NodeRegistration;
  private readonly ipam: IpamReporter;
  private readonly cni: CniService;
  private uplink: UplinkWatch | undefined;
  private bgp: AgentBgp | undefined;
  private routes: PeerRouteLoop | undefined;
  private pods: PodPublisher | undefined;
  private checks: ReadinessChecks | undefined;
  private view: ClusterView | undefined;
  private proxy: ServiceProxy | undefined;
  private dns: NodeLocalDns | undefined;
  private diagnosis: DiagnosisResponder | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly config: ClusterConfig,
    private readonly o: AgentOptions,
    private readonly log: Logger,
  ) {
    // The config may come from the datastore, not this agent's flags: checked again here.
    if (o.dns) checkDnsAddress(o.dns.address, config, DNS_ADDRESS_ADVICE);
    this.readiness = new Readiness(`${o.stateDir}/ready`, o.nodeName, this.m.ready);
    this.local = new LocalNetwork(o, this.readiness.file);
    this.ipam = new IpamReporter(store, o, this.m);
    this.cni = new CniService(o.stateDir, log, this.metrics);
    this.registration = new NodeRegistration(
      store,
      o,
      {
        config: () => this.routes?.clusterConfig ?? this.config,
        nodeIPs: () => this.uplink?.state.addresses ?? [],
        blocksChanged: (blocks) => {
          if (this.uplink) this.local.setUp(this.uplink.state, blocks);
          this.bgp?.update("blocks changed");
        },
        registeredAgain: () => {
          this.bgp?.republish();
          this.pods?.requestSync("lease re-acquired");
          this.routes?.request("lease re-acquired");
        },
      },
      log,
      this.m,
    );
  }

  get leasedBlocks(): readonly IPPrefix[] {
    return this.registration.blocks;
  }

  async start(): Promise<void> {
    const o = this.o;
    this.readiness.clearStale();
    const uplinkNow = readUplink(o.uplink);
    if (uplinkNow.addresses.length === 0) throw new Error(`Uplink "${o.uplink}" has no global address`);
    const uplink = new UplinkWatch(
      o.uplink,
      uplinkNow,
      this.registration,
      {
        changed: (now) => {
          this.local.program(now, this.registration.blocks);
          this.bgp?.update("node IP changed");
          this.routes?.request("node IP changed");
          this.proxy?.requestSync();
        },
      },
      this.log,
      this.m,
    );
    this.uplink = uplink;

    // Serving the plugin's operations warm is an optimisation: plugins do the work themselves
    // until this runs and whenever it does not, so it starts first and needs nothing else.
    this.cni.start();
    const blocks = await this.registration.leaseBlocks();
    const changed = this.local.setUp(uplink.state, blocks);
    this.log.info("CNI config written", { dir: o.cniConfDir, changed });
    await this.registration.announce();
    // Before the first route sync: with `auto` and BGP sessions, podnet's routes go in at the
    // backup metric from the start.
    this.bgp = new AgentBgp(
      this.store,
      o,
      this.config,
      {
        blocks: () => this.registration.blocks,
        uplink: () => uplink.state,
        leaseId: () => this.registration.leaseId,
        routingChanged: (reason) => {
          this.routes?.request(reason);
          this.proxy?.requestSync();
        },
      },
      this.log,
      this.m,
    );
    await this.bgp.start();

    const pods = new PodPublisher(this.store, o, () => this.registration.leaseId, this.log, this.metrics);
    this.pods = pods;
    // Before the first publication: checked pods go out not ready (or as their record was).
    this.checks = new ReadinessChecks(o, {
      setReadiness: (pod, ready) => pods.setPodReadiness(pod, ready),
      store: this.store,
      log: this.log,
      metrics: this.metrics,
    });
    await this.checks.start();
    pods.start();
    this.diagnosis = new DiagnosisResponder(
      this.store,
      {
        facts: {
          nodeName: o.nodeName,
          backend: o.backend,
          uplink: o.uplink,
          stateDir: o.stateDir,
          cniNetwork: o.cniNetwork,
          nodeIPs: () => uplink.state.addresses.map(formatIP),
          blocks: () => this.registration.blocks.map(formatPrefix),
          bgp: () => this.bgp?.status,
          bgpStateDir: o.bgpStateDir,
        },
      },
      this.log,
      this.metrics,
    );
    // Answering `podnet explain` and `podnet trace` is no condition of the node's pod network:
    // start() only sweeps leftover trace tables and lists once; a failed watch is retried.
    await this.diagnosis.start();
    // One list+watch of Services and pods for the proxy and the DNS. start() never throws: a
    // failed listing is retried, and both follow when it works.
    const view = o.proxy || o.dns ? new ClusterView(this.store, this.log) : undefined;
    this.view = view;
    await view?.start();
    if (view && o.dns) {
      this.dns = new NodeLocalDns(
        view,
        {
          dns: o.dns,
          clusterDomain: o.clusterDomain,
          reverseCidrs: [...this.config.clusterCidrs, ...this.config.serviceCidrs].map(formatPrefix),
          checkSeconds: o.resyncSeconds,
        },
        this.log,
        this.metrics,
        this.m,
      );
      // Serving before the routes are in: the pods of this node query this node only.
      await this.dns.start();
    }
    // Without DNS, the link an earlier run kept (node-local-dns.ts) goes, with its address.
    if (!o.dns) {
      removeNodeLocalDnsLink(this.log);
    }
    if (view && o.proxy) {
      this.proxy = new ServiceProxy(
        view,
        o.proxy,
        () => ({
          nodeName: o.nodeName,
          nodeIPs: uplink.state.addresses.map(formatIP),
          clusterCidrs: this.clusterConfig().clusterCidrs.map(formatPrefix),
          serviceCidrs: this.clusterConfig().serviceCidrs.map(formatPrefix),
          vpcCidrs: this.bgp?.vpcCidrs() ?? [],
        }),
        this.log,
        this.metrics,
        new KernelCommands(),
      );
      // Not awaited: Services are not a condition of the node's pod network being ready, and
      // the proxy retries on its own until its first sync is applied.
      void this.proxy.start();
    }

    this.routes = new PeerRouteLoop(
      this.store,
      o,
      this.registration,
      this.config,
      {
        uplink: () => uplink.state,
        programLocal: () => this.local.program(uplink.state, this.registration.blocks),
        bgpBackup: () => this.bgp?.backupRoutes ?? false,
        configChanged: () => this.proxy?.requestSync(),
        synced: async () => {
          if (!this.readiness.isReady && !this.stopped) {
            this.readiness.mark();
            this.log.info("node network programmed: ready", { readyFile: this.readiness.file });
          }
          await this.ipam.report(this.registration.blocks, this.registration.leaseId);
        },
      },
      this.log,
      this.m,
    );
    this.registration.keepAlive();
    uplink.start(o.addressCheckSeconds);
    await this.routes.start();
  }

  private clusterConfig(): ClusterConfig {
    return this.routes?.clusterConfig ?? this.config;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cni.stop();
    this.registration.stop();
    this.uplink?.stop();
    await this.routes?.stop();
    // BIRD stops after the routes loop and before the datastore closes (its status record goes).
    await this.bgp?.stop();
    this.checks?.stop();
    await this.pods?.stop();
    // Before the datastore closes: every trace session's table and monitor are removed.
    await this.diagnosis?.stop();
    await this.proxy?.stop();
    // The server closes; the podnet-dns link and its address stay, so pods' queries are refused on the node while no agent serves.
    await this.dns?.stop();
    this.view?.stop();
    this.readiness.clear();
    this.log.info("agent stopped; blocks stay leased until the lease expires", {
      ttl: this.o.leaseTtlSeconds,
    });
  }
}
