import { describe, expect, test } from "bun:test";
import type { Service } from "../k8s/service-model.ts";
import { InvalidServiceRecordError } from "./service-errors.ts";
import { encodeService, parseServiceRecord, serviceRecordKey } from "./service-record.ts";

const KEY = serviceRecordKey("default", "db");
const headless: Service = {
  namespace: "default",
  name: "db",
  headless: true,
  clusterIPs: [],
  ports: [{ name: "pg", protocol: "TCP", port: 5432, targetPort: 5432 }],
  sessionAffinity: { kind: "None" },
  selector: { app: "db" },
};
/** A record as podnet wrote it before headless Services existed. */
const OLD =
  '{"namespace":"default","name":"db","clusterIPs":["10.96.0.10"],"ports":[{"protocol":"TCP","port":80,"targetPort":8080}],"sessionAffinity":{"kind":"None"},"selector":{"app":"db"}}';

function refusal(record: Record<string, unknown>): string {
  try {
    parseServiceRecord(KEY, JSON.stringify(record));
  } catch (e) {
    if (e instanceof InvalidServiceRecordError) return e.reason;
    throw e;
  }
  throw new Error("expected an InvalidServiceRecordError");
}

describe("Service records", () => {
  test("a headless Service is stored as headless: true with no ClusterIPs, and read back the same", () => {
    const text = encodeService(headless);
    expect(JSON.parse(text)).toMatchObject({ headless: true, clusterIPs: [] });
    expect(parseServiceRecord(KEY, text)).toEqual(headless);
    const portless = { ...headless, ports: [] };
    expect(parseServiceRecord(KEY, encodeService(portless))).toEqual(portless);
  });

  test("records written before headless Services are read as before and written back byte for byte", () => {
    const service = parseServiceRecord(KEY, OLD);
    expect(service.headless).toBeUndefined();
    expect(service.clusterIPs).toEqual(["10.96.0.10"]);
    expect(encodeService(service)).toBe(OLD);
  });

  test("a record that is half headless is refused, naming what is wrong", () => {
    const old = JSON.parse(OLD) as Record<string, unknown>;
    const record = JSON.parse(encodeService(headless)) as Record<string, unknown>;
    expect(refusal({ ...old, clusterIPs: [] })).toBe("clusterIPs must be a non-empty list of addresses");
    expect(refusal({ ...old, headless: true })).toBe(
      "clusterIPs of a headless Service must be an empty list",
    );
    expect(refusal({ ...record, clusterIPs: undefined })).toBe(
      "clusterIPs of a headless Service must be an empty list",
    );
    expect(refusal({ ...old, headless: false })).toBe("headless is false: it is true or left out");
    expect(refusal({ ...record, ports: [{ port: 5432, nodePort: 30080 }] })).toBe(
      "ports[0].nodePort is 30080: a headless Service has no NodePorts (there is no ClusterIP to forward them to)",
    );
    expect(refusal({ ...old, ports: [] })).toBe("ports must list at least one port");
  });
});

describe("Service records: address families", () => {
  const dual: Service = {
    namespace: "default",
    name: "db",
    clusterIPs: ["fd00:10:96::a", "10.96.0.10"],
    ipFamilies: ["IPv6", "IPv4"],
    ipFamilyPolicy: "PreferDualStack",
    ports: [{ protocol: "TCP", port: 80, targetPort: 8080 }],
    sessionAffinity: { kind: "None" },
    selector: { app: "db" },
  };
  const record = JSON.parse(encodeService(dual)) as Record<string, unknown>;

  test("ipFamilies and ipFamilyPolicy are stored and read back; an older record has neither", () => {
    expect(record).toMatchObject({ ipFamilies: ["IPv6", "IPv4"], ipFamilyPolicy: "PreferDualStack" });
    expect(parseServiceRecord(KEY, encodeService(dual))).toEqual(dual);
    const old = parseServiceRecord(KEY, OLD);
    expect([old.ipFamilies, old.ipFamilyPolicy]).toEqual([undefined, undefined]);
    const bare = {
      ...headless,
      ipFamilies: ["IPv4", "IPv6"] as const,
      ipFamilyPolicy: "RequireDualStack" as const,
    };
    expect(parseServiceRecord(KEY, encodeService(bare))).toEqual(bare);
  });

  test("families that do not match the ClusterIPs or the policy are refused, naming the field", () => {
    expect(refusal({ ...record, ipFamilies: ["IPv4", "IPv6"] })).toBe(
      "clusterIPs fd00:10:96::a,10.96.0.10 are not one per family of ipFamilies IPv4,IPv6, in order",
    );
    expect(refusal({ ...record, ipFamilies: ["IPv6"] })).toBe(
      "clusterIPs fd00:10:96::a,10.96.0.10 are not one per family of ipFamilies IPv6, in order",
    );
    expect(refusal({ ...record, ipFamilyPolicy: "SingleStack" })).toBe(
      "ipFamilies IPv6,IPv4 do not fit ipFamilyPolicy SingleStack",
    );
    expect(refusal({ ...record, ipFamilyPolicy: undefined })).toBe(
      "ipFamilyPolicy is undefined: SingleStack, PreferDualStack or RequireDualStack",
    );
    expect(refusal({ ...record, ipFamilies: undefined })).toBe(
      "ipFamilies is undefined: one or two of IPv4, IPv6, each once",
    );
    expect(refusal({ ...record, ipFamilies: ["IPv6", "IPv6"] })).toBe(
      'ipFamilies is ["IPv6","IPv6"]: one or two of IPv4, IPv6, each once',
    );
    expect(refusal({ ...record, ipFamilyPolicy: "Dual" })).toBe(
      'ipFamilyPolicy is "Dual": SingleStack, PreferDualStack or RequireDualStack',
    );
  });
});
