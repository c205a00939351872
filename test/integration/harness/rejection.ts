/**
 * What `p` rejected with; fails when it resolved. Used instead of `expect(p).rejects`, which in
 * this Bun version holds the event loop while it waits, so an etcd (gRPC) call under it never
 * gets its answer and times out.
 */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  const outcome = await p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
}
