/**
 * The DNS part of `podnet lab check`: real queries from inside pods — glibc (`getent`) for what a
 * program sees through the pod's resolv.conf and search path, and `podnet lab dns-query` for SRV,
 * PTR, TXT and rcodes — against the lab's Services (echo, echo-headless, other/echo), the zone
 * outside the cluster on the external host, and a Service of its own created and deleted.
 * These run in the lab's primary family (A in an IPv4 or dual lab, AAAA in an IPv6 one); a dual lab
 * adds one claim for the second family (AAAA, ahostsv6, PTR under ip6.arpa).
 * Verdicts come from dns-claims.ts.
 */
import { errorText } from "../base/error-text.ts";
import { reverseName } from "../dns/dns-name.ts";
import { parseIP, sameIP } from "../ipnet/address.ts";
import { netnsExists } from "../linux/netns.ts";
import type { Verdict } from "./claims.ts";
import { addressData, addressType, bothFamiliesCheck } from "./dns-aaaa-check.ts";
import {
  forwardsOutsideNames,
  headlessResolvesToReadyPods,
  type PodResolver,
  resolvesAcrossNamespaces,
  resolvesFullName,
  resolvesShortName,
  serviceChangesAnswered,
  srvAndPtrAnswer,
} from "./dns-claims.ts";
import type { DnsLookup } from "./dns-lookup.ts";
import { getentFrom, type Outcome, queryFrom, resolvConfIn } from "./dns-query.ts";
import { addressesOf, addressOf, type LabFamily, labFamilies } from "./lab-families.ts";
import { podNetns } from "./lab-paths.ts";
import { undoAttach } from "./lab-pods.ts";
import {
  clusterIPOf,
  createService,
  DEMO_SERVICE,
  deleteService,
  HEADLESS_PORT_NAME,
  HEADLESS_SERVICE,
  listLabServices,
  OTHER_NAMESPACE,
  OTHER_SERVICE,
  SERVICE_PORT,
  showService,
} from "./lab-services.ts";
import type { LabPod, LabState } from "./lab-state.ts";
import { ECHO_PORT, externalAddresses } from "./lab-state.ts";
import { attachPod, detachPod } from "./lab-up.ts";
import { parseResolvConf, podDnsOf } from "./resolv-conf.ts";
import { UPSTREAM_HOST, UPSTREAM_TXT, UPSTREAM_TXT_NAME } from "./upstream-dns.ts";

/** The agents' default cluster domain (the lab does not set another). */
export const CLUSTER_DOMAIN = "cluster.local";
/** How long a Service change may take to show in DNS (the agents' watch plus a 10 ms coalesce). */
export const DNS_CHANGE_LIMIT_MS = 3000;
const CHECK_SERVICE = "default/lab-check-dns";
const OTHER_POD = "lab-check-other";

const fqdn = (ref: string) => {
  const [ns, name] = ref.split("/") as [string, string];
  return `${name}.${ns}.svc.${CLUSTER_DOMAIN}`;
};
const nameOnly = (ref: string) => ref.split("/")[1] as string;
/** SRV data "PRIORITY WEIGHT PORT TARGET" → "PORT TARGET" (priority and weight are the zone's choice). */
const portAndTarget = (data: string) => {
  const [, , port, target] = data.split(" ");
  return `${port} ${(target ?? "").replace(/\.$/, "").toLowerCase()}`;
};

async function resolverOf(pod: LabPod): Promise<PodResolver> {
  let expected: readonly string[] = [];
  try {
    expected = podDnsOf(pod.result)?.nameservers ?? [];
  } catch {
    // an unusable dns block counts as none; the claim says so
  }
  const text = await resolvConfIn(pod.netns);
  return {
    pod: pod.name,
    expected,
    seen: text.kind === "ok" ? { kind: "ok", value: parseResolvConf(text.value) } : text,
  };
}

async function pollLookup(
  probe: () => Promise<Outcome<DnsLookup>>,
  accept: (o: Outcome<DnsLookup>) => boolean,
  limitMs: number,
): Promise<{ last: Outcome<DnsLookup>; afterMs: number | undefined }> {
  const started = performance.now();
  let last = await probe();
  while (!accept(last) && performance.now() - started < limitMs) {
    await Bun.sleep(50);
    last = await probe();
  }
  return { last, afterMs: accept(last) ? Math.round(performance.now() - started) : undefined };
}

