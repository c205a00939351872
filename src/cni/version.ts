import { unhandled } from "../base/unhandled.ts";
import { CniError, ErrorCode } from "./errors.ts";
import { describeValue } from "./shape.ts";

/**
 * 0.4.0 is the oldest version with CHECK and the rich result; runtimes still in use (older
 * containerd, CRI-O) send it. 1.0.0 dropped ips[].version, 1.1.0 added GC, STATUS and new fields.
 */
export const SUPPORTED_VERSIONS = ["0.4.0", "1.0.0", "1.1.0"] as const;

export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

export const LATEST_VERSION: CniVersion = "1.1.0";

export type VersionFeature = "check" | "gc" | "status";

export interface VersionResult {
  cniVersion: string;
  supportedVersions: CniVersion[];
}

const SEMVER = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

function versionParts(v: string): [number, number, number] {
  const m = SEMVER.exec(v);
  if (m === null) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `CNI version "${v}" is not a version: expected MAJOR.MINOR.PATCH`,
    );
  }
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Orders two MAJOR.MINOR.PATCH versions numerically (so "1.10.0" > "1.9.0"); -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = versionParts(a);
  const pb = versionParts(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === "string" && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Missing or non-string versions make the config invalid (7); a well-formed but unknown one is 1. */
export function assertSupportedVersion(v: unknown, where = "network configuration"): CniVersion {
  if (v === undefined || v === null) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `Invalid ${where}: "cniVersion" is missing`);
  }
  if (typeof v !== "string") {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `Invalid ${where}: "cniVersion" must be a string, got ${describeValue(v)}`,
    );
  }
  if (isSupportedVersion(v)) return v;
  throw new CniError(
    ErrorCode.IncompatibleVersion,
    `Incompatible CNI version "${v}": this plugin supports ${SUPPORTED_VERSIONS.join(", ")}`,
  );
}

/** CHECK arrived in 0.4.0; GC and STATUS in 1.1.0, and the spec forbids them for older configs. */
export function versionSupports(v: CniVersion, feature: VersionFeature): boolean {
  switch (feature) {
    case "check":
      return compareVersions(v, "0.4.0") >= 0;
    case "gc":
    case "status":
      return compareVersions(v, "1.1.0") >= 0;
    default: {
      unhandled(feature, (shown) => new Error(`Unknown CNI feature ${shown}`));
    }
  }
}

/**
 * The VERSION reply. The spec echoes the caller's cniVersion even when it is one we do not
 * support — the caller asks precisely to find out — and falls back to our latest when absent.
 */
export function versionResult(configVersion?: string): VersionResult {
  const cniVersion = configVersion === undefined || configVersion === "" ? LATEST_VERSION : configVersion;
  return { cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/**
 * CNI 1.1 lets a config list several versions (`cniVersions`); the runtime must use the highest
 * one both sides support. Returns undefined when there is none.
 */
export function highestSupported(candidates: readonly string[]): CniVersion | undefined {
  let best: CniVersion | undefined;
  for (const c of candidates) {
    if (!isSupportedVersion(c)) continue;
    if (best === undefined || compareVersions(c, best) > 0) best = c;
  }
  return best;
}
