import { describe, expect, test } from "bun:test";
import type { NodeView } from "./table-inputs.ts";
import { tableInputs } from "./table-inputs.ts";

describe("tableInputs", () => {
  const view: NodeView = {
    nodeName: "node1",
    nodeIPs: ["192.0.2.11", "2001:db8::11"],
    clusterCidrs: ["10.244.0.0/16", "fd00:10:244::/56"],
    serviceCidrs: ["10.96.0.0/12"],
  };
  const egress = { masqueradeEgress: true, keepPrivateRanges: false, nonMasqueradeCidrs: ["203.0.113.0/24"] };

  test("every table keeps the VPC unmasqueraded, beside the other exemptions", () => {
    const inputs = tableInputs({ ...view, vpcCidrs: ["192.0.2.0/24", "2001:db8::/64"] }, egress, false);
    expect(inputs.map((i) => i.family)).toEqual(["ip", "ip6"]);
    for (const input of inputs)
      expect(input.nonMasqueradeCidrs).toEqual([
        "10.244.0.0/16",
        "fd00:10:244::/56",
        "10.96.0.0/12",
        "192.0.2.0/24",
        "2001:db8::/64",
        "203.0.113.0/24",
      ]);
  });

  test("without a VPC the list is as before", () => {
    expect(tableInputs(view, egress, false)[0]?.nonMasqueradeCidrs).toEqual([
      "10.244.0.0/16",
      "fd00:10:244::/56",
      "10.96.0.0/12",
      "203.0.113.0/24",
    ]);
  });
});
