import { describe, expect, test } from "bun:test";
import { CniError, ErrorCode } from "../cni/errors.ts";
import { AddressExhaustedError, InvalidRangeError, RequestedAddressError } from "../ipam/errors.ts";
import { AddressParseError } from "../ipnet/errors.ts";
import { CommandError } from "../linux/exec.ts";
import { IpBatchError } from "../linux/ip.ts";
import { NoSuchDeviceError } from "../linux/netlink/rtnl-ops.ts";
import { NetlinkError } from "../linux/netlink/socket.ts";
import { NetnsMissingError, NotANetnsError } from "../linux/netns.ts";
import { StateUnavailableError } from "../node-state/node-state.ts";
import { BridgeConflictError, InterfaceExistsError } from "./attach.ts";
import { CheckFailedError } from "./check.ts";
import { PodnetErrorCode, toCniError } from "./error-codes.ts";
import { AllocationMismatchError } from "./ipam-builtin.ts";

// Each domain error with the code a runtime must see for it (README's code table, CNI spec for < 100).
const mappings: readonly { name: string; error: Error; code: number }[] = [
  { name: "AddressParseError", error: new AddressParseError("10.0.0.256", "octet out of range"), code: 7 },
  {
    name: "InvalidRangeError",
    error: new InvalidRangeError("ranges[0][0].rangeStart", "10.1.0.5", "outside the subnet"),
    code: 7,
  },
  {
    name: "AddressExhaustedError",
    error: new AddressExhaustedError(["10.0.0.0/30", "fd00::/126"]),
    code: 100,
  },
  {
    name: "RequestedAddressError",
    error: new RequestedAddressError("10.0.0.7", "already in use"),
    code: 101,
  },
  { name: "InterfaceExistsError", error: new InterfaceExistsError("eth0", "/run/netns/pod1"), code: 102 },
  { name: "NetnsMissingError", error: new NetnsMissingError("/run/netns/gone"), code: 3 },
  {
    name: "AllocationMismatchError",
    error: new AllocationMismatchError("container c1 holds 10.0.0.9, not 10.0.0.8"),
    code: 103,
  },
  {
    name: "CheckFailedError",
    error: new CheckFailedError('interface "eth0" has no address 10.0.0.8/24'),
    code: 103,
  },
  {
    name: "BridgeConflictError",
    error: new BridgeConflictError('"podnet0" exists but is a dummy link, not a bridge'),
    code: 104,
  },
  {
    name: "StateUnavailableError without SQLite code",
    error: new StateUnavailableError("/run/podnet", "is not writable"),
    code: 5,
  },
  {
    name: "StateUnavailableError after SQLITE_BUSY",
    error: new StateUnavailableError("/run/podnet/ipam.db", "database is locked", "SQLITE_BUSY"),
    code: 11,
  },
  {
    name: "StateUnavailableError after another SQLite failure",
    error: new StateUnavailableError("/run/podnet/ipam.db", "file is not a database", "SQLITE_NOTADB"),
    code: 5,
  },
  {
    name: "CommandError",
    error: new CommandError(["ip", "link", "add", "x"], 2, "RTNETLINK answers: File exists\n"),
    code: 105,
  },
  {
    name: "IpBatchError (a CommandError)",
    error: new IpBatchError(["ip", "-batch", "-"], 1, "Command failed -:1\n", undefined, undefined),
    code: 105,
  },
  { name: "NetlinkError", error: new NetlinkError(17, 'add link "pn0123"'), code: 105 },
  { name: "NoSuchDeviceError (a NetlinkError)", error: new NoSuchDeviceError("pnnothere0"), code: 105 },
  { name: "a plain Error", error: new Error("something unforeseen"), code: 5 },
  { name: "a TypeError", error: new TypeError("x is not a function"), code: 5 },
];

describe("toCniError", () => {
  test.each(mappings)("$name → code $code", ({ error, code }) => {
    const cni = toCniError(error);
    expect(cni).toBeInstanceOf(CniError);
    expect(cni.code).toBe(code);
    // The runtime shows only msg: the domain error's wording (what and why) must reach it intact.
    expect(cni.msg).toBe(error.message);
  });

  test("the podnet codes are the documented ones and the spec codes are the spec's", () => {
    expect(PodnetErrorCode).toEqual({
      AddressExhausted: 100,
      RequestedAddressUnavailable: 101,
      InterfaceExists: 102,
      CheckFailed: 103,
      BridgeConflict: 104,
      KernelOperationFailed: 105,
    });
    expect([ErrorCode.UnknownContainer, ErrorCode.IOFailure, ErrorCode.InvalidNetworkConfig]).toEqual([
      3, 5, 7,
    ]);
    expect(ErrorCode.TryAgainLater).toBe(11);
  });

  test("a CNI_NETNS that is not a namespace is code 4 and names the variable", () => {
    const cni = toCniError(new NotANetnsError("/tmp/not-a-netns"));
    expect(cni.code).toBe(ErrorCode.InvalidEnvironment);
    expect(cni.msg).toBe('CNI_NETNS: "/tmp/not-a-netns" is not a network namespace (not on nsfs)');
  });

  test("a CniError passes through unchanged", () => {
    const original = new CniError(
      ErrorCode.IncompatibleVersion,
      "version 9.9.9 is not supported",
      "use 1.1.0",
    );
    expect(toCniError(original)).toBe(original);
  });

  test("a failed command carries the command's stderr as details, none when it printed nothing", () => {
    const failed = toCniError(
      new CommandError(["ip", "link", "add", "x"], 2, "  RTNETLINK answers: File exists\n"),
    );
    expect(failed.details).toBe("RTNETLINK answers: File exists");
    expect(failed.toJSON("1.1.0").details).toBe("RTNETLINK answers: File exists");
    const silent = toCniError(new CommandError(["ip", "link", "add", "x"], 2, " \n"));
    expect(silent.details).toBeUndefined();
    expect(silent.toJSON("1.1.0")).not.toHaveProperty("details");
  });

  test("a netlink failure names the operation and the kernel's reason", () => {
    const cni = toCniError(new NetlinkError(17, 'add link "pn0123"'));
    expect(cni.msg).toBe('add link "pn0123": File exists');
  });

  test("an unexpected Error is code 5 with the top of its stack as details", () => {
    const error = new Error("something unforeseen");
    error.stack =
      "Error: something unforeseen\n    at a (x.ts:1)\n    at b (x.ts:2)\n    at c (x.ts:3)\n    at d (x.ts:4)";
    const cni = toCniError(error);
    expect(cni.code).toBe(5);
    // Enough of the stack to locate the bug, kept to one line; the message itself is in msg.
    expect(cni.details).toContain("at a (x.ts:1)");
    expect(cni.details).toContain("at c (x.ts:3)");
    expect(cni.details).not.toContain("at d (x.ts:4)");
    expect(cni.details).not.toContain("\n");
  });

  test.each([
    ["a string", "boom"],
    ["a number", 42],
    ["undefined", undefined],
    ["an object", { code: 7 }],
  ] as const)("a thrown non-Error (%s) is code 5 and says what was thrown", (_name, thrown) => {
    const cni = toCniError(thrown);
    expect(cni.code).toBe(5);
    expect(cni.msg).toBe(`unexpected failure: ${String(thrown)}`);
  });
});
