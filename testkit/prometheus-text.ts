/** Reading samples from Prometheus text exposition format, as the agents export their metrics (pure). */

/** The value of one sample (`name` or `name{labels}` exactly as exported), undefined when absent. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    if (line.slice(0, cut) === sample) return Number(line.slice(cut + 1));
  }
  return undefined;
}

/**
 * The sum of every series of a metric in Prometheus text format (`name` or `name{labels}`);
 * undefined when the metric is absent.
 */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}
