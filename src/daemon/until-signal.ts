/** Waiting for the end of a foreground server (`podnet ui`, `lab ui`): SIGINT or SIGTERM. */

/** Resolves with the signal's name at the first SIGINT or SIGTERM, then stops listening for them. */
export function untilSignal(): Promise<"SIGINT" | "SIGTERM"> {
  return new Promise((resolve) => {
    const done = (signal: "SIGINT" | "SIGTERM") => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(signal);
    };
    const onInt = () => done("SIGINT");
    const onTerm = () => done("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
}
