import { describe, expect, test } from "bun:test";
import {
  liveProxyTable,
  proxyTablesInChainList,
  proxyTablesOf,
  readProxyTables,
  readTables,
  swapTarget,
  tablesInChainList,
} from "./nft-chain-list.ts";

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

describe("tablesInChainList", () => {
  test("every table with its family, hooked or not; a table line may end in a comment", () => {
    const text = `table ip6 podnet { # progname podnet-agent\n\tchain nat-output {\n\t\ttype nat hook output priority dstnat; policy accept;\n\t}\n}\n${BOTH}`;
    expect(tablesInChainList(text)).toEqual([
      { family: "ip6", name: "podnet", hooked: true },
      { family: "ip", name: "podnet-b", hooked: false },
      { family: "ip", name: "other", hooked: true },
      { family: "ip", name: "podnet", hooked: true },
    ]);
    expect(proxyTablesInChainList("table ip podnet-b { # progname nft\n}\n").present).toEqual(["podnet-b"]);
  });

  test("proxyTablesOf keeps to the family asked for", () => {
    const tables = tablesInChainList(
      "table ip6 podnet {\n\tchain c {\n\t\ttype nat hook output priority dstnat; policy accept;\n\t}\n}\ntable ip podnet-b {\n}\n",
    );
    expect(proxyTablesOf(tables, "ip")).toEqual({ present: ["podnet-b"], hooked: [] });
    expect(proxyTablesOf(tables, "ip6")).toEqual({ present: ["podnet"], hooked: ["podnet"] });
    expect(proxyTablesOf(tables)).toEqual({ present: ["podnet", "podnet-b"], hooked: ["podnet"] });
  });
});

describe("readProxyTables and readTables run nft through the caller's runner", () => {
  test("`nft list chains FAMILY`, parsed; `nft list chains` for every family", async () => {
    const asked: string[] = [];
    const runNft = async (args: readonly string[]) => {
      asked.push(args.join(" "));
      return BOTH;
    };
    expect(await readProxyTables("ip", runNft)).toEqual({
      present: ["podnet", "podnet-b"],
      hooked: ["podnet"],
    });
    expect((await readTables(runNft)).map((t) => t.name)).toEqual(["podnet-b", "other", "podnet"]);
    expect(asked).toEqual(["list chains ip", "list chains"]);
  });

  test("a runner's failure is the caller's error", async () => {
    const runNft = async () => {
      throw new Error("nft list chains ip failed (exit 1): Operation not permitted");
    };
    await expect(readProxyTables("ip", runNft)).rejects.toThrow("Operation not permitted");
  });
});

describe("swapTarget", () => {
  test("is the name not in use, podnet when none is", () => {
    expect(swapTarget(undefined)).toBe("podnet");
    expect(swapTarget("podnet")).toBe("podnet-b");
    expect(swapTarget("podnet-b")).toBe("podnet");
  });
});
