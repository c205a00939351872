import { describe, expect, test } from "bun:test";
import { cniFailure } from "../../test/support/cni-fixtures.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import {
  checkCniArgs,
  ignoresUnknownArgs,
  parseCniArgs,
  parseEnvironment,
  validateContainerId,
  validateIfname,
  validateNetnsPath,
} from "./env.ts";
import { CniError } from "./errors.ts";

const ID = "3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755";
const ADD_ENV = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: ID,
  CNI_NETNS: "/var/run/netns/cni-1234",
  CNI_IFNAME: "eth0",
  CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0",
  CNI_PATH: "/opt/cni/bin:/usr/lib/cni",
};

describe("parseEnvironment", () => {
  test("reads a Kubernetes-style ADD", () => {
    expect(parseEnvironment(ADD_ENV)).toEqual({
      command: "ADD",
      containerId: ID,
      netns: "/var/run/netns/cni-1234",
      ifname: "eth0",
      args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: "web-0" },
      path: ["/opt/cni/bin", "/usr/lib/cni"],
    });
  });

  test("ADD and CHECK require CONTAINERID, NETNS and IFNAME", () => {
    for (const command of ["ADD", "CHECK"]) {
      for (const variable of ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"]) {
        const e = cniFailure(() =>
          parseEnvironment({ ...ADD_ENV, CNI_COMMAND: command, [variable]: undefined }),
        );
        expect(e.code).toBe(4);
        expect(e.message).toBe(`Invalid ${variable}: is required for ${command} but not set`);
        expect(
          cniFailure(() => parseEnvironment({ ...ADD_ENV, CNI_COMMAND: command, [variable]: "" })).code,
        ).toBe(4);
      }
    }
  });

  test("DEL may have an empty or missing NETNS but needs CONTAINERID and IFNAME", () => {
    expect(parseEnvironment({ ...ADD_ENV, CNI_COMMAND: "DEL", CNI_NETNS: "" }).netns).toBe("");
    expect(parseEnvironment({ ...ADD_ENV, CNI_COMMAND: "DEL", CNI_NETNS: undefined }).netns).toBe("");
    expect(parseEnvironment({ ...ADD_ENV, CNI_COMMAND: "DEL" }).netns).toBe("/var/run/netns/cni-1234");
    expect(
      cniFailure(() => parseEnvironment({ ...ADD_ENV, CNI_COMMAND: "DEL", CNI_IFNAME: "" })).message,
    ).toContain("CNI_IFNAME");
    expect(
      cniFailure(() => parseEnvironment({ ...ADD_ENV, CNI_COMMAND: "DEL", CNI_CONTAINERID: "" })).code,
    ).toBe(4);
    expect(
      cniFailure(() => parseEnvironment({ ...ADD_ENV, CNI_COMMAND: "DEL", CNI_NETNS: "relative" })).code,
    ).toBe(4);
  });

  test("GC needs only CNI_PATH, and ignores the per-container variables", () => {
    const gc = parseEnvironment({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin", CNI_ARGS: "garbage" });
    expect(gc).toEqual({
      command: "GC",
      containerId: "",
      netns: "",
      ifname: "",
      args: {},
      path: ["/opt/cni/bin"],
    });
    const e = cniFailure(() => parseEnvironment({ CNI_COMMAND: "GC" }));
    expect(e.code).toBe(4);
    expect(e.message).toBe("Invalid CNI_PATH: is required for GC but not set");
    expect(cniFailure(() => parseEnvironment({ CNI_COMMAND: "GC", CNI_PATH: ":" })).message).toContain(
      "CNI_PATH",
    );
  });

  test("STATUS and VERSION need only the command and survive a bad CNI_ARGS", () => {
    for (const command of ["STATUS", "VERSION"]) {
      const inv = parseEnvironment({ CNI_COMMAND: command, CNI_ARGS: "A" });
      expect(inv.command).toBe(command as "STATUS");
      expect(inv.args).toEqual({});
    }
    expect(parseEnvironment({ CNI_COMMAND: "STATUS", CNI_PATH: "/a::/b" }).path).toEqual(["/a", "/b"]);
  });

  test("a missing or unknown command is code 4 naming CNI_COMMAND", () => {
    expect(cniFailure(() => parseEnvironment({})).message).toBe("Invalid CNI_COMMAND: is not set");
    const e = cniFailure(() => parseEnvironment({ CNI_COMMAND: "add" }));
    expect(e.code).toBe(4);
    expect(e.message).toBe('Invalid CNI_COMMAND: "add" is not one of ADD, DEL, CHECK, STATUS, VERSION, GC');
    expect(cniFailure(() => parseEnvironment({ CNI_COMMAND: "INIT" })).code).toBe(4);
  });

  test("invalid values are code 4 naming the variable", () => {
    const cases: [string, string][] = [
      ["CNI_CONTAINERID", "-leading-dash"],
      ["CNI_IFNAME", "eth 0"],
      ["CNI_NETNS", "/var/run/../netns/x"],
      ["CNI_ARGS", "A"],
    ];
    for (const [variable, value] of cases) {
      const e = cniFailure(() => parseEnvironment({ ...ADD_ENV, [variable]: value }));
      expect(e.code).toBe(4);
      expect(e.message.startsWith(`Invalid ${variable}: `)).toBe(true);
    }
  });
});

describe("parseCniArgs", () => {
  test("empty input and stray separators give no arguments", () => {
    expect(parseCniArgs("")).toEqual({});
    expect(parseCniArgs(";;")).toEqual({});
    expect(parseCniArgs("A=1;")).toEqual({ A: "1" });
  });

  test("keeps IgnoreUnknown and the Kubernetes keys, values may be empty", () => {
    expect(parseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=x;K8S_POD_UID=")).toEqual({
      IgnoreUnknown: "1",
      K8S_POD_NAME: "x",
      K8S_POD_UID: "",
    });
    expect(parseCniArgs("IP=10.0.0.5,fd00::5")).toEqual({ IP: "10.0.0.5,fd00::5" });
  });

  test("refuses malformed pairs with code 4", () => {
    for (const bad of ["A", "A=1;B", "=1", "A=1=2", "A B=1"]) {
      const e = cniFailure(() => parseCniArgs(bad));
      expect(e.code).toBe(4);
      expect(e.message).toStartWith("Invalid CNI_ARGS: ");
    }
    expect(cniFailure(() => parseCniArgs("A")).message).toBe(
      'Invalid CNI_ARGS: pair "A" is not of the form KEY=VALUE',
    );
    expect(cniFailure(() => parseCniArgs("IP=1.2.3.4;IP=1.2.3.5")).message).toContain(
      'key "IP" appears more than once',
    );
  });

  test("round-trips random argument sets", () => {
    const rand = mulberry32(7);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.,/:";
    const word = (min: number, max: number): string => {
      const n = min + Math.floor(rand() * (max - min + 1));
      let s = "";
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
      return s;
    };
    for (let i = 0; i < 300; i++) {
      const args: Record<string, string> = {};
      const count = Math.floor(rand() * 6);
      for (let k = 0; k < count; k++) args[word(1, 12)] = word(0, 20);
      const text = Object.entries(args)
        .map(([k, v]) => `${k}=${v}`)
        .join(";");
      expect(parseCniArgs(text)).toEqual(args);
    }
  });
});

