/**
 * The command line of `podnet service create`: port specs, selectors, affinity, Service
 * references, the headless switch and the address families, turned into a ServiceInput. A value that cannot be used is
 * a ServiceArgumentError (exit 1), naming the flag and the value.
 */

import type { ServiceInput, ServicePortInput, SessionAffinityInput } from "../cluster/service-validation.ts";
import type { IPFamily, IPFamilyPolicy } from "../k8s/service-model.ts";
import { IP_FAMILIES, IP_FAMILY_POLICIES, PROTOCOLS, type Protocol } from "../k8s/service-model.ts";
import type { ParsedArgs } from "./args.ts";
import { flag, flagList } from "./args.ts";

/** A value on the command line is unusable (exit 1, unlike a malformed command line). */
export class ServiceArgumentError extends Error {
  override readonly name = "ServiceArgumentError";
}

const DIGITS = /^[0-9]{1,5}$/;

function portNumber(spec: string, what: string, text: string): number {
  const n = DIGITS.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 65535))
    throw new ServiceArgumentError(
      `--port "${spec}": ${what} "${text}" is not a port number from 1 to 65535`,
    );
  return n;
}

/** `[NAME:]PORT[:TARGET][/PROTO][:nodeport=N|auto]`, e.g. `http:80:8080/tcp:nodeport=auto`. */
export function parsePortSpec(spec: string): ServicePortInput {
  let rest = spec;
  let nodePort: number | "auto" | undefined;
  const np = /:nodeport=([^:/]*)$/i.exec(rest);
  if (np) {
    const value = np[1] ?? "";
    if (value.toLowerCase() === "auto") nodePort = "auto";
    else if (DIGITS.test(value)) nodePort = Number(value);
    else
      throw new ServiceArgumentError(`--port "${spec}": nodeport must be a number or "auto", not "${value}"`);
    rest = rest.slice(0, np.index);
  }
  let protocol: Protocol | undefined;
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const text = rest.slice(slash + 1).toUpperCase();
    if (!PROTOCOLS.includes(text as Protocol))
      throw new ServiceArgumentError(
        `--port "${spec}": protocol "${rest.slice(slash + 1)}" is not one of ${PROTOCOLS.join(", ")}`,
      );
    protocol = text as Protocol;
    rest = rest.slice(0, slash);
  }
  const parts = rest.split(":");
  let name: string | undefined;
  let port: string | undefined;
  let target: string | undefined;
  if (parts.length === 1) [port] = parts;
  else if (parts.length === 2) {
    if (DIGITS.test(parts[0] ?? "")) [port, target] = parts;
    else [name, port] = parts;
  } else if (parts.length === 3) [name, port, target] = parts;
  else throw new ServiceArgumentError(`--port "${spec}": use [NAME:]PORT[:TARGET][/PROTO][:nodeport=N|auto]`);
  if (name === "") throw new ServiceArgumentError(`--port "${spec}": the port name is empty`);
  return {
    ...(name !== undefined ? { name } : {}),
    ...(protocol !== undefined ? { protocol } : {}),
    port: portNumber(spec, "port", port ?? ""),
    ...(target !== undefined ? { targetPort: portNumber(spec, "target port", target) } : {}),
    ...(nodePort !== undefined ? { nodePort } : {}),
  };
}

/** `--selector app=web,tier=front` (repeatable); every pair must match. */
export function parseSelector(values: readonly string[]): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const pair of values.flatMap((v) => v.split(","))) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new ServiceArgumentError(`--selector "${pair}": use KEY=VALUE`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key in selector && selector[key] !== value)
      throw new ServiceArgumentError(`--selector: "${key}" is given twice with different values`);
    selector[key] = value;
  }
  return selector;
}

export function parseAffinity(text: string): SessionAffinityInput {
  const [kind, timeout, ...extra] = text.split(":");
  if (kind?.toLowerCase() === "none" && timeout === undefined) return { kind: "None" };
  if (kind?.toLowerCase() !== "clientip" || extra.length > 0)
    throw new ServiceArgumentError(`--affinity "${text}": use None, ClientIP or ClientIP:SECONDS`);
  if (timeout === undefined) return { kind: "ClientIP" };
  if (!/^[0-9]{1,9}$/.test(timeout))
    throw new ServiceArgumentError(
      `--affinity "${text}": the timeout "${timeout}" is not a number of seconds`,
    );
  return { kind: "ClientIP", timeoutSeconds: Number(timeout) };
}

