/**
 * What a caught value says, for a message or an answer: an Error's message, anything else (a
 * thrown string, a rejected promise's reason) as its String().
 */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
