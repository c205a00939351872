/** Neighbour and FDB parsing over real `ip -j neigh show` / `bridge -j fdb show` output from a scratch netns. */
import { describe, expect, test } from "bun:test";
import { InvalidInterfaceNameError } from "./kernel-read.ts";
import { parseFdbJson, parseNeighboursJson, readFdb } from "./neighbour-facts.ts";

const NEIGH =
  '[{"dst":"192.0.2.77","dev":"veth0","state":["INCOMPLETE"]},{"dst":"192.0.2.2","dev":"veth0","lladdr":"8e:67:7d:df:cc:31","state":["REACHABLE"]},{"dst":"10.244.2.0","dev":"vx0","lladdr":"02:00:00:00:02:00","state":["PERMANENT"]}]';
const FDB_VXLAN = '[{"mac":"02:00:00:00:02:00","dst":"192.0.2.2","flags":["self"],"state":"permanent"}]';
const FDB_BRIDGE =
  '[{"mac":"33:33:00:00:00:01","flags":["self"],"state":"permanent"},{"mac":"01:00:5e:00:00:6a","flags":["self"],"state":"permanent"}]';

describe("parseNeighboursJson", () => {
  test("gives address, device, MAC (when resolved) and state", () => {
    expect(parseNeighboursJson(NEIGH)).toEqual([
      { dev: "veth0", address: "192.0.2.77", state: ["INCOMPLETE"] },
      { dev: "veth0", address: "192.0.2.2", mac: "8e:67:7d:df:cc:31", state: ["REACHABLE"] },
      { dev: "vx0", address: "10.244.2.0", mac: "02:00:00:00:02:00", state: ["PERMANENT"] },
    ]);
    expect(parseNeighboursJson("[]")).toEqual([]);
  });
});

describe("parseFdbJson", () => {
  test("gives a VXLAN entry's remote and folds the state into the flags", () => {
    expect(parseFdbJson("vx0", FDB_VXLAN)).toEqual([
      { dev: "vx0", mac: "02:00:00:00:02:00", dst: "192.0.2.2", flags: ["self", "permanent"] },
    ]);
    const bridge = parseFdbJson("br0", FDB_BRIDGE);
    expect(bridge.map((e) => e.mac)).toEqual(["33:33:00:00:00:01", "01:00:5e:00:00:6a"]);
    expect(bridge[0]?.dst).toBeUndefined();
  });

  test("refuses an entry without a MAC and a device name that is not one", async () => {
    expect(() => parseFdbJson("vx0", '[{"dst":"192.0.2.2"}]')).toThrow("has no mac");
    await expect(readFdb("vx0 dst 1.2.3.4")).rejects.toThrow(InvalidInterfaceNameError);
  });
});