/** `--ip-family-policy SingleStack|PreferDualStack|RequireDualStack` (any letter case). */
export function parseIpFamilyPolicy(text: string): IPFamilyPolicy {
  const policy = IP_FAMILY_POLICIES.find((p) => p.toLowerCase() === text.toLowerCase());
  if (policy === undefined)
    throw new ServiceArgumentError(`--ip-family-policy "${text}": use ${IP_FAMILY_POLICIES.join(", ")}`);
  return policy;
}

/** `--ip-family IPv4|IPv6` (repeatable or comma-separated, primary first; any letter case). */
export function parseIpFamilies(values: readonly string[]): IPFamily[] {
  const families: IPFamily[] = [];
  for (const text of values.flatMap((v) => v.split(","))) {
    const family = IP_FAMILIES.find((f) => f.toLowerCase() === text.toLowerCase());
    if (family === undefined) throw new ServiceArgumentError(`--ip-family "${text}": use IPv4 or IPv6`);
    if (families.includes(family)) throw new ServiceArgumentError(`--ip-family ${family} is given twice`);
    families.push(family);
  }
  return families;
}

/** `NAMESPACE/NAME`, or `NAME` in the "default" namespace as kubectl has it. */
export function parseServiceRef(text: string): { namespace: string; name: string } {
  const parts = text.split("/");
  if (parts.length === 1 && text !== "") return { namespace: "default", name: text };
  const [namespace, name] = parts;
  if (parts.length !== 2 || !namespace || !name)
    throw new ServiceArgumentError(`Service "${text}": use NAMESPACE/NAME`);
  return { namespace, name };
}

/**
 * `--headless` takes no value; the parser of the command line does not know that, so it is
 * written `--headless=true` before parsing (withHeadlessValue) and read back here.
 */
function headlessFlag(args: ParsedArgs): boolean {
  const value = flag(args, "headless");
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new ServiceArgumentError(`--headless takes no value, not "${value}"`);
}

/** Lets `--headless` stand without a value, before a flag, a positional or at the end. */
export function withHeadlessValue(argv: readonly string[]): string[] {
  const end = argv.indexOf("--");
  return argv.map((a, i) => (a === "--headless" && (end < 0 || i < end) ? "--headless=true" : a));
}

/**
 * The Service `podnet service create REF …` asks for. Headless is `--headless` or, as kubectl
 * has it, `--cluster-ip None`; a headless Service may have no ports (its name still resolves).
 */
export function serviceInputFromArgs(ref: string, args: ParsedArgs): ServiceInput {
  const given = flagList(args, "cluster-ip");
  const none = given.filter((ip) => ip.toLowerCase() === "none");
  const clusterIPs = given.filter((ip) => ip.toLowerCase() !== "none");
  const headless = headlessFlag(args) || none.length > 0;
  if (none.length > 0 && clusterIPs.length > 0)
    throw new ServiceArgumentError(
      `--cluster-ip None makes the Service headless; it cannot also have --cluster-ip ${clusterIPs.join(", ")}`,
    );
  const ports = flagList(args, "port");
  if (ports.length === 0 && !headless)
    throw new ServiceArgumentError("give at least one --port (only a headless Service may have none)");
  const affinity = flag(args, "affinity");
  const selector = flagList(args, "selector");
  const policy = flag(args, "ip-family-policy");
  const families = parseIpFamilies(flagList(args, "ip-family"));
  return {
    ...parseServiceRef(ref),
    ...(headless ? { headless } : {}),
    ports: ports.map(parsePortSpec),
    ...(clusterIPs.length > 0 ? { clusterIPs } : {}),
    ...(selector.length > 0 ? { selector: parseSelector(selector) } : {}),
    ...(affinity !== undefined ? { sessionAffinity: parseAffinity(affinity) } : {}),
    ...(policy !== undefined ? { ipFamilyPolicy: parseIpFamilyPolicy(policy) } : {}),
    ...(families.length > 0 ? { ipFamilies: families } : {}),
  };
}
