/**
 * IPAM through another plugin (e.g. the reference host-local), executed the way a runtime
 * executes plugins: same CNI_* environment, the network config on stdin (CNI spec, "Delegated
 * plugins"). Its errors keep their CNI code.
 */
import { accessSync, constants } from "node:fs";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { Result } from "../cni/result.ts";
import { parseResult } from "../cni/result.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { parseIP } from "../ipnet/address.ts";
import { parseInterfaceCIDR, parsePrefix } from "../ipnet/prefix.ts";
import { runSync } from "../linux/exec.ts";
import type { IpamBackend, IpamLease } from "./ipam-backend.ts";
import type { PodRoute } from "./link-plan.ts";

const PLUGIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function findPlugin(type: string, cniPath: readonly string[]): string {
  if (!PLUGIN_NAME.test(type))
    throw new CniError(ErrorCode.InvalidNetworkConfig, `plugin type "${type}" is not a valid name`);
  for (const dir of cniPath) {
    if (!dir.startsWith("/")) continue;
    const candidate = `${dir.replace(/\/+$/, "")}/${type}`;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory; CNI_PATH is a search list
    }
  }
  throw new CniError(
    ErrorCode.InvalidNetworkConfig,
    `IPAM plugin "${type}" not found in CNI_PATH (${cniPath.join(":") || "empty"})`,
  );
}

export interface DelegateContext {
  readonly type: string;
  readonly cniPath: readonly string[];
  /** The network config exactly as the runtime gave it to us. */
  readonly stdin: string;
  readonly env: Record<string, string | undefined>;
}

/** Runs the delegate with CNI_COMMAND overridden; returns its parsed stdout. */
export function execDelegate(ctx: DelegateContext, command: string, stdin = ctx.stdin): unknown {
  const path = findPlugin(ctx.type, ctx.cniPath);
  const r = runSync([path], { stdin, env: { ...ctx.env, CNI_COMMAND: command }, replaceEnv: true });
  const out = r.stdout.trim();
  if (r.code !== 0) {
    let parsed: { code?: unknown; msg?: unknown; details?: unknown } | undefined;
    try {
      parsed = out ? (JSON.parse(out) as typeof parsed) : undefined;
    } catch {
      parsed = undefined;
    }
    const code = typeof parsed?.code === "number" && parsed.code > 0 ? parsed.code : ErrorCode.IOFailure;
    const msg = typeof parsed?.msg === "string" ? parsed.msg : `exited with code ${r.code}`;
    const details = typeof parsed?.details === "string" ? parsed.details : r.stderr.trim() || undefined;
    throw new CniError(code, `IPAM plugin "${ctx.type}" ${command} failed: ${msg}`, details);
  }
  if (out === "") return undefined;
  try {
    return JSON.parse(out);
  } catch {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `IPAM plugin "${ctx.type}" printed invalid JSON for ${command}`,
      out.slice(0, 200),
    );
  }
}

export function leaseFromResult(result: Result): IpamLease {
  const addresses = (result.ips ?? []).map((c) => {
    const { ip, prefix } = parseInterfaceCIDR(c.address);
    const gateway = c.gateway ? parseIP(c.gateway) : undefined;
    return { ip, prefixLength: prefix.length, ...(gateway ? { gateway } : {}) };
  });
  const routes: PodRoute[] = (result.routes ?? []).map((r) => ({
    dst: parsePrefix(r.dst, { strict: false }),
    ...(r.gw ? { gw: parseIP(r.gw) } : {}),
  }));
  return { addresses, routes, ...(result.dns ? { dns: result.dns } : {}), fresh: true };
}

export class DelegateIpam implements IpamBackend {
  constructor(private readonly ctx: DelegateContext) {}

  add(_requested: readonly IPAddress[]): IpamLease {
    // Requested IPs reach the delegate through the same CNI_ARGS / runtimeConfig we received.
    const result = parseResult(execDelegate(this.ctx, "ADD"), `result of IPAM plugin "${this.ctx.type}"`);
    if (!result.ips || result.ips.length === 0) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `IPAM plugin "${this.ctx.type}" returned no IP address`,
      );
    }
    return leaseFromResult(result);
  }

  del(): void {
    execDelegate(this.ctx, "DEL");
  }

  check(_expected: readonly IPAddress[]): void {
    execDelegate(this.ctx, "CHECK");
  }

  gc(_valid: readonly AttachmentKey[]): void {
    execDelegate(this.ctx, "GC");
  }

  status(): void {
    execDelegate(this.ctx, "STATUS");
  }
}
