import { describe, expect, test } from "bun:test";
import { parseArgs } from "./args.ts";
import {
  parseAffinity,
  parseIpFamilies,
  parseIpFamilyPolicy,
  parsePortSpec,
  parseSelector,
  parseServiceRef,
  ServiceArgumentError,
  serviceInputFromArgs,
  withHeadlessValue,
} from "./service-args.ts";

describe("parsePortSpec", () => {
  test("every form of [NAME:]PORT[:TARGET][/PROTO][:nodeport=N|auto]", () => {
    const cases: [string, object][] = [
      ["80", { port: 80 }],
      ["80:8080", { port: 80, targetPort: 8080 }],
      ["http:80", { name: "http", port: 80 }],
      ["http:80:8080", { name: "http", port: 80, targetPort: 8080 }],
      ["53/udp", { port: 53, protocol: "UDP" }],
      ["dns:53:5353/UDP", { name: "dns", port: 53, targetPort: 5353, protocol: "UDP" }],
      ["80:nodeport=30080", { port: 80, nodePort: 30080 }],
      ["80/sctp:nodeport=auto", { port: 80, protocol: "SCTP", nodePort: "auto" }],
      [
        "web:443:8443/tcp:nodeport=AUTO",
        { name: "web", port: 443, targetPort: 8443, protocol: "TCP", nodePort: "auto" },
      ],
    ];
    for (const [spec, want] of cases)
      expect(parsePortSpec(spec)).toEqual(want as ReturnType<typeof parsePortSpec>);
  });

  test("bad specs are refused with the spec and the reason", () => {
    const cases: [string, string][] = [
      ["", 'port "" is not a port number'],
      ["http", 'port "http" is not a port number'],
      ["0", "from 1 to 65535"],
      ["65536", "from 1 to 65535"],
      ["80:0", 'target port "0"'],
      ["80/icmp", 'protocol "icmp" is not one of TCP, UDP, SCTP'],
      ["80:nodeport=", 'nodeport must be a number or "auto"'],
      ["80:nodeport=x1", 'nodeport must be a number or "auto"'],
      ["a:1:2:3", "use [NAME:]PORT"],
      [":80", "the port name is empty"],
    ];
    for (const [spec, reason] of cases) {
      const e = (() => {
        try {
          parsePortSpec(spec);
        } catch (x) {
          return x;
        }
      })();
      expect(e).toBeInstanceOf(ServiceArgumentError);
      expect((e as Error).message).toStartWith(`--port "${spec}": `);
      expect((e as Error).message).toContain(reason);
    }
  });
});

describe("other arguments", () => {
  test("selectors, affinity and references", () => {
    expect(parseSelector(["app=web,tier=front", "env="])).toEqual({ app: "web", tier: "front", env: "" });
    expect(() => parseSelector(["app"])).toThrow('--selector "app": use KEY=VALUE');
    expect(() => parseSelector(["app=a", "app=b"])).toThrow("given twice");
    expect(parseAffinity("None")).toEqual({ kind: "None" });
    expect(parseAffinity("clientip")).toEqual({ kind: "ClientIP" });
    expect(parseAffinity("ClientIP:60")).toEqual({ kind: "ClientIP", timeoutSeconds: 60 });
    expect(() => parseAffinity("ClientIP:1h")).toThrow("not a number of seconds");
    expect(() => parseAffinity("Cookie")).toThrow("use None, ClientIP or ClientIP:SECONDS");
    expect(parseServiceRef("kube-system/dns")).toEqual({ namespace: "kube-system", name: "dns" });
    expect(parseServiceRef("web")).toEqual({ namespace: "default", name: "web" });
    expect(() => parseServiceRef("a/b/c")).toThrow("use NAMESPACE/NAME");
    expect(() => parseServiceRef("/b")).toThrow("use NAMESPACE/NAME");
  });
});

describe("headless", () => {
  const input = (argv: string[]) => {
    const args = parseArgs(withHeadlessValue(argv), ["json"]);
    return serviceInputFromArgs(args.positionals[0] ?? "", args);
  };

  test("--headless stands without a value anywhere on the line; --cluster-ip None means the same", () => {
    expect(input(["--headless", "default/db", "--port", "5432"])).toEqual({
      namespace: "default",
      name: "db",
      headless: true,
      ports: [{ port: 5432 }],
    });
    expect(input(["db", "--port", "5432", "--headless"]).headless).toBe(true);
    expect(input(["db", "--cluster-ip", "None", "--port", "5432"]).headless).toBe(true);
    expect(input(["db", "--port", "5432"]).headless).toBeUndefined();
    // After a bare "--" nothing is a flag any more.
    expect(withHeadlessValue(["db", "--", "--headless"])).toEqual(["db", "--", "--headless"]);
  });

  test("a headless Service may have no port; any other needs one", () => {
    expect(input(["db", "--headless", "--selector", "app=db"])).toEqual({
      namespace: "default",
      name: "db",
      headless: true,
      ports: [],
      selector: { app: "db" },
    });
    expect(() => input(["db", "--selector", "app=db"])).toThrow(
      "give at least one --port (only a headless Service may have none)",
    );
  });

  test("None with an address, or a value for --headless, is refused naming both", () => {
    expect(() => input(["db", "--cluster-ip", "None", "--cluster-ip", "10.96.0.10"])).toThrow(
      "--cluster-ip None makes the Service headless; it cannot also have --cluster-ip 10.96.0.10",
    );
    expect(() => input(["db", "--headless=yes"])).toThrow('--headless takes no value, not "yes"');
    expect(() => input(["db", "--headless=yes"])).toThrow(ServiceArgumentError);
  });
});

describe("address families", () => {
  const input = (argv: string[]) => {
    const args = parseArgs(withHeadlessValue(argv), ["json"]);
    return serviceInputFromArgs(args.positionals[0] ?? "", args);
  };

  test("--ip-family-policy and --ip-family (repeatable or a list, primary first) take kubectl's words in any case", () => {
    expect(input(["web", "--port", "80", "--ip-family-policy", "preferdualstack"])).toEqual({
      namespace: "default",
      name: "web",
      ports: [{ port: 80 }],
      ipFamilyPolicy: "PreferDualStack",
    });
    expect(input(["web", "--port", "80", "--ip-family", "IPv6", "--ip-family", "ipv4"]).ipFamilies).toEqual([
      "IPv6",
      "IPv4",
    ]);
    expect(input(["web", "--port", "80", "--ip-family", "IPv4,IPv6"]).ipFamilies).toEqual(["IPv4", "IPv6"]);
    expect(parseIpFamilyPolicy("RequireDualStack")).toBe("RequireDualStack");
    expect(parseIpFamilies([])).toEqual([]);
  });

  test("unknown words, a repeated family and a repeated policy are refused naming the flag", () => {
    expect(() => parseIpFamilyPolicy("Dual")).toThrow(
      '--ip-family-policy "Dual": use SingleStack, PreferDualStack, RequireDualStack',
    );
    expect(() => parseIpFamilies(["IPv5"])).toThrow('--ip-family "IPv5": use IPv4 or IPv6');
    expect(() => parseIpFamilies(["IPv4", "ipv4"])).toThrow("--ip-family IPv4 is given twice");
    expect(() => input(["web", "--port", "80", "--ip-family", "inet6"])).toThrow(ServiceArgumentError);
    expect(() =>
      input([
        "web",
        "--port",
        "80",
        "--ip-family-policy",
        "SingleStack",
        "--ip-family-policy",
        "PreferDualStack",
      ]),
    ).toThrow("--ip-family-policy given more than once");
  });
});
