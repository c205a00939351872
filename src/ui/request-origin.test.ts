import { describe, expect, test } from "bun:test";
import { isSameOriginFetch, originRefusal } from "./request-origin.ts";

const req = (headers: Record<string, string>) => new Request("http://127.0.0.1:7474/api/map", { headers });

describe("originRefusal", () => {
  test("loopback: the listen address, localhost, 127.0.0.1 and [::1] with the port", () => {
    for (const host of ["127.0.0.1:7474", "localhost:7474", "[::1]:7474", "LOCALHOST:7474"])
      expect(originRefusal(req({ host }), "127.0.0.1", 7474)).toBeUndefined();
    expect(originRefusal(req({ host: "127.0.0.2:7474" }), "127.0.0.2", 7474)).toBeUndefined();
    // The lab relays 127.0.0.2 of the root namespace to node1's 127.0.0.1.
    expect(originRefusal(req({ host: "127.0.0.2:7474" }), "127.0.0.1", 7474)).toBeUndefined();
  });

  test("a rebound name, another port or no Host is refused", () => {
    expect(originRefusal(req({ host: "evil.example:7474" }), "127.0.0.1", 7474)).toContain("evil.example");
    expect(originRefusal(req({ host: "127.0.0.1.nip.io:7474" }), "127.0.0.1", 7474)).toContain(
      "not this server",
    );
    expect(originRefusal(req({ host: "192.0.2.1:7474" }), "127.0.0.1", 7474)).toContain("not this server");
    expect(originRefusal(req({ host: "127.0.0.1:80" }), "127.0.0.1", 7474)).toContain("not this server");
    expect(originRefusal(new Request("http://x/"), "127.0.0.1", 7474)).toContain("not this server");
  });

  test("beyond loopback only the listen address (a wildcard: any IP literal)", () => {
    expect(originRefusal(req({ host: "192.0.2.1:7474" }), "192.0.2.1", 7474)).toBeUndefined();
    expect(originRefusal(req({ host: "localhost:7474" }), "192.0.2.1", 7474)).toContain("not this server");
    expect(originRefusal(req({ host: "[2001:db8::1]:7474" }), "2001:db8::1", 7474)).toBeUndefined();
    expect(originRefusal(req({ host: "198.51.100.4:7474" }), "0.0.0.0", 7474)).toBeUndefined();
    expect(originRefusal(req({ host: "evil.example:7474" }), "0.0.0.0", 7474)).toContain("not this server");
  });

  test("cross-origin and cross-site requests are refused; same-origin and none pass", () => {
    const host = "127.0.0.1:7474";
    expect(originRefusal(req({ host, origin: "http://127.0.0.1:7474" }), "127.0.0.1", 7474)).toBeUndefined();
    expect(originRefusal(req({ host, origin: "https://evil.example" }), "127.0.0.1", 7474)).toContain(
      "cross-origin",
    );
    expect(originRefusal(req({ host, origin: "null" }), "127.0.0.1", 7474)).toContain("cross-origin");
    expect(originRefusal(req({ host, "sec-fetch-site": "cross-site" }), "127.0.0.1", 7474)).toContain(
      "cross-site",
    );
    expect(originRefusal(req({ host, "sec-fetch-site": "same-site" }), "127.0.0.1", 7474)).toContain(
      "cross-site",
    );
    expect(originRefusal(req({ host, "sec-fetch-site": "same-origin" }), "127.0.0.1", 7474)).toBeUndefined();
    expect(originRefusal(req({ host, "sec-fetch-site": "none" }), "127.0.0.1", 7474)).toBeUndefined();
  });

  test("isSameOriginFetch", () => {
    expect(isSameOriginFetch(req({ "sec-fetch-site": "same-origin" }))).toBe(true);
    expect(isSameOriginFetch(req({}))).toBe(false);
  });
});
