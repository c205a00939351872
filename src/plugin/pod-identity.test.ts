import { describe, expect, test } from "bun:test";
import { cniFailure, podnetNetConf } from "../../test/support/cni-fixtures.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { containerIdProblem } from "../cni/env.ts";
import { ErrorCode } from "../cni/errors.ts";
import { namespaceProblem, podNameProblem } from "../k8s/names.ts";
import { DEFAULT_NAMESPACE, derivedPodName, parsePodLabels, podIdentity } from "./pod-identity.ts";

const conf = podnetNetConf;
const withLabels = (labels: unknown) => conf({ args: { cni: { labels } } });
const K8S = { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "shop", K8S_POD_NAME: "web-7d9f-x2x" };

const failure = (fn: () => unknown) => cniFailure(fn, "expected a CniError, but it was accepted");

describe("parsePodLabels (args.cni.labels, CNI CONVENTIONS)", () => {
  test("reads the key/value list in order, with prefixed keys and empty values", () => {
    const labels = parsePodLabels(
      withLabels([
        { key: "app", value: "web" },
        { key: "app.kubernetes.io/part-of", value: "shop" },
        { key: "canary", value: "" },
      ]),
    );
    expect(labels).toEqual({ app: "web", "app.kubernetes.io/part-of": "shop", canary: "" });
    expect(Object.keys(labels)).toEqual(["app", "app.kubernetes.io/part-of", "canary"]);
  });

  test("no args, no cni key, no labels key or null all mean no labels", () => {
    expect(parsePodLabels(conf())).toEqual({});
    expect(parsePodLabels(conf({ args: {} }))).toEqual({});
    expect(parsePodLabels(conf({ args: { cni: { ips: ["10.244.1.9"] } } }))).toEqual({});
    expect(parsePodLabels(withLabels(null))).toEqual({});
  });

  test.each([
    ["args.cni not an object", conf({ args: { cni: [] } }), '"args.cni" must be an object'],
    ["labels not a list", withLabels({ app: "web" }), '"args.cni.labels" must be an array'],
    ["an entry not an object", withLabels(["app=web"]), '"args.cni.labels[0]" must be an object'],
    ["a key not a string", withLabels([{ key: 5, value: "x" }]), '"args.cni.labels[0].key" must be a string'],
    ["a missing value", withLabels([{ key: "app" }]), '"args.cni.labels[0].value" must be a string'],
    ["an empty key", withLabels([{ key: "", value: "x" }]), '"args.cni.labels[0].key" must not be empty'],
    [
      "a key with a space",
      withLabels([
        { key: "app", value: "web" },
        { key: "my app", value: "x" },
      ]),
      '"args.cni.labels[1].key" "my app" is not alphanumeric',
    ],
    [
      "a bad key prefix",
      withLabels([{ key: "Example.COM/app", value: "x" }]),
      '"args.cni.labels[0].key" prefix',
    ],
    ["a value too long", withLabels([{ key: "app", value: "v".repeat(64) }]), '"args.cni.labels[0].value"'],
    ["a value with a slash", withLabels([{ key: "app", value: "a/b" }]), '"args.cni.labels[0].value" "a/b"'],
    [
      "a repeated key",
      withLabels([
        { key: "app", value: "web" },
        { key: "app", value: "db" },
      ]),
      '"args.cni.labels[1]" repeats the label key "app"',
    ],
  ])("refuses %s with code 7 naming the field", (_what, netconf, message) => {
    const e = failure(() => parsePodLabels(netconf));
    expect(e.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(e.message).toStartWith("Invalid network configuration: ");
    expect(e.message).toContain(message);
  });
});

describe("podIdentity", () => {
  test("takes namespace and name from CNI_ARGS and labels from the config", () => {
    const id = podIdentity(withLabels([{ key: "app", value: "web" }]), K8S, "abc123");
    expect(id).toEqual({ namespace: "shop", name: "web-7d9f-x2x", labels: { app: "web" } });
  });

  test("without K8S args (or with empty ones) the pod is default/ctr-<container>", () => {
    expect(podIdentity(conf(), {}, "abc123")).toEqual({
      namespace: DEFAULT_NAMESPACE,
      name: "ctr-abc123",
      labels: {},
    });
    const empty = { K8S_POD_NAMESPACE: "", K8S_POD_NAME: "" };
    expect(podIdentity(conf(), empty, "abc123")).toMatchObject({ namespace: "default", name: "ctr-abc123" });
    // Each key on its own: a name without namespace lives in "default".
    expect(podIdentity(conf(), { K8S_POD_NAME: "web" }, "abc")).toMatchObject({
      namespace: "default",
      name: "web",
    });
    expect(podIdentity(conf(), { K8S_POD_NAMESPACE: "shop" }, "abc")).toMatchObject({
      namespace: "shop",
      name: "ctr-abc",
    });
  });

  test.each([
    ["K8S_POD_NAMESPACE", { K8S_POD_NAMESPACE: "Shop" }, 'K8S_POD_NAMESPACE "Shop" is not lowercase'],
    ["K8S_POD_NAMESPACE", { K8S_POD_NAMESPACE: "a".repeat(64) }, "longer than 63 characters"],
    ["K8S_POD_NAME", { K8S_POD_NAME: "web/1" }, 'K8S_POD_NAME "web/1" is not'],
    ["K8S_POD_NAME", { K8S_POD_NAME: "-web" }, 'K8S_POD_NAME "-web" is not'],
  ])("refuses a bad %s with code 4", (_key, args, message) => {
    const e = failure(() => podIdentity(conf(), args, "abc"));
    expect(e.code).toBe(ErrorCode.InvalidEnvironment);
    expect(e.message).toStartWith("Invalid CNI_ARGS: ");
    expect(e.message).toContain(message);
  });

  test("CNI_ARGS are checked before the labels (both wrong: the environment is named)", () => {
    const e = failure(() =>
      podIdentity(withLabels([{ key: "", value: "" }]), { K8S_POD_NAMESPACE: "Bad" }, "abc"),
    );
    expect(e.code).toBe(ErrorCode.InvalidEnvironment);
  });
});

describe("derivedPodName", () => {
  test("a short lowercase container ID is kept whole", () => {
    expect(derivedPodName("0123456789ab")).toBe("ctr-0123456789ab");
    expect(derivedPodName("pntest-x1-c0")).toBe("ctr-pntest-x1-c0");
  });

  test("a Docker ID becomes its short ID and a hash, so IDs sharing a prefix stay apart", () => {
    const a = `0123456789ab${"c".repeat(52)}`;
    const b = `0123456789ab${"d".repeat(52)}`;
    expect(derivedPodName(a)).toMatch(/^ctr-0123456789ab-[0-9a-f]{8}$/);
    expect(derivedPodName(a)).not.toBe(derivedPodName(b));
    expect(derivedPodName("Pod_1.A")).toMatch(/^ctr-pod-1-a-[0-9a-f]{8}$/);
    // Case alone tells these IDs apart, so it must also tell their names apart.
    expect(derivedPodName("ABC")).not.toBe(derivedPodName("abc"));
  });

  test("property: every valid container ID gives a stable, valid, DNS-label pod name; distinct IDs differ", () => {
    const random = mulberry32(0x5eed_c0de);
    const first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const rest = `${first}_.-`;
    const pick = (chars: string) => chars[Math.floor(random() * chars.length)] as string;
    const seen = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const length = 1 + Math.floor(random() * (random() < 0.2 ? 200 : 70));
      let id = pick(first);
      for (let j = 1; j < length; j++) id += pick(random() < 0.7 ? "0123456789abcdef" : rest);
      expect(containerIdProblem(id)).toBeUndefined();
      const name = derivedPodName(id);
      expect(derivedPodName(id)).toBe(name);
      expect(podNameProblem(name)).toBeUndefined();
      // Also a DNS-1123 label (the namespace rule), as Kubernetes pod hostnames are.
      expect(namespaceProblem(name)).toBeUndefined();
      const other = seen.get(name);
      if (other !== undefined) expect(other).toBe(id);
      seen.set(name, id);
    }
  });
});
