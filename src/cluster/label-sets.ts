/**
 * Equal label sets shared within one listing or one batch of watch events (pure). The pods of a
 * Deployment (or of a Service, in the proxy's benchmark) carry the same labels, and JSON.parse
 * makes an object per record: at 100,000 pods that is 100,000 objects where 10,000 would do. The
 * table lives only as long as its listing or batch, so labels of deleted pods are never held by
 * it; a set seen in two batches is two objects, which costs memory but is still correct.
 */

type Labels = Readonly<Record<string, string>>;

/** Candidates compared per first label: a first label shared by many different sets stops here. */
const MAX_CANDIDATES = 8;

function sameLabels(a: Labels, b: Labels, keys: readonly string[]): boolean {
  let n = 0;
  for (const k in b) {
    if (!Object.hasOwn(b, k)) continue;
    if (!Object.hasOwn(a, k) || a[k] !== b[k]) return false;
    n++;
  }
  return n === keys.length;
}

export class LabelSets {
  /** first label key → its value → label sets seen with that first label */
  private readonly byFirst = new Map<string, Map<string, Labels[]>>();
  private empty: Labels | undefined;

  /** An equal label set seen before in this table, or `labels` itself (kept for the next ones). */
  share<L extends Labels>(labels: L): L {
    const keys = Object.keys(labels);
    const first = keys[0];
    if (first === undefined) {
      this.empty ??= labels;
      return this.empty as L;
    }
    const value = labels[first] as string;
    let byValue = this.byFirst.get(first);
    if (byValue === undefined) {
      byValue = new Map();
      this.byFirst.set(first, byValue);
    }
    const seen = byValue.get(value);
    if (seen === undefined) {
      byValue.set(value, [labels]);
      return labels;
    }
    for (const s of seen) if (sameLabels(labels, s, keys)) return s as L;
    if (seen.length < MAX_CANDIDATES) seen.push(labels);
    return labels;
  }
}
