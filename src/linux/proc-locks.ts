/**
 * Who holds a lock on a file, from /proc/locks (proc(5)): one line per lock, the waiters of a
 * blocking request marked "->". The pid there is the process that took the lock, whatever it
 * wrote into the file (it may have died before writing, or be another program such as flock(1)).
 */

/** The device of a stat() as /proc/locks prints it: major and minor in hex (glibc's encoding). */
export function deviceText(dev: number): string {
  const high = Math.floor(dev / 2 ** 32);
  const low = dev % 2 ** 32;
  const major = ((low >>> 8) & 0xfff) | (high & ~0xfff);
  const minor = (low & 0xff) | ((low >>> 12) & ~0xff);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

/** The pids holding (not waiting for) a lock on the file `dev`/`ino`, given /proc/locks' text (pure). */
export function lockHolders(procLocks: string, dev: number, ino: number): number[] {
  const file = `${deviceText(dev)}:${ino}`;
  const pids: number[] = [];
  for (const line of procLocks.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:2146359 0 EOF"; a waiter has "->" after the number.
    const fields = line.trim().split(/\s+/);
    if (fields[1] === "->") continue;
    const [, , , , pid, where] = fields;
    if (where !== file || pid === undefined || !/^[1-9][0-9]*$/.test(pid)) continue;
    pids.push(Number(pid));
  }
  return pids;
}
