/**
 * Which etcd member a call may try. A member that just failed to answer (connection refused,
 * no leader) is skipped for a moment while another member has not failed, so one dead member
 * costs nothing once noticed. Unlike a plain circuit breaker, a member is never skipped when
 * every member failed recently: after a full outage the first call goes through as soon as
 * the cluster is back, instead of being refused until some breaker half-opens.
 */
import { NoopPolicy } from "cockatiel";
import { GRPCUnavailableError } from "etcd3";

const SKIP_MS = 1000;

/** Thrown instead of calling a member that is being skipped; the client then tries the next one. */
export class MemberSkippedError extends Error {
  override readonly name = "MemberSkippedError";
  constructor(readonly member: string) {
    super(`etcd member ${member} failed less than ${SKIP_MS} ms ago: skipped`);
  }
}

export class MemberHealth {
  private readonly failedAt = new Map<string, number>();
  private readonly members = new Set<string>();

  private recentlyFailed(member: string, now: number): boolean {
    const t = this.failedAt.get(member);
    return t !== undefined && now - t < SKIP_MS;
  }

  shouldSkip(member: string): boolean {
    const now = Date.now();
    if (!this.recentlyFailed(member, now)) return false;
    return [...this.members].some((m) => !this.recentlyFailed(m, now));
  }

  /** The per-member policy the etcd3 client runs each call to `member` through. */
  policyFor(member: string): NoopPolicy {
    this.members.add(member);
    return new MemberPolicy(member, this);
  }

  record(member: string, ok: boolean): void {
    if (ok) this.failedAt.delete(member);
    else this.failedAt.set(member, Date.now());
  }
}

class MemberPolicy extends NoopPolicy {
  constructor(
    private readonly member: string,
    private readonly health: MemberHealth,
  ) {
    super();
  }

  override async execute<T>(
    fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T> {
    if (this.health.shouldSkip(this.member)) throw new MemberSkippedError(this.member);
    try {
      const result = await super.execute(fn, signal);
      this.health.record(this.member, true);
      return result;
    } catch (e) {
      // Only "could not talk to this member" counts; an application error means it answered.
      if (e instanceof GRPCUnavailableError) this.health.record(this.member, false);
      throw e;
    }
  }
}
