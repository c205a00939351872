/**
 * Well-known CNI error codes (CNI spec 1.1, "Error" section). 0-99 are reserved by the spec;
 * plugin-specific codes start at 100.
 */
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  NotAvailableExistingAffected: 51,
} as const;

export type WellKnownErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The error document a plugin prints on stdout before exiting non-zero. */
export interface CniErrorJSON {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** An error that already carries its CNI code; only the CNI layer and the plugin boundary create these. */
export class CniError extends Error {
  override readonly name = "CniError";
  readonly code: number;
  readonly details: string | undefined;

  constructor(code: number, msg: string, details?: string) {
    super(msg);
    // Code 0 would read as success to a runtime, so it can never describe a failure.
    if (!Number.isInteger(code) || code < 1) {
      throw new RangeError(`CNI error code ${code} is invalid: must be a positive integer`);
    }
    this.code = code;
    this.details = details;
  }

  get msg(): string {
    return this.message;
  }

  /**
   * The wire form. Call it explicitly with the config's version: JSON.stringify would pass the
   * property key instead of a version.
   */
  toJSON(cniVersion: string): CniErrorJSON {
    const json: CniErrorJSON = { cniVersion, code: this.code, msg: this.message };
    if (this.details !== undefined && this.details !== "") json.details = this.details;
    return json;
  }
}

export function isCniError(value: unknown): value is CniError {
  return value instanceof CniError;
}
