import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConflist } from "../cni/conflist.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import { CONFLIST_NAME, type NodeCniConfig, writeNodeConflist } from "./cni-config-writer.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function nodeConfig(): NodeCniConfig {
  const dir = mkdtempSync(join(tmpdir(), "podnet-conflist-"));
  dirs.push(dir);
  return {
    confDir: `${dir}/net.d`,
    network: "podnet",
    blocks: [parsePrefix("10.244.3.0/24")],
    mtu: 1450,
    dataDir: `${dir}/state`,
    readyFile: `${dir}/state/ready`,
    mode: "bridge",
  };
}

describe("writeNodeConflist", () => {
  test("writes a conflist every runtime accepts: 1.0.0 declared, 1.1.0 offered", () => {
    const c = nodeConfig();
    expect(writeNodeConflist(c)).toBe(true);
    const text = readFileSync(`${c.confDir}/${CONFLIST_NAME}`, "utf8");
    const raw = JSON.parse(text) as { cniVersion: string; cniVersions: string[] };
    expect(raw.cniVersion).toBe("1.0.0");
    expect(raw.cniVersions).toEqual(["1.0.0", "1.1.0"]);
    // A CNI 1.1 runtime (libcni 1.2+) negotiates 1.1.0, so STATUS reaches the plugin.
    const list = parseConflist(text);
    expect(list.cniVersion).toBe("1.1.0");
    expect(list.plugins[0]?.readyFile).toBe(c.readyFile);
  });

  test("reports no change when the file already says the same", () => {
    const c = nodeConfig();
    expect(writeNodeConflist(c)).toBe(true);
    expect(writeNodeConflist(c)).toBe(false);
    expect(writeNodeConflist({ ...c, mtu: 1400 })).toBe(true);
  });

  test("with cluster DNS, the plugin entry names the node-local nameserver and the cluster domain", () => {
    const c = { ...nodeConfig(), clusterDns: { nameservers: ["169.254.20.10"], domain: "cluster.local" } };
    expect(writeNodeConflist(c)).toBe(true);
    const plugin = parseConflist(readFileSync(`${c.confDir}/${CONFLIST_NAME}`, "utf8")).plugins[0];
    expect(plugin?.clusterDomain).toBe("cluster.local");
    expect(plugin?.dns).toEqual({
      nameservers: ["169.254.20.10"],
      search: ["svc.cluster.local", "cluster.local"],
      options: ["ndots:5"],
    });
    // Turning DNS off (or changing its address) rewrites the file.
    expect(
      writeNodeConflist({ ...c, clusterDns: { nameservers: ["169.254.20.11"], domain: "cluster.local" } }),
    ).toBe(true);
    const { clusterDns: _, ...off } = c;
    expect(writeNodeConflist(off)).toBe(true);
    expect(
      parseConflist(readFileSync(`${c.confDir}/${CONFLIST_NAME}`, "utf8")).plugins[0],
    ).not.toHaveProperty("dns");
  });
});