async function crossNamespaceCheck(
  state: LabState,
  pod: LabPod,
  f: LabFamily,
  echoIP: string,
  otherIP: string,
): Promise<Verdict> {
  const node = state.nodes.find((n) => n.name === pod.node);
  if (!node) throw new Error(`no node ${pod.node} for the cross-namespace DNS check`);
  // Left by an interrupted earlier check, if any.
  if (netnsExists(podNetns(state.id, OTHER_POD))) await undoAttach(state, node, OTHER_POD);
  let other: LabPod;
  try {
    other = await attachPod(state, node, OTHER_POD, { pod: OTHER_POD }, OTHER_NAMESPACE);
  } catch (e) {
    await undoAttach(state, node, OTHER_POD);
    const { claim } = resolvesAcrossNamespaces(
      { pod: OTHER_POD, expected: [], seen: { kind: "ok", value: { nameservers: [], search: [] } } },
      [],
    );
    return {
      ok: false,
      claim,
      evidence: `a pod in namespace ${OTHER_NAMESPACE} could not be attached: ${errorText(e)}`,
    };
  }
  try {
    const name = nameOnly(DEMO_SERVICE);
    const who = `${OTHER_POD} (namespace ${OTHER_NAMESPACE})`;
    return resolvesAcrossNamespaces(await resolverOf(other), [
      {
        pod: who,
        name: `${name}.default`,
        expected: [echoIP],
        outcome: await getentFrom(other.netns, `${name}.default`, f),
      },
      { pod: who, name, expected: [otherIP], outcome: await getentFrom(other.netns, name, f) },
    ]);
  } finally {
    await detachPod(state, other).catch(() => undoAttach(state, node, OTHER_POD));
  }
}

async function lifecycleCheck(state: LabState, pod: LabPod, f: LabFamily): Promise<Verdict> {
  await deleteService(state, CHECK_SERVICE).catch(() => {}); // left by an interrupted earlier check
  const name = fqdn(CHECK_SERVICE);
  const probe = () => queryFrom(state, pod.netns, name, addressType(f));
  const svc = await createService(state, {
    name: CHECK_SERVICE,
    ports: [`${SERVICE_PORT}:${ECHO_PORT}/TCP`],
    selector: "app=nothing-has-this-label",
  });
  // No policy: SingleStack of the cluster's first family, the lab's primary one.
  const clusterIP = clusterIPOf(svc, f);
  const answered = (o: Outcome<DnsLookup>) =>
    o.kind === "ok" && o.value.rcode === "NOERROR" && o.value.answers.some((a) => sameIP(a.data, clusterIP));
  let created: Awaited<ReturnType<typeof pollLookup>>;
  try {
    created = await pollLookup(probe, answered, DNS_CHANGE_LIMIT_MS);
  } finally {
    await deleteService(state, CHECK_SERVICE);
  }
  const gone = await pollLookup(
    probe,
    (o) => o.kind === "ok" && o.value.rcode === "NXDOMAIN",
    DNS_CHANGE_LIMIT_MS,
  );
  return serviceChangesAnswered({
    service: name,
    clusterIP,
    answeredAfterMs: created.afterMs,
    lastAfterCreate: created.last,
    nxdomainAfterMs: gone.afterMs,
    lastAfterDelete: gone.last,
    limitMs: DNS_CHANGE_LIMIT_MS,
  });
}

/**
 * The DNS claims. A lab the checks cannot run on (one built by an older podnet, without the DNS
 * demo Services) gets one failed verdict saying why, instead of an aborted check.
 */
export async function dnsChecks(state: LabState): Promise<Verdict[]> {
  try {
    return await dnsClaims(state);
  } catch (e) {
    return [{ ok: false, claim: "the lab's DNS claims can be checked", evidence: errorText(e) }];
  }
}

