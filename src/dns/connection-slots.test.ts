import { describe, expect, test } from "bun:test";
import { ConnectionSlots } from "./connection-slots.ts";

describe("the DNS server's TCP connection slots", () => {
  test("one client gets at most its share; another client still gets a slot", () => {
    const slots = new ConnectionSlots({ max: 10, perClient: 3 });
    const a = Array.from({ length: 8 }, () => slots.take("10.244.1.5"));
    expect(a.filter((r) => r === undefined).length).toBe(3);
    expect(a[7]).toBe("tcp-client-connections");
    expect(slots.take("10.244.2.9")).toBeUndefined();
    expect([slots.open, slots.of("10.244.1.5")]).toEqual([4, 3]);
    slots.release("10.244.1.5");
    expect(slots.take("10.244.1.5")).toBeUndefined();
  });

  test("the global cap holds across clients, and releasing gives the slot back", () => {
    const slots = new ConnectionSlots({ max: 2, perClient: 2 });
    expect([slots.take("a"), slots.take("b"), slots.take("c")]).toEqual([
      undefined,
      undefined,
      "tcp-connections",
    ]);
    slots.release("a");
    slots.release("a"); // not held any more: no effect
    expect([slots.open, slots.take("c")]).toEqual([1, undefined]);
    expect(() => new ConnectionSlots({ max: 0, perClient: 1 })).toThrow("Invalid DNS TCP connection limits");
  });
});
