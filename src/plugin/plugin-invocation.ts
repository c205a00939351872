/**
 * Whether this process was executed as a CNI plugin or as the command line (pure: it is handed
 * the facts). A runtime executes a plugin with no arguments, the config on stdin and CNI_*
 * variables in the environment (CNI.md, "Invocation"); a runtime or a user who got one of those
 * wrong must still get one CNI error document on stdout, never the CLI's usage text.
 */

export type PluginKind = "podnet" | "podnet-ipam";

export const IPAM_PROGRAM = "podnet-ipam";

export interface ProcessFacts {
  /** The arguments after the program name. */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Names the program was started under (argv[0], the executable's path). */
  readonly programNames: readonly string[];
  /** Asked only when it matters (no arguments, no CNI_* variable): touching stdin has a cost. */
  readonly stdinIsTTY: () => boolean;
}

export type EntryDecision =
  | { readonly mode: "plugin"; readonly kind: PluginKind; readonly reason: string }
  /** Only stdin can tell: plugin mode if it holds a network config (looksLikeNetworkConfig). */
  | { readonly mode: "stdin"; readonly kind: PluginKind }
  | { readonly mode: "cli" };

const baseName = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

/** podnet-ipam when started under that name (`podnet install-cni` copies it in twice). */
export function pluginKindOf(programNames: readonly string[]): PluginKind {
  return programNames.some((p) => baseName(p) === IPAM_PROGRAM) ? "podnet-ipam" : "podnet";
}

/** CNI_* variables other than CNI_COMMAND that are set, in name order. */
function otherCniVariables(env: ProcessFacts["env"]): string[] {
  return Object.keys(env)
    .filter((k) => k.startsWith("CNI_") && k !== "CNI_COMMAND" && env[k] !== undefined)
    .sort();
}

/**
 * The order matters: CNI_COMMAND always meant the plugin (whatever the arguments, as before);
 * the name podnet-ipam has no CLI; other CNI_* variables count only without arguments, because
 * runtimes pass none and a user who exported CNI_PATH for cnitool still wants `podnet lab status`.
 */
export function decideEntry(facts: ProcessFacts): EntryDecision {
  const kind = pluginKindOf(facts.programNames);
  if (facts.env.CNI_COMMAND !== undefined) return { mode: "plugin", kind, reason: "CNI_COMMAND is set" };
  if (kind === "podnet-ipam") return { mode: "plugin", kind, reason: `it was executed as ${IPAM_PROGRAM}` };
  if (facts.args.length > 0) return { mode: "cli" };
  const vars = otherCniVariables(facts.env);
  if (vars.length > 0)
    return { mode: "plugin", kind, reason: `${vars.join(", ")} ${vars.length > 1 ? "are" : "is"} set` };
  // Without arguments the CLI would only print its usage; stdin decides, when something may be on it.
  return facts.stdinIsTTY() ? { mode: "cli" } : { mode: "stdin", kind };
}

/** A network config or conflist: a JSON object naming a plugin type, a CNI version or a plugin list. */
export function looksLikeNetworkConfig(text: string): boolean {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return false;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    return ["type", "cniVersion", "plugins"].some((k) => k in value);
  } catch {
    return false;
  }
}
