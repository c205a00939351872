/** What must be true before a benchmark starts: Linux, root, and the programs and files it runs. */
import { existsSync } from "node:fs";

export class PreflightError extends Error {
  override readonly name = "PreflightError";
}

/** A program looked up on PATH (and in the sbin directories, where iproute2 and nft live). */
export interface ProgramNeeded {
  readonly program: string;
  /** What it is, for "The X benchmark needs …". */
  readonly what: string;
}

/** A file that must exist; `missing` is the whole message when it does not. */
export interface FileNeeded {
  readonly file: string;
  readonly missing: string;
}

/**
 * Throws PreflightError naming the first thing missing. `benchmark` names the run in the
 * messages ("The CNI benchmark needs root: ...").
 */
export function preflight(benchmark: string, needs: readonly (ProgramNeeded | FileNeeded)[]): void {
  if (process.platform !== "linux")
    throw new PreflightError(`The ${benchmark} needs Linux network namespaces (this is ${process.platform})`);
  if (process.getuid?.() !== 0)
    throw new PreflightError(`The ${benchmark} needs root: it creates network namespaces (run it with sudo)`);
  const PATH = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;
  for (const need of needs) {
    if ("program" in need) {
      if (!Bun.which(need.program, { PATH })) throw new PreflightError(`The ${benchmark} needs ${need.what}`);
    } else if (!existsSync(need.file)) {
      throw new PreflightError(need.missing);
    }
  }
}
