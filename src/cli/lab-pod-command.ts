/** `podnet lab pod add|delete`: one pod more or less on the running lab. */
import { addLabPod, deleteLabPod } from "../lab/lab-pods.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";

export const LAB_POD_USAGE =
  "usage: podnet lab pod add NODE NAME [--labels K=V,...] | podnet lab pod delete NAME";

export async function labPodCommand(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["labels"]);
  const [sub, ...names] = args.positionals;
  if (sub === "add" && names.length === 2) {
    const [node, name] = names as [string, string];
    const p = await addLabPod(node, name, flag(args, "labels"));
    console.log(`pod ${p.name} added on ${p.node} (netns ${p.netns})`);
    return 0;
  }
  if (sub === "delete" && names.length === 1 && flag(args, "labels") === undefined) {
    const p = await deleteLabPod(names[0] as string);
    console.log(`pod ${p.name} deleted from ${p.node}`);
    return 0;
  }
  throw new UsageError(LAB_POD_USAGE);
}
