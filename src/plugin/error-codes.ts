/**
 * The plugin boundary: domain errors become CNI error codes here and nowhere else.
 * Codes below 100 are the spec's; 100 and up are podnet's own (listed in the README).
 */
import { CniError, ErrorCode } from "../cni/errors.ts";
import { AddressExhaustedError, InvalidRangeError, RequestedAddressError } from "../ipam/errors.ts";
import { AddressParseError } from "../ipnet/errors.ts";
import { CommandError } from "../linux/exec.ts";
import { NetlinkError } from "../linux/netlink/socket.ts";
import { NetnsMissingError, NotANetnsError } from "../linux/netns.ts";
import { StateUnavailableError } from "../node-state/node-state.ts";
import { BridgeConflictError, InterfaceExistsError } from "./attach.ts";
import { CheckFailedError } from "./check.ts";
import { AllocationMismatchError } from "./ipam-builtin.ts";

export const PodnetErrorCode = {
  AddressExhausted: 100,
  RequestedAddressUnavailable: 101,
  InterfaceExists: 102,
  CheckFailed: 103,
  BridgeConflict: 104,
  KernelOperationFailed: 105,
} as const;

export function toCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  if (!(e instanceof Error)) return new CniError(ErrorCode.IOFailure, `unexpected failure: ${String(e)}`);
  if (e instanceof AddressParseError || e instanceof InvalidRangeError)
    return new CniError(ErrorCode.InvalidNetworkConfig, e.message);
  if (e instanceof AddressExhaustedError) return new CniError(PodnetErrorCode.AddressExhausted, e.message);
  if (e instanceof RequestedAddressError)
    return new CniError(PodnetErrorCode.RequestedAddressUnavailable, e.message);
  if (e instanceof InterfaceExistsError) return new CniError(PodnetErrorCode.InterfaceExists, e.message);
  if (e instanceof NetnsMissingError) return new CniError(ErrorCode.UnknownContainer, e.message);
  if (e instanceof NotANetnsError)
    return new CniError(ErrorCode.InvalidEnvironment, `CNI_NETNS: ${e.message}`);
  if (e instanceof AllocationMismatchError || e instanceof CheckFailedError)
    return new CniError(PodnetErrorCode.CheckFailed, e.message);
  if (e instanceof BridgeConflictError) return new CniError(PodnetErrorCode.BridgeConflict, e.message);
  if (e instanceof StateUnavailableError) {
    // Another process held the state database past the busy timeout: worth a retry, not a failure.
    const code = e.sqliteCode?.startsWith("SQLITE_BUSY") ? ErrorCode.TryAgainLater : ErrorCode.IOFailure;
    return new CniError(code, e.message);
  }
  if (e instanceof NetlinkError) return new CniError(PodnetErrorCode.KernelOperationFailed, e.message);
  if (e instanceof CommandError)
    return new CniError(PodnetErrorCode.KernelOperationFailed, e.message, e.stderr.trim() || undefined);
  return new CniError(ErrorCode.IOFailure, e.message, e.stack?.split("\n").slice(1, 4).join(" | "));
}
