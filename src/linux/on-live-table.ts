/**
 * "Do X on the proxy's live table" for everything that reads it from outside the proxy (the
 * diagnosis facts, the lab checks, the tests). A full sync builds the new table under the other
 * of its two names and its swap deletes the old one (nft-table-family.ts), so a swap between
 * finding the live table and using it makes the use fail with ENOENT. Then the live table is
 * found again and used once more: a second swap in that window would need two full syncs within
 * one command, which is not the proxy's way; a caller whose second use fails too reports it.
 */

/** Whether nft failed because the table (or a set or chain of it) named is not there (ENOENT). */
export function isTableGone(stderr: string): boolean {
  return /No such file or directory/.test(stderr);
}

/** `use(await find())`; when `gone` says the table was deleted meanwhile, found and used once more. */
export async function onLiveTable<F, T>(
  find: () => Promise<F>,
  use: (found: F) => Promise<T>,
  gone: (result: T) => boolean,
): Promise<T> {
  const first = await use(await find());
  return gone(first) ? use(await find()) : first;
}

/** onLiveTable for synchronous steps (the integration tests' `runSync`). */
export function onLiveTableSync<F, T>(find: () => F, use: (found: F) => T, gone: (result: T) => boolean): T {
  const first = use(find());
  return gone(first) ? use(find()) : first;
}
