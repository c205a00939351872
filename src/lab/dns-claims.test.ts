import { describe, expect, test } from "bun:test";
import {
  DNS_AAAA_CLAIM,
  forwardsOutsideNames,
  headlessResolvesToReadyPods,
  type PodResolver,
  resolvesAcrossNamespaces,
  resolvesBothFamilies,
  resolvesFullName,
  resolvesShortName,
  serviceChangesAnswered,
  srvAndPtrAnswer,
} from "./dns-claims.ts";
import type { DnsLookup } from "./dns-lookup.ts";

const RESOLVER: PodResolver = {
  pod: "node1-a",
  expected: ["169.254.20.10"],
  seen: { kind: "ok", value: { nameservers: ["169.254.20.10"], search: ["default.svc.cluster.local"] } },
};
const ok = <T>(value: T) => ({ kind: "ok" as const, value });
const err = (message: string) => ({ kind: "error" as const, message });
const lookup = (over: Partial<DnsLookup>): DnsLookup => ({
  server: "169.254.20.10",
  name: "x",
  type: "A",
  rcode: "NOERROR",
  authoritative: true,
  answers: [],
  ...over,
});
const a = (...ips: string[]) => ips.map((ip) => ({ name: "x", type: "A", data: ip }));

describe("names resolved with glibc", () => {
  const full = { pod: "node1-a", name: "echo.default.svc.cluster.local", expected: ["10.96.0.10"] };

  test("the ClusterIP through the CNI result's nameserver holds", () => {
    const v = resolvesFullName(RESOLVER, { ...full, outcome: ok(["10.96.0.10"]) });
    expect(v.ok).toBe(true);
    expect(v.evidence).toContain("nameserver 169.254.20.10");
  });

  test("another address, no answer, or the host's resolver in the pod each fail", () => {
    expect(resolvesFullName(RESOLVER, { ...full, outcome: ok(["10.96.0.11"]) }).evidence).toContain(
      "not 10.96.0.10",
    );
    expect(
      resolvesShortName(RESOLVER, { ...full, name: "echo", outcome: err("glibc did not resolve echo") }).ok,
    ).toBe(false);
    const hostResolver: PodResolver = {
      ...RESOLVER,
      seen: { kind: "ok", value: { nameservers: ["127.0.0.53"], search: [] } },
    };
    const v = resolvesFullName(hostResolver, { ...full, outcome: ok(["10.96.0.10"]) });
    expect(v.ok).toBe(false);
    expect(v.evidence).toContain("names 127.0.0.53, not its CNI result's 169.254.20.10");
    expect(
      resolvesFullName({ ...RESOLVER, expected: [] }, { ...full, outcome: ok(["10.96.0.10"]) }).evidence,
    ).toContain("carries no dns nameserver");
  });

  test("across namespaces, both names must give their own namespace's Service", () => {
    const lookups = [
      { pod: "p", name: "echo.default", expected: ["10.96.0.10"], outcome: ok(["10.96.0.10"]) },
      { pod: "p", name: "echo", expected: ["10.96.0.20"], outcome: ok(["10.96.0.20"]) },
    ];
    expect(resolvesAcrossNamespaces(RESOLVER, lookups).ok).toBe(true);
    // The search path of namespace default in a pod of namespace other: echo is the wrong Service.
    const wrong = [lookups[0], { ...lookups[1], outcome: ok(["10.96.0.10"]) }] as typeof lookups;
    expect(resolvesAcrossNamespaces(RESOLVER, wrong).ok).toBe(false);
    expect(resolvesAcrossNamespaces(RESOLVER, []).ok).toBe(false);
  });
});

