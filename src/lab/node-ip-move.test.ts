import { describe, expect, test } from "bun:test";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import { carrierFamily, moveSteps, planAddressMove, restoreSteps, underlayHops } from "./node-ip-move.ts";

const direct = JSON.stringify([
  { dst: "10.244.1.2", gateway: "192.0.2.12", dev: "eth0", prefsrc: "192.0.2.11" },
]);
const direct6 = JSON.stringify([{ dst: "fd00:10:244:1::2", gateway: "2001:db8:1::12", dev: "eth0" }]);
// A dual lab's VXLAN device: the IPv6 pod's route goes into it, its FDB points at IPv4 node IPs.
const tunnel6 = JSON.stringify([
  { dst: "fd00:10:244:1::2", gateway: "fd00:10:244:1::", dev: VXLAN_DEV, flags: ["onlink"] },
]);
const fdb4 = JSON.stringify([
  { mac: "00:00:00:00:00:00", dst: "192.0.2.12", state: "permanent" },
  { mac: "0a:58:c0:00:02:0c", dst: "192.0.2.12", state: "permanent" },
  { mac: "33:33:00:00:00:01", state: "permanent", flags: ["self"] },
]);
const unread = () => {
  throw new Error("the FDB is read only for a route into the VXLAN device");
};

describe("underlayHops and carrierFamily", () => {
  test("a direct route: its next hop, of the pods' own family; the FDB is not read", () => {
    expect(underlayHops(direct, unread)).toEqual(["192.0.2.12"]);
    expect(carrierFamily(underlayHops(direct6, unread), 6)).toBe(6);
  });

  test("IPv6 pods through a dual lab's VXLAN device ride the IPv4 underlay: the IPv4 address moves", () => {
    const hops = underlayHops(tunnel6, () => fdb4);
    expect(hops).toEqual(["192.0.2.12", "192.0.2.12"]);
    expect(carrierFamily(hops, 6)).toBe(4);
  });

  test("nothing known (no route, FDB unreadable): the pods' own family", () => {
    expect(underlayHops("[]", unread)).toEqual([]);
    expect(underlayHops(tunnel6, () => undefined)).toEqual([]);
    expect(carrierFamily([], 6)).toBe(6);
    expect(carrierFamily(["not-an-address"], 4)).toBe(4);
  });
});

describe("planAddressMove", () => {
  const dual = ["192.0.2.12/24", "2001:db8:1::12/64"];
  test("the carrier's address moves by host number 40, written alike in both families", () => {
    expect(planAddressMove(dual, 4)).toEqual({
      family: 4,
      original: "192.0.2.12/24",
      moved: "192.0.2.52/24",
    });
    expect(planAddressMove(dual, 6)).toEqual({
      family: 6,
      original: "2001:db8:1::12/64",
      moved: "2001:db8:1::52/64",
    });
  });

  test("a node without an address of the carrier's family has nothing to move", () => {
    expect(planAddressMove(["192.0.2.12/24"], 6)).toBeUndefined();
  });
});

describe("moveSteps and restoreSteps", () => {
  const move4 = { family: 4, original: "192.0.2.12/24", moved: "192.0.2.52/24" } as const;
  const move6 = { family: 6, original: "2001:db8:1::12/64", moved: "2001:db8:1::52/64" } as const;
  const lines = (steps: readonly { argv: readonly string[]; mayFail?: boolean }[]) =>
    steps.map((s) => `${s.argv.join(" ")}${s.mayFail ? " (may fail)" : ""}`);

  test("a move: old address out, new one in (nodad in IPv6), the default route back via the router", () => {
    expect(lines(moveSteps("ns2", move6, "2001:db8:1::1"))).toEqual([
      "ip -n ns2 -6 addr del 2001:db8:1::12/64 dev eth0",
      "ip -n ns2 -6 addr add 2001:db8:1::52/64 dev eth0 nodad",
      "ip -n ns2 -6 route replace default via 2001:db8:1::1",
    ]);
    expect(lines(moveSteps("ns2", move4, "192.0.2.1"))[1]).toBe(
      "ip -n ns2 -4 addr add 192.0.2.52/24 dev eth0",
    );
  });

  test("the restore works whatever part of the move happened: only removing the moved address may fail", () => {
    expect(lines(restoreSteps("ns2", move4, "192.0.2.1"))).toEqual([
      "ip -n ns2 -4 addr del 192.0.2.52/24 dev eth0 (may fail)",
      "ip -n ns2 -4 addr replace 192.0.2.12/24 dev eth0",
      "ip -n ns2 -4 route replace default via 192.0.2.1",
    ]);
    expect(lines(restoreSteps("ns2", move6, "2001:db8:1::1"))[1]).toBe(
      "ip -n ns2 -6 addr replace 2001:db8:1::12/64 dev eth0 nodad",
    );
  });
});
