/**
 * Items by label term, a key and its value (pure). The EndpointIndex keeps pods under every term
 * of their labels and Services under one term of their selector, so a pod event or a Service
 * change finds its candidates by a few Map lookups instead of scanning the namespace; the caller
 * then checks the full selector on the candidates only.
 *
 * Terms are looked up by key, then value, with the label's own strings: a "key=value" string
 * per lookup was one short-lived string per label of every pod event, and at 100,000 pods that
 * garbage leaves the index's long-lived cells scattered over half-empty heap pages.
 */

/**
 * Most terms hold one item (a Service's own `app=` label) or a few (the pods of one Service), so a
 * bucket is the item itself, then an array, and a Set only past SMALL items: a Set per term costs
 * about three times an array at 10,000 terms of 10 pods. Items must be neither arrays nor Sets.
 */
type Bucket<T> = T | T[] | Set<T>;
const SMALL = 16;

export class SelectorIndex<T> {
  /** label key → label value → items */
  private readonly byKey = new Map<string, Map<string, Bucket<T>>>();
  private termCount = 0;

  add(key: string, value: string, item: T): void {
    let byValue = this.byKey.get(key);
    if (byValue === undefined) {
      byValue = new Map();
      this.byKey.set(key, byValue);
    }
    const bucket = byValue.get(value);
    if (bucket === undefined) {
      byValue.set(value, item);
      this.termCount++;
    } else if (bucket instanceof Set) bucket.add(item);
    else if (Array.isArray(bucket)) {
      if (bucket.includes(item)) return;
      if (bucket.length < SMALL) bucket.push(item);
      else byValue.set(value, new Set([...bucket, item]));
    } else if (bucket !== item) byValue.set(value, [bucket, item]);
  }

  delete(key: string, value: string, item: T): void {
    const byValue = this.byKey.get(key);
    const bucket = byValue?.get(value);
    if (byValue === undefined || bucket === undefined) return;
    if (bucket instanceof Set) {
      bucket.delete(item);
      if (bucket.size <= SMALL / 2) byValue.set(value, [...bucket]);
    } else if (Array.isArray(bucket)) {
      const at = bucket.indexOf(item);
      if (at < 0) return;
      bucket[at] = bucket[bucket.length - 1] as T;
      bucket.pop();
      if (bucket.length === 1) byValue.set(value, bucket[0] as T);
    } else if (bucket === item) {
      byValue.delete(value);
      this.termCount--;
      if (byValue.size === 0) this.byKey.delete(key);
    }
  }

  /** Files `item` under every term of `labels`. */
  addLabels(labels: Readonly<Record<string, string>>, item: T): void {
    for (const key of Object.keys(labels)) this.add(key, labels[key] as string, item);
  }

  deleteLabels(labels: Readonly<Record<string, string>>, item: T): void {
    for (const key of Object.keys(labels)) this.delete(key, labels[key] as string, item);
  }

  /** The items under the term `key=value` (do not change the index while iterating them). */
  *withTerm(key: string, value: string): Generator<T> {
    const bucket = this.byKey.get(key)?.get(value);
    if (bucket instanceof Set || Array.isArray(bucket)) yield* bucket;
    else if (bucket !== undefined) yield bucket;
  }

  count(key: string, value: string): number {
    const bucket = this.byKey.get(key)?.get(value);
    if (bucket === undefined) return 0;
    if (bucket instanceof Set) return bucket.size;
    return Array.isArray(bucket) ? bucket.length : 1;
  }

  /** Adds to `into` the items under any term of `labels`. */
  collect(labels: Readonly<Record<string, string>>, into: Set<T>): void {
    for (const key of Object.keys(labels)) {
      const bucket = this.byKey.get(key)?.get(labels[key] as string);
      if (bucket instanceof Set || Array.isArray(bucket)) for (const item of bucket) into.add(item);
      else if (bucket !== undefined) into.add(bucket);
    }
  }

  /** How many terms hold items (empty buckets are dropped). */
  get terms(): number {
    return this.termCount;
  }
}
