/**
 * Name and label syntax for Services and pods, as Kubernetes validates them (pure: the plugin
 * checks what a runtime passes it, cluster/ what is stored). Each check returns why the text is
 * unacceptable, or undefined, so callers can name the field. Names also become datastore key
 * segments, which is why none of them may contain "/".
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** Pod names recorded by the plugin: Kubernetes names, or a CNI container ID when no pod name is known. */
const POD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const show = (text: string) => JSON.stringify(text);

function labelProblem(text: string, max: number, pattern: RegExp, shape: string): string | undefined {
  if (text.length === 0) return "must not be empty";
  if (text.length > max) return `${show(text)} is longer than ${max} characters`;
  if (!pattern.test(text)) return `${show(text)} is not ${shape}`;
  return undefined;
}

/** Namespaces are DNS-1123 labels, as in Kubernetes. */
export function namespaceProblem(text: string): string | undefined {
  return labelProblem(
    text,
    63,
    DNS1123_LABEL,
    "lowercase letters, digits and '-', starting and ending alphanumeric",
  );
}

/** Service names are DNS-1035 labels in Kubernetes: they become DNS names, so they start with a letter. */
export function serviceNameProblem(text: string): string | undefined {
  return labelProblem(text, 63, DNS1035_LABEL, "lowercase letters, digits and '-', starting with a letter");
}

/**
 * Port names are DNS-1123 labels with at least one letter, so `web:80` can never be read as
 * `PORT:TARGET` (Kubernetes' IANA service names have the same rule).
 */
export function portNameProblem(text: string): string | undefined {
  const problem = labelProblem(
    text,
    63,
    DNS1123_LABEL,
    "lowercase letters, digits and '-', starting and ending alphanumeric",
  );
  if (problem !== undefined) return problem;
  return /[a-z]/.test(text) ? undefined : `${show(text)} has no letter (it would read as a port number)`;
}

export function podNameProblem(text: string): string | undefined {
  return labelProblem(text, 253, POD_NAME, "letters, digits, '_', '.' and '-', starting alphanumeric");
}

/** Label keys: an optional DNS subdomain prefix and "/", then a name of at most 63 characters. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    const p = labelProblem(prefix, 253, DNS1123_SUBDOMAIN, "a DNS subdomain");
    if (p !== undefined) return `prefix ${p}`;
  }
  return labelProblem(name, 63, LABEL_NAME, "alphanumeric with '-', '_' or '.' inside");
}

export function labelValueProblem(value: string): string | undefined {
  if (value === "") return undefined;
  return labelProblem(value, 63, LABEL_NAME, "alphanumeric with '-', '_' or '.' inside");
}

/** The first problem of a label map (selector or pod labels), naming the key. */
export function labelsProblem(labels: unknown): string | undefined {
  if (typeof labels !== "object" || labels === null || Array.isArray(labels))
    return "must be a map of label keys to values";
  for (const [key, value] of Object.entries(labels)) {
    const k = labelKeyProblem(key);
    if (k !== undefined) return `key ${show(key)}: ${k}`;
    if (typeof value !== "string") return `value of ${show(key)} must be a string`;
    const v = labelValueProblem(value);
    if (v !== undefined) return `value of ${show(key)}: ${v}`;
  }
  return undefined;
}
