import { describe, expect, test } from "bun:test";
import {
  NetlinkBatchTooLargeError,
  NftElementsRefusedError,
  NftElementsUnavailableError,
  NftSocketUnavailableError,
} from "./nft-element-errors.ts";

describe("loader errors", () => {
  test("NftElementsRefusedError says which set and the kernel's reason", () => {
    const e = new NftElementsRefusedError("ip", "podnet-b", [
      { set: "service-ips", errno: 2 },
      { set: undefined, errno: 12 },
    ]);
    expect(e.message).toBe(
      "Kernel refused elements (nothing applied): set service-ips of ip podnet-b: No such file or directory; " +
        "the element batch for ip podnet-b: Cannot allocate memory",
    );
  });

  test("a refusal in a later batch says which batches were applied", () => {
    const refusal = [{ set: "service-ips", errno: 2 }];
    expect(new NftElementsRefusedError("ip", "podnet-b", refusal, { batch: 1, of: 1 }).message).toContain(
      "(nothing applied)",
    );
    expect(new NftElementsRefusedError("ip", "podnet-b", refusal, { batch: 1, of: 3 }).message).toContain(
      "(batch 1 of 3: no batch before it applied, nothing of batch 1)",
    );
    expect(new NftElementsRefusedError("ip", "podnet-b", refusal, { batch: 2, of: 3 }).message).toContain(
      "(batch 2 of 3: batch 1 applied, nothing of batch 2)",
    );
    const e = new NftElementsRefusedError("ip", "podnet-b", refusal, { batch: 4, of: 7 });
    expect(e.message).toBe(
      "Kernel refused elements (batch 4 of 7: batches 1-3 applied, nothing of batch 4): set service-ips of ip podnet-b: No such file or directory",
    );
    expect(e.appliedBatches).toBe(3);
    expect(new NftElementsRefusedError("ip", "t", refusal).appliedBatches).toBe(0);
  });

  test("every failure that is not the kernel's refusal is one class a caller can fall back on", () => {
    const tooLarge = new NetlinkBatchTooLargeError(
      "the element batch for ip podnet-b",
      "send",
      2_000_032,
      425_984,
    );
    expect(tooLarge).toBeInstanceOf(NftElementsUnavailableError);
    expect(tooLarge.name).toBe("NetlinkBatchTooLargeError");
    expect(tooLarge.message).toStartWith(
      "netlink could not be used: the element batch for ip podnet-b needs a 2000032-byte send buffer, and the socket could be given only 425984 bytes",
    );
    expect(tooLarge.message).toContain("wmem_max");
    const socket = new NftSocketUnavailableError("x: Cannot open a netlink socket: Operation not permitted");
    expect(socket).toBeInstanceOf(NftElementsUnavailableError);
    expect(socket.message).toBe(
      "netlink could not be used: x: Cannot open a netlink socket: Operation not permitted",
    );
    expect(new NftElementsRefusedError("ip", "t", [])).not.toBeInstanceOf(NftElementsUnavailableError);
  });
});
