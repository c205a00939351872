/** A BGP config field that cannot be used; `field` is its path, e.g. `peers[1].address`. */
export class BgpConfigError extends Error {
  override readonly name = "BgpConfigError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Invalid BGP config: ${field} ${reason}`);
  }
}
