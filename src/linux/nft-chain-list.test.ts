import { describe, expect, test } from "bun:test";
import { liveProxyTable, proxyTablesInChainList, swapTarget } from "./nft-chain-list.ts";

// `nft list chains ip` as nft 1.0.6 prints it: a table without chains is an empty block.
const BOTH = `table ip podnet-b {
}
table ip other {
	chain input {
		type filter hook input priority filter; policy accept;
	}
}
table ip podnet {
	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
	}
	chain services {
	}
}
`;

describe("proxyTablesInChainList", () => {
  test("finds both names, and the hooked one, ignoring other tables", () => {
    const l = proxyTablesInChainList(BOTH);
    expect(l).toEqual({ present: ["podnet", "podnet-b"], hooked: ["podnet"] });
    expect(liveProxyTable(l)).toBe("podnet");
  });

  test("a half-built podnet beside a live podnet-b", () => {
    const text = BOTH.replaceAll("table ip podnet-b {", "table ip X {")
      .replaceAll("table ip podnet {", "table ip podnet-b {")
      .replaceAll("table ip X {", "table ip podnet {");
    const l = proxyTablesInChainList(text);
    expect(l).toEqual({ present: ["podnet", "podnet-b"], hooked: ["podnet-b"] });
    expect(liveProxyTable(l)).toBe("podnet-b");
  });

  test("none, or one without base chains", () => {
    expect(proxyTablesInChainList("")).toEqual({ present: [], hooked: [] });
    expect(liveProxyTable(proxyTablesInChainList(""))).toBeUndefined();
    const lone = proxyTablesInChainList("table ip podnet-b {\n\tchain services {\n\t}\n}\n");
    expect(lone).toEqual({ present: ["podnet-b"], hooked: [] });
    expect(liveProxyTable(lone)).toBe("podnet-b");
  });

  test("a name that only starts like podnet's is not podnet's", () => {
    expect(
      proxyTablesInChainList("table ip podnet-trace-abc {\n}\ntable ip podnet-bb {\n}\n").present,
    ).toEqual([]);
  });
});

describe("swapTarget", () => {
  test("is the name not in use, podnet when none is", () => {
    expect(swapTarget(undefined)).toBe("podnet");
    expect(swapTarget("podnet")).toBe("podnet-b");
    expect(swapTarget("podnet-b")).toBe("podnet");
  });
});
