/**
 * Items by label term, `key=value` (pure). The EndpointIndex keeps pods under every term of their
 * labels and Services under one term of their selector, so a pod event or a Service change finds
 * its candidates by a few Map lookups instead of scanning the namespace; the caller then checks
 * the full selector on the candidates only.
 */

/**
 * The term of one label. A key holding "=" could make two labels share a term; that only adds a
 * candidate, which the full selector check then drops.
 */
export function labelTerm(key: string, value: string): string {
  return `${key}=${value}`;
}

/**
 * Most terms hold one item (a Service's own `app=` label) or a few (the pods of one Service), so a
 * bucket is the item itself, then an array, and a Set only past SMALL items: a Set per term costs
 * about three times an array at 10,000 terms of 10 pods. Items must be neither arrays nor Sets.
 */
type Bucket<T> = T | T[] | Set<T>;
const SMALL = 16;

export class SelectorIndex<T> {
  private readonly byTerm = new Map<string, Bucket<T>>();

  add(term: string, item: T): void {
    const bucket = this.byTerm.get(term);
    if (bucket === undefined) this.byTerm.set(term, item);
    else if (bucket instanceof Set) bucket.add(item);
    else if (Array.isArray(bucket)) {
      if (bucket.includes(item)) return;
      if (bucket.length < SMALL) bucket.push(item);
      else this.byTerm.set(term, new Set([...bucket, item]));
    } else if (bucket !== item) this.byTerm.set(term, [bucket, item]);
  }

  delete(term: string, item: T): void {
    const bucket = this.byTerm.get(term);
    if (bucket === undefined) return;
    if (bucket instanceof Set) {
      bucket.delete(item);
      if (bucket.size <= SMALL / 2) this.byTerm.set(term, [...bucket]);
    } else if (Array.isArray(bucket)) {
      const at = bucket.indexOf(item);
      if (at < 0) return;
      bucket[at] = bucket[bucket.length - 1] as T;
      bucket.pop();
      if (bucket.length === 1) this.byTerm.set(term, bucket[0] as T);
    } else if (bucket === item) this.byTerm.delete(term);
  }

  /** Files `item` under every term of `labels`. */
  addLabels(labels: Readonly<Record<string, string>>, item: T): void {
    for (const key of Object.keys(labels)) this.add(labelTerm(key, labels[key] as string), item);
  }

  deleteLabels(labels: Readonly<Record<string, string>>, item: T): void {
    for (const key of Object.keys(labels)) this.delete(labelTerm(key, labels[key] as string), item);
  }

  /** The items under `term` (do not change the index while iterating them). */
  *withTerm(term: string): Generator<T> {
    const bucket = this.byTerm.get(term);
    if (bucket instanceof Set || Array.isArray(bucket)) yield* bucket;
    else if (bucket !== undefined) yield bucket;
  }

  count(term: string): number {
    const bucket = this.byTerm.get(term);
    if (bucket === undefined) return 0;
    if (bucket instanceof Set) return bucket.size;
    return Array.isArray(bucket) ? bucket.length : 1;
  }

  /** Adds to `into` the items under any term of `labels`. */
  collect(labels: Readonly<Record<string, string>>, into: Set<T>): void {
    for (const key of Object.keys(labels)) {
      const bucket = this.byTerm.get(labelTerm(key, labels[key] as string));
      if (bucket instanceof Set || Array.isArray(bucket)) for (const item of bucket) into.add(item);
      else if (bucket !== undefined) into.add(bucket);
    }
  }

  /** How many terms hold items (empty buckets are dropped). */
  get terms(): number {
    return this.byTerm.size;
  }
}
