/**
 * Container images built on the spot, for runtimes that must not reach a registry: one layer with
 * Debian's statically linked busybox (busybox-static) and a link per applet in /bin, and any
 * number of image configs over it (a pause image, an app image), written as one OCI image layout
 * archive that `ctr images import` reads. Names go in the `io.containerd.image.name` annotation,
 * which containerd's importer takes as the image's full reference.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { mustRunSync } from "../../../src/linux/exec.ts";

/** Where the busybox-static package puts its binary. */
export const BUSYBOX_STATIC = "/bin/busybox";

export interface ImageSpec {
  /** A full reference, e.g. "docker.io/pntest/pause:1" (what the CRI config and requests name). */
  readonly name: string;
  readonly entrypoint: readonly string[];
  readonly env?: readonly string[];
}

export class OciImageError extends Error {
  override readonly name = "OciImageError";
}

const MEDIA = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar",
} as const;

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** The OCI platform of this machine (GOARCH spelling). */
function ociArchitecture(): string {
  switch (process.arch) {
    case "x64":
      return "amd64";
    case "arm64":
      return "arm64";
    default:
      throw new OciImageError(`Cannot name the OCI architecture of "${process.arch}"`);
  }
}

/**
 * An image holding a dynamically linked busybox would fail inside the container with a bare
 * "no such file or directory" (its loader is missing); refuse it here, by the ELF PT_INTERP header.
 */
function assertStatic(path: string): void {
  const fd = openSync(path, "r");
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2)
      throw new OciImageError(`${path} is not a 64-bit ELF executable`);
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++)
      if (table.readUInt32LE(i * phentsize) === 3)
        throw new OciImageError(
          `${path} is dynamically linked: install busybox-static (scripts/setup.sh does)`,
        );
  } finally {
    closeSync(fd);
  }
}

function writeBlob(layout: string, content: Buffer, mediaType: string): Descriptor {
  const hex = createHash("sha256").update(content).digest("hex");
  writeFileSync(`${layout}/blobs/sha256/${hex}`, content);
  return { mediaType, digest: `sha256:${hex}`, size: content.length };
}

/** Reproducible tar of `dir`'s content (no timestamps or owners of the build machine). */
function tarOf(dir: string, out: string, entries: readonly string[]): void {
  mustRunSync([
    "tar",
    "--sort=name",
    "--numeric-owner",
    "--owner=0",
    "--group=0",
    "--mtime=@0",
    "-C",
    dir,
    "-cf",
    out,
    ...entries,
  ]);
}

/** The busybox root filesystem under `rootfs`: /bin/busybox, /bin/APPLET -> busybox, empty /etc and /tmp. */
function busyboxRootfs(rootfs: string): void {
  assertStatic(BUSYBOX_STATIC);
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev"])
    mkdirSync(`${rootfs}/${d}`, { recursive: true });
  chmodSync(`${rootfs}/tmp`, 0o1777);
  copyFileSync(BUSYBOX_STATIC, `${rootfs}/bin/busybox`);
  chmodSync(`${rootfs}/bin/busybox`, 0o755);
  const applets = mustRunSync([BUSYBOX_STATIC, "--list"])
    .stdout.split("\n")
    .filter((a) => /^[\w.[-]+$/.test(a));
  for (const applet of applets) if (applet !== "busybox") symlinkSync("busybox", `${rootfs}/bin/${applet}`);
}

/**
 * Writes `${dir}/images.tar`, an OCI image layout with one image per spec, all sharing the busybox
 * layer; returns its path. `dir` must be empty or missing.
 */
export function buildBusyboxImages(dir: string, specs: readonly ImageSpec[]): string {
  const rootfs = `${dir}/rootfs`;
  const layout = `${dir}/layout`;
  busyboxRootfs(rootfs);
  mkdirSync(`${layout}/blobs/sha256`, { recursive: true });
  tarOf(rootfs, `${dir}/layer.tar`, ["."]);
  const layerBytes = readFileSync(`${dir}/layer.tar`);
  const layer = writeBlob(layout, layerBytes, MEDIA.layer);
  const platform = { architecture: ociArchitecture(), os: "linux" };
  const manifests = specs.map((spec) => {
    const config = writeBlob(
      layout,
      Buffer.from(
        JSON.stringify({
          ...platform,
          config: { Entrypoint: spec.entrypoint, Env: spec.env ?? ["PATH=/bin"], WorkingDir: "/" },
          // An uncompressed layer's diff ID is its own digest.
          rootfs: { type: "layers", diff_ids: [layer.digest] },
        }),
      ),
      MEDIA.config,
    );
    const manifest = writeBlob(
      layout,
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: [layer] })),
      MEDIA.manifest,
    );
    const tag = spec.name.slice(spec.name.lastIndexOf(":") + 1);
    return {
      ...manifest,
      platform,
      annotations: { "io.containerd.image.name": spec.name, "org.opencontainers.image.ref.name": tag },
    };
  });
  writeFileSync(`${layout}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(`${layout}/index.json`, JSON.stringify({ schemaVersion: 2, manifests }));
  const archive = `${dir}/images.tar`;
  tarOf(layout, archive, ["oci-layout", "index.json", "blobs"]);
  return archive;
}
