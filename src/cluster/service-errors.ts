/** Domain errors of Services in the datastore: bad input, taken NodePorts, missing or duplicate Services. */
import type { Protocol } from "../k8s/service-model.ts";

/** A Service definition is refused; `field` is the path of the offending field ("ports[1].nodePort"). */
export class ServiceValidationError extends Error {
  override readonly name = "ServiceValidationError";
  constructor(
    /** "namespace/name" as given. */
    readonly service: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Invalid Service "${service}": ${field} ${reason}`);
  }
}

/** A NodePort cannot be had: the requested one is taken, or none is left for "auto". */
export class NodePortUnavailableError extends Error {
  override readonly name = "NodePortUnavailableError";
  constructor(
    /** The requested port, or undefined for an automatic allocation. */
    readonly port: number | undefined,
    readonly protocol: Protocol,
    readonly reason: string,
  ) {
    super(
      port === undefined
        ? `Cannot allocate a NodePort for ${protocol}: ${reason}`
        : `Cannot allocate NodePort ${port}/${protocol}: ${reason}`,
    );
  }
}

export class ServiceExistsError extends Error {
  override readonly name = "ServiceExistsError";
  constructor(readonly service: string) {
    super(`Service "${service}" already exists`);
  }
}

export class ServiceNotFoundError extends Error {
  override readonly name = "ServiceNotFoundError";
  constructor(readonly service: string) {
    super(`Service "${service}" does not exist`);
  }
}

/** A Service record read from the datastore is malformed; it is reported, never half-used. */
export class InvalidServiceRecordError extends Error {
  override readonly name = "InvalidServiceRecordError";
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`Service record ${key}: ${reason}`);
  }
}

/**
 * Creating a Service failed, and giving back what it had already claimed failed too: the
 * listed ClusterIP/NodePort keys stay held by a Service that does not exist.
 */
export class ServiceRollbackError extends Error {
  override readonly name = "ServiceRollbackError";
  constructor(
    readonly service: string,
    readonly original: Error,
    readonly leftovers: readonly string[],
    readonly rollbackError: Error,
  ) {
    super(
      `${original.message}; releasing what Service "${service}" had claimed also failed (${rollbackError.message}), ` +
        `still held: ${leftovers.join(", ")}`,
      { cause: original },
    );
  }
}
