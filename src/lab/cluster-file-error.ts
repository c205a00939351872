/** The error of a cluster file (`podnet lab up -f`) that cannot describe a lab: names the field and the reason. */
export class ClusterFileError extends Error {
  override readonly name = "ClusterFileError";
  /** `field` names the setting ("segments[0].cidr"); empty when `reason` names it itself. */
  constructor(field: string, reason: string) {
    super(field === "" ? `Invalid cluster file: ${reason}` : `Invalid cluster file: ${field} ${reason}`);
  }
}