async function dnsClaims(state: LabState): Promise<Verdict[]> {
  const pod = state.pods.find((p) => (p.namespace ?? "default") === "default");
  if (!pod) throw new Error("the lab has no pod in namespace default to check DNS from");
  const families = labFamilies(state);
  const primary = families[0] ?? 4;
  const echo = await showService(state, DEMO_SERVICE);
  const echoIP = clusterIPOf(echo, primary);
  const otherIP = clusterIPOf(await showService(state, OTHER_SERVICE), primary);
  const resolver = await resolverOf(pod);
  const verdicts: Verdict[] = [];
  const full = fqdn(DEMO_SERVICE);
  verdicts.push(
    resolvesFullName(resolver, {
      pod: pod.name,
      name: full,
      expected: [echoIP],
      outcome: await getentFrom(pod.netns, full, primary),
    }),
  );
  const short = nameOnly(DEMO_SERVICE);
  verdicts.push(
    resolvesShortName(resolver, {
      pod: pod.name,
      name: short,
      expected: [echoIP],
      outcome: await getentFrom(pod.netns, short, primary),
    }),
  );
  verdicts.push(await crossNamespaceCheck(state, pod, primary, echoIP, otherIP));

  const headless = (await listLabServices(state)).find(
    (s) => `${s.namespace}/${s.name}` === HEADLESS_SERVICE,
  );
  const endpoints = headless?.endpoints ?? [];
  const endpointIPs = endpoints.map((e) => e.ip);
  verdicts.push(
    headlessResolvesToReadyPods(
      HEADLESS_SERVICE,
      addressesOf(endpointIPs, primary),
      await queryFrom(state, pod.netns, fqdn(HEADLESS_SERVICE), addressType(primary)),
    ),
  );

  const srvName = `_tcp._tcp.${full}`; // the demo Service's port named "tcp"
  const headlessSrv = `_${HEADLESS_PORT_NAME}._tcp.${fqdn(HEADLESS_SERVICE)}`;
  const ptr = reverseName(parseIP(echoIP));
  verdicts.push(
    srvAndPtrAnswer([
      {
        what: `SRV ${srvName}`,
        expected: [`${SERVICE_PORT} ${full}`],
        lookup: await queryFrom(state, pod.netns, srvName, "SRV"),
        normalize: portAndTarget,
      },
      {
        what: `SRV ${headlessSrv}`,
        // One per ready pod, named after it (a DNS label) under the Service's name; a dual-stack
        // pod has two endpoints (one per family) and one name, so still one SRV (RFC 2181 §5).
        expected: [
          ...new Set(endpoints.map((e) => `${ECHO_PORT} ${e.pod.split("/")[1]}.${fqdn(HEADLESS_SERVICE)}`)),
        ],
        lookup: await queryFrom(state, pod.netns, headlessSrv, "SRV"),
        normalize: portAndTarget,
      },
      {
        what: `PTR ${ptr}`,
        expected: [full],
        lookup: await queryFrom(state, pod.netns, ptr, "PTR"),
        normalize: (d) => d.replace(/\.$/, "").toLowerCase(),
      },
    ]),
  );

  const externalIP = (f: LabFamily) => {
    const ip = addressOf(externalAddresses(state), f);
    if (!ip) throw new Error(`the external host has no IPv${f} address in the lab state`);
    return ip;
  };
  const secondary = families.find((f) => f !== primary);
  verdicts.push(
    forwardsOutsideNames(
      {
        pod: pod.name,
        name: UPSTREAM_HOST,
        expected: [externalIP(primary)],
        outcome: await getentFrom(pod.netns, UPSTREAM_HOST, primary),
      },
      {
        what: `TXT ${UPSTREAM_TXT_NAME}`,
        expected: [UPSTREAM_TXT],
        lookup: await queryFrom(state, pod.netns, UPSTREAM_TXT_NAME, "TXT"),
      },
      // dnsmasq's host-record carries every address of the external host.
      ...(secondary === undefined
        ? []
        : [
            {
              what: `${addressType(secondary)} ${UPSTREAM_HOST}`,
              expected: [externalIP(secondary)],
              lookup: await queryFrom(state, pod.netns, UPSTREAM_HOST, addressType(secondary)),
              normalize: addressData,
            },
          ]),
    ),
  );
  verdicts.push(await lifecycleCheck(state, pod, primary));
  if (secondary !== undefined)
    verdicts.push(
      await bothFamiliesCheck(state, pod, {
        service: echo,
        name: full,
        headless: fqdn(HEADLESS_SERVICE),
        readyIPs: addressesOf(endpointIPs, secondary),
        secondary,
      }),
    );
  return verdicts;
}
