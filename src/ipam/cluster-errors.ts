/** Domain errors of cluster-level address management: cluster config, node blocks, Service IPs. */

/** A cluster address setting is unusable; `what` names the setting ("cluster CIDR", ...). */
export class ClusterConfigError extends Error {
  override readonly name = "ClusterConfigError";
  readonly what: string;
  readonly value: string;
  readonly reason: string;

  constructor(what: string, value: string, reason: string) {
    super(`Invalid ${what} "${value}": ${reason}`);
    this.what = what;
    this.value = value;
    this.reason = reason;
  }
}

/** Every node block of one family is taken. */
export class BlockExhaustedError extends Error {
  override readonly name = "BlockExhaustedError";
  /** The cluster CIDRs of the exhausted family, as text. */
  readonly cidrs: readonly string[];
  readonly blockLength: number;

  constructor(cidrs: readonly string[], blockLength: number) {
    super(
      `Cannot allocate a /${blockLength} node block in ${cidrs.map((c) => `"${c}"`).join(", ")}: every block is taken`,
    );
    this.cidrs = cidrs;
    this.blockLength = blockLength;
  }
}

/** No address of a service CIDR is left for an automatic ClusterIP. */
export class ServiceIPExhaustedError extends Error {
  override readonly name = "ServiceIPExhaustedError";
  readonly cidr: string;

  constructor(cidr: string) {
    super(`Cannot allocate a ClusterIP in "${cidr}": range is exhausted`);
    this.cidr = cidr;
  }
}

/** A requested ClusterIP cannot be handed out (taken, reserved, or outside the service CIDR). */
export class ServiceIPUnavailableError extends Error {
  override readonly name = "ServiceIPUnavailableError";
  readonly ip: string;
  readonly reason: string;

  constructor(ip: string, reason: string) {
    super(`Cannot allocate requested ClusterIP "${ip}": ${reason}`);
    this.ip = ip;
    this.reason = reason;
  }
}
