/** Raised by the ipnet parsers; `input` is the text that was rejected, `reason` says why. */
export class AddressParseError extends Error {
  override readonly name = "AddressParseError";
  readonly input: string;
  readonly reason: string;

  constructor(input: string, reason: string, what = "IP address") {
    super(`Invalid ${what} "${input}": ${reason}`);
    this.input = input;
    this.reason = reason;
  }
}
