import { compareIP, formatIP, type IPAddress, ipFromBigint } from "./address.ts";

/** An inclusive span of addresses of one family; `start` ≤ `end`. */
export interface IPRange {
  readonly start: IPAddress;
  readonly end: IPAddress;
}

export function makeRange(start: IPAddress, end: IPAddress): IPRange {
  if (start.family !== end.family) {
    throw new RangeError(
      `Range ${formatIP(start)}-${formatIP(end)} mixes IPv${start.family} and IPv${end.family}`,
    );
  }
  if (compareIP(start, end) > 0) {
    throw new RangeError(`Range ${formatIP(start)}-${formatIP(end)} starts after it ends`);
  }
  return { start, end };
}

export function rangeContains(r: IPRange, ip: IPAddress): boolean {
  return ip.family === r.start.family && ip.value >= r.start.value && ip.value <= r.end.value;
}

export function rangeSize(r: IPRange): bigint {
  return r.end.value - r.start.value + 1n;
}

export function* iterateRange(r: IPRange): Generator<IPAddress> {
  for (let v = r.start.value; v <= r.end.value; v++) yield ipFromBigint(r.start.family, v);
}

export function rangesOverlap(a: IPRange, b: IPRange): boolean {
  return a.start.family === b.start.family && a.start.value <= b.end.value && b.start.value <= a.end.value;
}

export function formatRange(r: IPRange): string {
  return `${formatIP(r.start)}-${formatIP(r.end)}`;
}