describe("checkCniArgs", () => {
  test("refuses unknown keys unless IgnoreUnknown is set", () => {
    expect(() => checkCniArgs({ IP: "10.0.0.5" }, ["IP"])).not.toThrow();
    const e = cniFailure(() => checkCniArgs({ IP: "10.0.0.5", FOO: "1" }, ["IP"]));
    expect(e.code).toBe(4);
    expect(e.message).toContain('unknown key "FOO"');
    expect(() => checkCniArgs({ FOO: "1", IgnoreUnknown: "1" }, [])).not.toThrow();
    expect(() => checkCniArgs({ FOO: "1", IgnoreUnknown: "true" }, [])).not.toThrow();
    expect(() => checkCniArgs({ FOO: "1", IgnoreUnknown: "0" }, [])).toThrow(CniError);
    expect(ignoresUnknownArgs({ IgnoreUnknown: "TRUE" })).toBe(true);
    expect(ignoresUnknownArgs({})).toBe(false);
  });
});

describe("validateIfname", () => {
  test("accepts ordinary and 15-byte names", () => {
    for (const ok of ["eth0", "net1", "a", "abcdefghijklmno", "veth-1.2_x"])
      expect(validateIfname(ok)).toBe(ok);
  });

  test("refuses what the kernel refuses, with code 4 and the reason", () => {
    const cases: [string, string][] = [
      ["", "must not be empty"],
      ["a/b", 'must not contain "/"'],
      ["toolongname12345", "16 bytes long, longer than 15"],
      [".", "is not allowed"],
      ["..", "is not allowed"],
      ["eth 0", "must not contain whitespace"],
      ["eth\t0", "must not contain whitespace"],
      ["eth:0", 'must not contain ":"'],
      ["eth\u00000", "NUL"],
      ["ééééééééé", "18 bytes long"],
    ];
    for (const [name, reason] of cases) {
      const e = cniFailure(() => validateIfname(name));
      expect(e.code).toBe(4);
      expect(e.message).toStartWith("Invalid CNI_IFNAME: ");
      expect(e.message).toContain(reason);
    }
  });
});

