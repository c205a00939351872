/**
 * The CNI plugin's own executable, dist/podnet-cni: what `podnet install-cni` puts in
 * /opt/cni/bin as `podnet` and `podnet-ipam`. The runtime starts it once per pod operation, so it
 * carries the plugin's modules and nothing else — no CLI, agent, datastore client or metrics
 * (bench/cni measures what that is worth). Whatever it is run with, it answers as a plugin.
 */
import { runAsPlugin } from "./plugin/plugin-entry.ts";
import { IPAM_PROGRAM, pluginKindOf } from "./plugin/plugin-invocation.ts";

const kind = pluginKindOf([process.argv0, process.execPath]);
const why = kind === "podnet-ipam" ? `it was executed as ${IPAM_PROGRAM}` : "it is the plugin's executable";

runAsPlugin(kind, why).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
