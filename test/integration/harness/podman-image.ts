/**
 * The image the podman test runs, made on the spot because no registry is reachable: Debian's
 * statically linked busybox (busybox-static) with a link per applet in /bin, and one web page per
 * container name under /www/NAME, so an HTTP answer says which container served it. Written as a
 * root filesystem tarball, which `podman import` turns into an image.
 */
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { mustRunSync, runSync } from "../../../src/linux/exec.ts";

/** Where busybox-static puts its binary. */
export const BUSYBOX = "/bin/busybox";

/**
 * Debian's `busybox` package installs a dynamically linked /bin/busybox, which fails in an image
 * without its loader with a bare "no such file or directory"; only busybox-static will do.
 */
function assertBusyboxStatic(): void {
  const r = runSync(["dpkg", "--status", "busybox-static"]);
  if (r.code !== 0 || !r.stdout.includes("Status: install ok installed"))
    throw new Error(
      "Cannot build the podman test image: busybox-static is not installed (scripts/setup.sh installs it)",
    );
}

/** `<dir>/rootfs.tar` with busybox, its applets and /www/NAME/index.html saying NAME; returns the path. */
export function busyboxRootfsTar(dir: string, pages: readonly string[]): string {
  assertBusyboxStatic();
  const rootfs = `${dir}/rootfs`;
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "www"])
    mkdirSync(`${rootfs}/${d}`, { recursive: true });
  chmodSync(`${rootfs}/tmp`, 0o1777);
  copyFileSync(BUSYBOX, `${rootfs}/bin/busybox`);
  chmodSync(`${rootfs}/bin/busybox`, 0o755);
  const applets = mustRunSync([BUSYBOX, "--list"])
    .stdout.split("\n")
    .filter((a) => /^[\w.[-]+$/.test(a) && a !== "busybox");
  for (const applet of applets) symlinkSync("busybox", `${rootfs}/bin/${applet}`);
  for (const name of pages) {
    mkdirSync(`${rootfs}/www/${name}`);
    writeFileSync(`${rootfs}/www/${name}/index.html`, `${name}\n`);
  }
  const tar = `${dir}/rootfs.tar`;
  mustRunSync(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", rootfs, "-cf", tar, "."]);
  return tar;
}
