// What a pod interface's identity may look like, checked by the plugin (from CNI_* and CNI_ARGS) and again by the
// daemon (the plugin is not the only client of its socket), so nothing unbounded or malformed is stored, logged,
// put in a file name or served. Pure functions: each returns why a value is refused, or undefined.
//   container id, network name: the CNI spec's rule (an alphanumeric, then alphanumerics, '_', '.', '-'); the spec
//     sets no length, so at most 255 bytes, a path component's bound (libcni keys its result cache files by both).
//   interface name: the kernel's (dev_valid_name): 1..15 bytes, not "." or "..", no '/', ':', whitespace or NUL.
//   netns: an absolute path of at most 4095 bytes (PATH_MAX with its NUL), no NUL.
//   pod name and namespace (CNI_ARGS K8S_POD_NAME / K8S_POD_NAMESPACE): at most 253 characters of
//     [A-Za-z0-9][A-Za-z0-9_.-]*. Kubelet puts Kubernetes names there (a DNS-1123 subdomain of at most 253, a label
//     of at most 63, both inside this rule); podman puts its container name in both (e.g. "web_1", "Web"), so the
//     Kubernetes rules themselves (lower case, 63 for a namespace) would refuse every podman pod.

export const MAX_ID_BYTES = 255;
export const MAX_IFNAME_BYTES = 15;
export const MAX_NETNS_BYTES = 4095;
export const MAX_POD_NAME = 253;
export const MAX_NAMESPACE = 253;
/** Free text a client sends (release reason, plugin version, event reason / message) is cut to this many characters. */
export const MAX_TEXT = 1024;

const CNI_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** A value as an error message quotes it: JSON, at most `max` characters of it. */
export function quote(value: string, max = 64): string {
  const s = JSON.stringify(value.length > max ? value.slice(0, max) : value);
  return value.length > max ? `${s.slice(0, -1)}..."(${value.length} chars)` : s;
}

/** Cuts free text to MAX_TEXT characters (noting how long it was). */
export function boundText(s: string, max = MAX_TEXT): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length} chars)`;
}

export function containerIdProblem(id: string): string | undefined {
  if (id === '') return 'must not be empty';
  if (bytes(id) > MAX_ID_BYTES) return `must be at most ${MAX_ID_BYTES} bytes (got ${bytes(id)})`;
  if (!CNI_NAME_RE.test(id)) return 'must match [a-zA-Z0-9][a-zA-Z0-9_.-]*';
  return undefined;
}

export function networkNameProblem(name: string): string | undefined {
  return containerIdProblem(name);
}

export function ifNameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'must be 1-15 bytes, not "." or ".."';
  if (bytes(name) > MAX_IFNAME_BYTES) return `must be at most ${MAX_IFNAME_BYTES} bytes (got ${bytes(name)})`;
  if (/[/:\s\0]/.test(name)) return 'must not contain "/", ":", whitespace or NUL';
  return undefined;
}

/** `required`: ADD and CHECK need a netns; DEL may come without one. */
export function netnsProblem(path: string, required: boolean): string | undefined {
  if (path === '') return required ? 'must not be empty' : undefined;
  if (!path.startsWith('/')) return 'must be an absolute path';
  if (bytes(path) > MAX_NETNS_BYTES) return `must be at most ${MAX_NETNS_BYTES} bytes (got ${bytes(path)})`;
  if (path.includes('\u0000')) return 'must not contain NUL';
  return undefined;
}

/** Empty is allowed: some runtimes pass no pod name. */
export function podNameProblem(name: string): string | undefined {
  return runtimeNameProblem(name, MAX_POD_NAME);
}

export function namespaceProblem(ns: string): string | undefined {
  return runtimeNameProblem(ns, MAX_NAMESPACE);
}

function runtimeNameProblem(name: string, max: number): string | undefined {
  if (name === '') return undefined;
  if (name.length > max) return `must be at most ${max} characters (got ${name.length})`;
  if (!CNI_NAME_RE.test(name)) return 'must be a Kubernetes or container name ([A-Za-z0-9][A-Za-z0-9_.-]*)';
  return undefined;
}
