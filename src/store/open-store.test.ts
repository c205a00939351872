import { describe, expect, test } from "bun:test";
import { DatastoreSpecError, parseDatastoreSpec } from "./open-store.ts";

describe("parseDatastoreSpec", () => {
  test("reads sqlite paths and etcd member lists", () => {
    expect(parseDatastoreSpec("sqlite:/var/lib/podnet/store.db")).toEqual({
      kind: "sqlite",
      path: "/var/lib/podnet/store.db",
    });
    expect(parseDatastoreSpec("sqlite:///var/lib/podnet/store.db")).toEqual({
      kind: "sqlite",
      path: "/var/lib/podnet/store.db",
    });
    expect(parseDatastoreSpec("etcd://127.0.0.1:2379")).toEqual({
      kind: "etcd",
      endpoints: ["127.0.0.1:2379"],
    });
    expect(parseDatastoreSpec("etcd://etcd-0.cluster.local:2379,10.0.0.2:12379,[fd00::1]:2379")).toEqual({
      kind: "etcd",
      endpoints: ["etcd-0.cluster.local:2379", "10.0.0.2:12379", "[fd00::1]:2379"],
    });
  });

  const refused: ReadonlyArray<[string, RegExp]> = [
    ["", /use sqlite:PATH or etcd:\/\//],
    ["mysql://x", /use sqlite:PATH or etcd:\/\//],
    ["sqlite:", /no path/],
    ["sqlite:store.db", /"store.db" is not absolute/],
    ["sqlite:/var/../etc/x.db", /contains "\.\."/],
    ["sqlite:/var/x\0.db", /NUL/],
    ["sqlite://host/x.db", /ABSOLUTE/],
    ["etcd://", /no HOST:PORT/],
    ["etcd://127.0.0.1", /"127.0.0.1" is not HOST:PORT/],
    ["etcd://127.0.0.1:0", /port "0" of "127.0.0.1:0"/],
    ["etcd://127.0.0.1:65536", /port "65536"/],
    ["etcd://127.0.0.1:2379,", /empty endpoint/],
    ["etcd://127.0.0.1:2379,127.0.0.1:2379", /listed twice/],
    ["etcd://300.0.0.1:2379", /host "300.0.0.1"/],
    ["etcd://bad_host:2379", /host "bad_host"/],
    ["etcd://[zz::1]:2379", /host "\[zz::1\]" .* not an IPv6/],
    ["etcd://127.0.0.1:2379/v3", /no path/],
    ["etcd://user@127.0.0.1:2379", /no path, user/],
    ["etcds://127.0.0.1:2379", /TLS/],
  ];
  for (const [spec, message] of refused) {
    test(`refuses ${JSON.stringify(spec)} naming the bad part`, () => {
      let error: unknown;
      try {
        parseDatastoreSpec(spec);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DatastoreSpecError);
      expect(String(error)).toMatch(message);
    });
  }
});
