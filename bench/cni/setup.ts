/** What the CNI benchmark needs before it starts, and the reference plugins it compares with. */

import { runSync } from "../../src/linux/exec.ts";
import type { FileNeeded, ProgramNeeded } from "../support/preflight.ts";

export const DEFAULT_REFERENCE_DIR = "/usr/lib/cni";

/** iproute2, nft (the node agent's proxy), and the two reference plugins the comparison executes. */
export function cniBenchNeeds(referenceDir: string): (ProgramNeeded | FileNeeded)[] {
  return [
    { program: "ip", what: 'iproute2 ("ip")' },
    { program: "nft", what: 'nftables ("nft"), which the node agent\'s service proxy runs' },
    ...["bridge", "host-local"].map((plugin) => ({
      file: `${referenceDir}/${plugin}`,
      missing: `Reference plugin "${referenceDir}/${plugin}" is missing: install containernetworking-plugins or pass --reference-dir`,
    })),
  ];
}

/** Debian's package version when the plugins come from the package; the Go binaries do not know theirs. */
export function referenceVersion(referenceDir: string): string {
  if (referenceDir !== DEFAULT_REFERENCE_DIR) return `from ${referenceDir}`;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${Version} is dpkg-query's own format syntax
  const r = runSync(["dpkg-query", "-W", "-f", "${Version}", "containernetworking-plugins"]);
  return r.code === 0 && r.stdout.trim() !== ""
    ? `containernetworking-plugins ${r.stdout.trim()}`
    : `from ${referenceDir}`;
}
