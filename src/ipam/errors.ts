/** No free address is left in any range of a range set. */
export class AddressExhaustedError extends Error {
  override readonly name = "AddressExhaustedError";
  /** The subnets of the exhausted range set, as text. */
  readonly subnets: readonly string[];

  constructor(subnets: readonly string[]) {
    super(`Cannot allocate address in ${subnets.map((s) => `"${s}"`).join(", ")}: range is exhausted`);
    this.subnets = subnets;
  }
}

/** A specifically requested address cannot be handed out (in use, reserved, or in no range). */
export class RequestedAddressError extends Error {
  override readonly name = "RequestedAddressError";
  readonly ip: string;
  readonly reason: string;

  constructor(ip: string, reason: string) {
    super(`Cannot allocate requested address "${ip}": ${reason}`);
    this.ip = ip;
    this.reason = reason;
  }
}

/** A range configuration is unusable; `field` locates it (e.g. `ranges[0][1].rangeStart`). */
export class InvalidRangeError extends Error {
  override readonly name = "InvalidRangeError";
  readonly field: string;
  readonly value: string | undefined;
  readonly reason: string;

  constructor(field: string, value: string | undefined, reason: string) {
    super(`Invalid range ${field}${value === undefined ? "" : ` "${value}"`}: ${reason}`);
    this.field = field;
    this.value = value;
    this.reason = reason;
  }
}