describe("headlessResolvesToReadyPods", () => {
  test("exactly the ready endpoints hold; one more, one less, NXDOMAIN or none to compare fail", () => {
    const ready = ["10.244.0.2", "10.244.1.2"];
    expect(headlessResolvesToReadyPods("default/h", ready, ok(lookup({ answers: a(...ready) }))).ok).toBe(
      true,
    );
    expect(headlessResolvesToReadyPods("default/h", ready, ok(lookup({ answers: a("10.244.0.2") }))).ok).toBe(
      false,
    );
    expect(
      headlessResolvesToReadyPods("default/h", ready, ok(lookup({ answers: a(...ready, "10.244.2.9") }))).ok,
    ).toBe(false);
    expect(headlessResolvesToReadyPods("default/h", ready, ok(lookup({ rcode: "NXDOMAIN" }))).ok).toBe(false);
    expect(headlessResolvesToReadyPods("default/h", [], ok(lookup({ rcode: "NXDOMAIN" }))).ok).toBe(false);
    expect(headlessResolvesToReadyPods("default/h", ready, err("timed out")).evidence).toBe("timed out");
  });
});

describe("srvAndPtrAnswer and forwardsOutsideNames", () => {
  const srv = (data: string) => ok(lookup({ type: "SRV", answers: [{ name: "s", type: "SRV", data }] }));
  const portTarget = (d: string) => d.split(" ").slice(2).join(" ");

  test("expected answers hold after normalising; a wrong port or a refusal fails", () => {
    const good = { what: "SRV s", expected: ["80 echo.default.svc.cluster.local"], normalize: portTarget };
    expect(srvAndPtrAnswer([{ ...good, lookup: srv("0 100 80 echo.default.svc.cluster.local") }]).ok).toBe(
      true,
    );
    expect(srvAndPtrAnswer([{ ...good, lookup: srv("0 100 81 echo.default.svc.cluster.local") }]).ok).toBe(
      false,
    );
    expect(srvAndPtrAnswer([{ ...good, lookup: ok(lookup({ type: "SRV", rcode: "REFUSED" })) }]).ok).toBe(
      false,
    );
    expect(srvAndPtrAnswer([]).ok).toBe(false);
  });

  test("forwarding needs both the address through glibc and the TXT through the pod's nameserver", () => {
    const glibc = { pod: "p", name: "www.example.test", expected: ["203.0.113.100"] };
    const txt = { what: "TXT lab.example.test", expected: ["podnet lab upstream"] };
    const txtAnswer = ok(
      lookup({
        type: "TXT",
        authoritative: false,
        answers: [{ name: "t", type: "TXT", data: "podnet lab upstream" }],
      }),
    );
    expect(
      forwardsOutsideNames({ ...glibc, outcome: ok(["203.0.113.100"]) }, { ...txt, lookup: txtAnswer }).ok,
    ).toBe(true);
    const refused = ok(lookup({ type: "TXT", rcode: "SERVFAIL" }));
    expect(
      forwardsOutsideNames({ ...glibc, outcome: ok(["203.0.113.100"]) }, { ...txt, lookup: refused }).ok,
    ).toBe(false);
    expect(
      forwardsOutsideNames({ ...glibc, outcome: err("glibc did not resolve") }, { ...txt, lookup: txtAnswer })
        .ok,
    ).toBe(false);
  });
});

