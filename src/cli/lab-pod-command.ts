/** `podnet lab pod add|delete`: one pod more or less on the running lab. */
import { addLabPod, deleteLabPod } from "../lab/lab-pods.ts";
import { describeDeclaration } from "../lab/lab-readiness.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";

export const LAB_POD_USAGE =
  "usage: podnet lab pod add NODE NAME [--labels K=V,...] [--readiness tcp:PORT|http:PORT/PATH|none] | podnet lab pod delete NAME";

export async function labPodCommand(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["labels", "readiness"]);
  const [sub, ...names] = args.positionals;
  const labels = flag(args, "labels");
  const readiness = flag(args, "readiness");
  if (sub === "add" && names.length === 2) {
    const [node, name] = names as [string, string];
    const p = await addLabPod(node, name, {
      ...(labels !== undefined ? { labels } : {}),
      ...(readiness !== undefined ? { readiness } : {}),
    });
    console.log(
      `pod ${p.name} added on ${p.node} (netns ${p.netns}, readiness check ${describeDeclaration(p.readiness)})`,
    );
    return 0;
  }
  if (sub === "delete" && names.length === 1 && labels === undefined && readiness === undefined) {
    const p = await deleteLabPod(names[0] as string);
    console.log(`pod ${p.name} deleted from ${p.node}`);
    return 0;
  }
  throw new UsageError(LAB_POD_USAGE);
}
