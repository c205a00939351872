import { describe, expect, test } from "bun:test";
import {
  labelKeyProblem,
  labelsProblem,
  labelValueProblem,
  namespaceProblem,
  podNameProblem,
  portNameProblem,
  serviceNameProblem,
} from "./names.ts";

describe("namespaces (DNS-1123 labels)", () => {
  test("accepts lowercase alphanumerics with inner dashes, up to 63 characters", () => {
    for (const ok of ["default", "kube-system", "a", "1abc", "a".repeat(63)])
      expect(namespaceProblem(ok)).toBeUndefined();
  });

  test("names the reason for anything else", () => {
    expect(namespaceProblem("")).toBe("must not be empty");
    expect(namespaceProblem("a".repeat(64))).toContain("is longer than 63 characters");
    for (const bad of ["Default", "-a", "a-", "a.b", "a/b", "a_b"])
      expect(namespaceProblem(bad)).toBe(
        `${JSON.stringify(bad)} is not lowercase letters, digits and '-', starting and ending alphanumeric`,
      );
  });
});

describe("Service names (DNS-1035 labels)", () => {
  test("must start with a letter", () => {
    expect(serviceNameProblem("web")).toBeUndefined();
    expect(serviceNameProblem("web-2")).toBeUndefined();
    expect(serviceNameProblem("2web")).toContain("starting with a letter");
    expect(serviceNameProblem("a".repeat(64))).toContain("longer than 63");
  });
});

describe("port names", () => {
  test("are DNS-1123 labels with at least one letter", () => {
    expect(portNameProblem("http")).toBeUndefined();
    expect(portNameProblem("h2c-8080")).toBeUndefined();
    expect(portNameProblem("8080")).toBe('"8080" has no letter (it would read as a port number)');
    expect(portNameProblem("HTTP")).toContain("is not lowercase letters");
    expect(portNameProblem("")).toBe("must not be empty");
  });
});

describe("pod names", () => {
  test("accept Kubernetes names and CNI container IDs up to 253 characters", () => {
    for (const ok of ["web-1", "ctr-abc123", "Pod_1.a", "a".repeat(253)])
      expect(podNameProblem(ok)).toBeUndefined();
    expect(podNameProblem("a".repeat(254))).toContain("longer than 253");
    expect(podNameProblem("-web")).toContain("starting alphanumeric");
    expect(podNameProblem("a/b")).toContain("is not letters, digits");
  });
});

describe("labels", () => {
  test("keys: an optional DNS subdomain prefix, then a name of at most 63 characters", () => {
    for (const ok of ["app", "app.kubernetes.io/name", "example.com/tier_1", "A-b.c"])
      expect(labelKeyProblem(ok)).toBeUndefined();
    expect(labelKeyProblem("Example.com/app")).toBe('prefix "Example.com" is not a DNS subdomain');
    expect(labelKeyProblem(`${"a".repeat(254)}/app`)).toContain("prefix");
    expect(labelKeyProblem("/app")).toBe("prefix must not be empty");
    expect(labelKeyProblem("example.com/")).toBe("must not be empty");
    expect(labelKeyProblem("a".repeat(64))).toContain("longer than 63");
    expect(labelKeyProblem("-app")).toContain("is not alphanumeric");
  });

  test("values may be empty, otherwise like a key's name", () => {
    expect(labelValueProblem("")).toBeUndefined();
    expect(labelValueProblem("v1.2_beta-3")).toBeUndefined();
    expect(labelValueProblem("a b")).toContain("is not alphanumeric");
    expect(labelValueProblem("a".repeat(64))).toContain("longer than 63");
  });

  test("a label map reports its first problem with the key", () => {
    expect(labelsProblem({ app: "web", "app.kubernetes.io/part-of": "" })).toBeUndefined();
    expect(labelsProblem({})).toBeUndefined();
    for (const notMap of [null, [], "app=web", 3])
      expect(labelsProblem(notMap)).toBe("must be a map of label keys to values");
    expect(labelsProblem({ "-x": "a" })).toStartWith('key "-x": ');
    expect(labelsProblem({ app: 3 })).toBe('value of "app" must be a string');
    expect(labelsProblem({ app: "a b" })).toStartWith('value of "app": ');
  });
});