describe("DNS in a dual lab (AAAA)", () => {
  const full = "echo.default.svc.cluster.local";
  const headless = "echo-headless.default.svc.cluster.local";
  const ptrName = "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa";
  const aaaa = (...ips: string[]) => ips.map((ip) => ({ name: full, type: "AAAA", data: ip }));
  const answers = (v6: string[]) => [
    {
      what: `A ${full}`,
      expected: ["10.96.0.11"],
      lookup: ok(lookup({ name: full, answers: a("10.96.0.11") })),
    },
    {
      what: `AAAA ${full}`,
      expected: ["fd00:10:96::a"],
      lookup: ok(lookup({ name: full, type: "AAAA", answers: aaaa(...v6) })),
    },
    {
      what: `PTR ${ptrName}`,
      expected: [full],
      lookup: ok(
        lookup({ name: ptrName, type: "PTR", answers: [{ name: ptrName, type: "PTR", data: `${full}.` }] }),
      ),
      normalize: (d: string) => d.replace(/\.$/, ""),
    },
  ];
  const ready = ["fd00:10:244:1::2", "fd00:10:244:2::2"];
  const glibc = (got: string[]) => ({ pod: "node1-a", name: headless, expected: ready, outcome: ok(got) });

  test("both ClusterIPs, the headless Service's IPv6 pods and the ip6.arpa PTR hold", () => {
    const v = resolvesBothFamilies(answers(["fd00:10:96::a"]), glibc(ready));
    expect(v).toEqual({
      ok: true,
      claim: DNS_AAAA_CLAIM,
      evidence: `${full} A → NOERROR aa 10.96.0.11; ${full} AAAA → NOERROR aa fd00:10:96::a; ${ptrName} PTR → NOERROR aa ${full}.; node1-a: ${headless} → fd00:10:244:1::2,fd00:10:244:2::2`,
    });
  });

  test("a Service answering no AAAA fails, and so does a headless name whose glibc answer has only IPv4-mapped addresses (filtered to nothing)", () => {
    const noAAAA = resolvesBothFamilies(answers([]), glibc(ready));
    expect(noAAAA.ok).toBe(false);
    expect(noAAAA.evidence).toBe(`AAAA ${full}: ${full} AAAA → NOERROR aa, expected fd00:10:96::a`);
    const mapped = resolvesBothFamilies(answers(["fd00:10:96::a"]), glibc([]));
    expect(mapped.evidence).toBe(`node1-a resolved ${headless} to nothing, not ${ready.join(",")}`);
  });

  test("a headless Service without ready IPv6 endpoints proves nothing", () => {
    const v = resolvesBothFamilies(answers(["fd00:10:96::a"]), { ...glibc([]), expected: [] });
    expect(v.ok).toBe(false);
    expect(v.evidence).toBe(`${headless} has no ready IPv6 endpoint: nothing to compare`);
  });

  test("forwarding in a dual lab also needs the outside name's AAAA", () => {
    const g = { pod: "p", name: "www.example.test", expected: ["192.0.2.100"], outcome: ok(["192.0.2.100"]) };
    const txt = {
      what: "TXT lab.example.test",
      expected: ["podnet lab upstream"],
      lookup: ok(lookup({ type: "TXT", answers: [{ name: "t", type: "TXT", data: "podnet lab upstream" }] })),
    };
    const v6 = (data: string[]) => ({
      what: "AAAA www.example.test",
      expected: ["2001:db8:3::100"],
      lookup: ok(
        lookup({
          name: "www.example.test",
          type: "AAAA",
          authoritative: false,
          answers: data.map((d) => ({ name: "w", type: "AAAA", data: d })),
        }),
      ),
    });
    expect(forwardsOutsideNames(g, txt, v6(["2001:db8:3::100"])).ok).toBe(true);
    const none = forwardsOutsideNames(g, txt, v6([]));
    expect(none.ok).toBe(false);
    expect(none.evidence).toBe(
      "AAAA www.example.test: www.example.test AAAA → NOERROR, expected 2001:db8:3::100",
    );
  });
});

describe("serviceChangesAnswered", () => {
  const base = {
    service: "lab-check-dns.default.svc.cluster.local",
    clusterIP: "10.96.0.30",
    lastAfterCreate: ok(lookup({ answers: a("10.96.0.30") })),
    lastAfterDelete: ok(lookup({ rcode: "NXDOMAIN" })),
    limitMs: 3000,
  };

  test("both changes seen within the limit hold, with the times measured", () => {
    const v = serviceChangesAnswered({ ...base, answeredAfterMs: 40, nxdomainAfterMs: 120 });
    expect(v.ok).toBe(true);
    expect(v.evidence).toContain("40 ms after its creation, NXDOMAIN 120 ms after its deletion");
  });

  test("a change never seen fails with the last answer", () => {
    const v = serviceChangesAnswered({
      ...base,
      answeredAfterMs: 40,
      nxdomainAfterMs: undefined,
      lastAfterDelete: ok(lookup({ answers: a("10.96.0.30") })),
    });
    expect(v.ok).toBe(false);
    expect(v.evidence).toContain(
      "did not answer NXDOMAIN within 3000 ms (last: x A → NOERROR aa 10.96.0.30)",
    );
    expect(serviceChangesAnswered({ ...base, answeredAfterMs: undefined, nxdomainAfterMs: 5 }).ok).toBe(
      false,
    );
  });
});
