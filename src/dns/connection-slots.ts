/**
 * TCP connection slots of the DNS server (pure): a global cap and a smaller cap per client, so one
 * pod holding many idle connections cannot take every slot and leave the others without the TCP
 * fallback for truncated answers (RFC 7766 §6.2.2 lets a server refuse or close connections).
 */

export interface ConnectionLimits {
  /** Connections open at once over all clients. */
  readonly max: number;
  /** Connections open at once from one client. */
  readonly perClient: number;
}

export type SlotRefusal = "tcp-connections" | "tcp-client-connections";

export class ConnectionSlots {
  private readonly byClient = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: ConnectionLimits) {
    if (!(limits.max >= 1) || !(limits.perClient >= 1))
      throw new RangeError(
        `Invalid DNS TCP connection limits: ${limits.max} in all, ${limits.perClient} per client`,
      );
  }

  get open(): number {
    return this.total;
  }

  of(client: string): number {
    return this.byClient.get(client) ?? 0;
  }

  /** Takes a slot for `client`, or says why not (the connection is then closed at once). */
  take(client: string): SlotRefusal | undefined {
    if (this.total >= this.limits.max) return "tcp-connections";
    const held = this.of(client);
    if (held >= this.limits.perClient) return "tcp-client-connections";
    this.byClient.set(client, held + 1);
    this.total++;
    return undefined;
  }

  /** Gives back a slot taken for `client`. */
  release(client: string): void {
    const held = this.of(client);
    if (held <= 0) return;
    if (held === 1) this.byClient.delete(client);
    else this.byClient.set(client, held - 1);
    this.total--;
  }
}
