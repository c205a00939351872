/**
 * The CNI version an answer speaks before the config is validated: the config's own when it names
 * a supported one (an error document in the caller's version is one the caller can read), the
 * latest otherwise.
 */
import type { CniVersion } from "../cni/version.ts";
import { isSupportedVersion, LATEST_VERSION } from "../cni/version.ts";

export function configVersionHint(stdin: string): CniVersion {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return isSupportedVersion(v) ? v : LATEST_VERSION;
  } catch {
    return LATEST_VERSION;
  }
}
