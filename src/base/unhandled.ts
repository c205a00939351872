/**
 * The `default` of a switch over a union that handles every member: the type checker refuses
 * the call when a member is left out, and a value from outside the types (a record read from
 * the network, a JSON document) that reaches it at run time gets a clear error, not undefined.
 */
export function unhandled(
  value: never,
  error: (shown: string) => Error = (s) => new Error(`unhandled ${s}`),
): never {
  throw error(JSON.stringify(value) ?? String(value));
}
