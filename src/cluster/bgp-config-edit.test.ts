import { describe, expect, test } from "bun:test";
import type { BgpPeer } from "./bgp-config.ts";
import { BgpConfigError, DEFAULT_BGP_CONFIG } from "./bgp-config.ts";
import {
  addBgpPeer,
  BgpPeerExistsError,
  BgpPeerNotFoundError,
  changeBgpSettings,
  removeBgpPeer,
} from "./bgp-config-edit.ts";

const lan1: BgpPeer = { name: "lan1", address: "192.0.2.1", asNumber: 64512 };
const lan2: BgpPeer = { name: "lan2", address: "198.51.100.1", asNumber: 64512 };

describe("changeBgpSettings", () => {
  test("starts from the defaults and keeps what is not changed", () => {
    const c = changeBgpSettings(undefined, { asNumber: 65001, vpcCidrs: ["10.1.0.0/16"] });
    expect(c).toEqual({ ...DEFAULT_BGP_CONFIG, asNumber: 65001, vpcCidrs: ["10.1.0.0/16"] });
    const d = changeBgpSettings({ ...c, peers: [lan1] }, { gracefulRestart: true });
    expect(d.asNumber).toBe(65001);
    expect(d.peers).toEqual([lan1]);
    expect(d.gracefulRestart).toEqual({ enabled: true, restartTimeSeconds: 120 });
  });

  test("a new hold time alone brings a keepalive of a third of it", () => {
    expect(changeBgpSettings(undefined, { holdTimeSeconds: 9 })).toMatchObject({
      holdTimeSeconds: 9,
      keepaliveSeconds: 3,
    });
    expect(changeBgpSettings(undefined, { holdTimeSeconds: 9, keepaliveSeconds: 4 }).keepaliveSeconds).toBe(
      4,
    );
    expect(() => changeBgpSettings(undefined, { keepaliveSeconds: 90 })).toThrow(BgpConfigError);
  });
});

describe("add and remove peers", () => {
  test("a peer is added once and removed by name", () => {
    const one = addBgpPeer(undefined, lan1);
    expect(one.peers).toEqual([lan1]);
    const two = addBgpPeer(one, lan2);
    expect(two.peers.map((p) => p.name)).toEqual(["lan1", "lan2"]);
    expect(() => addBgpPeer(two, { ...lan2, address: "198.51.100.2" })).toThrow(BgpPeerExistsError);
    expect(removeBgpPeer(two, "lan1").peers).toEqual([lan2]);
  });

  test("an invalid peer or an unknown name is refused", () => {
    expect(() => addBgpPeer(undefined, { ...lan1, address: "fe80::1" })).toThrow("peers[0].address");
    expect(() => removeBgpPeer(addBgpPeer(undefined, lan1), "lan9")).toThrow(
      new BgpPeerNotFoundError("lan9", ["lan1"]),
    );
    expect(() => removeBgpPeer(undefined, "lan1")).toThrow('No BGP peer named "lan1" (there are no peers)');
  });
});