describe("validateContainerId", () => {
  test("accepts the spec's alphabet", () => {
    for (const ok of [ID, "a", "0", "pod_1.a-b"]) expect(validateContainerId(ok)).toBe(ok);
    expect(validateContainerId("a".repeat(1024))).toHaveLength(1024);
  });

  test("refuses the rest with code 4", () => {
    for (const bad of ["", "-a", "_a", ".a", "a/b", "a b", "a:b", "a".repeat(1025)]) {
      const e = cniFailure(() => validateContainerId(bad));
      expect(e.code).toBe(4);
      expect(e.message).toStartWith("Invalid CNI_CONTAINERID: ");
    }
  });
});

describe("validateNetnsPath", () => {
  test("normalises doubled slashes, '.' and a trailing slash", () => {
    expect(validateNetnsPath("/var/run/netns/x")).toBe("/var/run/netns/x");
    expect(validateNetnsPath("//var//run/./netns/x/")).toBe("/var/run/netns/x");
    expect(validateNetnsPath("/proc/1234/ns/net")).toBe("/proc/1234/ns/net");
  });

  test("refuses relative paths, '..', NUL and the root", () => {
    const cases: [string, string][] = [
      ["", "must not be empty"],
      ["var/run/netns/x", "not an absolute path"],
      ["/var/run/netns/../../etc/passwd", 'must not contain ".."'],
      ["/var/run/netns/x\u0000y", "NUL"],
      ["/", "does not name a file"],
      [`/${"a".repeat(5000)}`, "longer than 4096"],
    ];
    for (const [p, reason] of cases) {
      const e = cniFailure(() => validateNetnsPath(p));
      expect(e.code).toBe(4);
      expect(e.message).toStartWith("Invalid CNI_NETNS: ");
      expect(e.message).toContain(reason);
    }
  });

  test("normalising is idempotent over random paths", () => {
    const rand = mulberry32(42);
    const parts = ["", ".", "a", "netns", "proc", "123", "ns", "net", "x.y"];
    for (let i = 0; i < 500; i++) {
      const n = 1 + Math.floor(rand() * 6);
      const segs = Array.from({ length: n }, () => parts[Math.floor(rand() * parts.length)]);
      const p = `/${segs.join("/")}`;
      let once: string;
      try {
        once = validateNetnsPath(p);
      } catch (error) {
        expect(error).toBeInstanceOf(CniError);
        continue;
      }
      expect(validateNetnsPath(once)).toBe(once);
      expect(once).not.toMatch(/\/\/|\/\.(\/|$)|.\/$/);
    }
  });
});
