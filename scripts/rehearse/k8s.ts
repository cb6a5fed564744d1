// What the rehearsal needs of Kubernetes: render the chart with a real helm, and turn one rendered
// DaemonSet container into the `podman run` a kubelet would amount to on a node of the simulated VPC.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export type Obj = Record<string, unknown>;

/** $HELM_BIN, helm on PATH, or the copy test/charts/fetch-helm.sh puts in node_modules/.cache (fetched when absent). */
export function findHelm(): string {
  const cached = join(ROOT, 'node_modules', '.cache', 'eni-ipam-helm', 'helm');
  const candidates = [process.env.HELM_BIN, ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'helm')), cached];
  const works = (c: string | undefined): c is string => {
    if (!c) return false;
    try {
      accessSync(c, constants.X_OK);
    } catch {
      return false;
    }
    return spawnSync(c, ['version', '--short'], { timeout: 20_000 }).status === 0;
  };
  const found = candidates.find(works);
  if (found) return found;
  execFileSync('bash', [join(ROOT, 'test', 'charts', 'fetch-helm.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!works(cached)) throw new Error('no helm: set HELM_BIN or run test/charts/fetch-helm.sh');
  return cached;
}

/** `helm template` of charts/eni-ipam with `values`; the manifests. */
export function helmTemplate(helm: string, values: Obj, release = 'eni-ipam', namespace = 'kube-system'): Obj[] {
  const dir = mkdtempSync(join(tmpdir(), 'rehearse-values-'));
  try {
    writeFileSync(join(dir, 'values.yaml'), yaml.dump(values));
    const out = execFileSync(
      helm,
      ['template', release, join(ROOT, 'charts', 'eni-ipam'), '-n', namespace, '-f', join(dir, 'values.yaml')],
      {
        encoding: 'utf8',
      },
    );
    return (yaml.loadAll(out) as unknown[]).filter((d): d is Obj => typeof d === 'object' && d !== null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function findDoc(docs: Obj[], kind: string, name?: string): Obj {
  const d = docs.find((x) => x.kind === kind && (name === undefined || (x.metadata as Obj).name === name));
  if (!d) throw new Error(`no ${kind} ${name ?? ''} in the rendered chart`);
  return d;
}

/** A node of the simulated VPC as the kubelet would see it. */
export interface NodeHost {
  name: string;
  /** Its network namespace (the pod's "host network"). */
  netns: string;
  /** Root of its filesystem: every hostPath lands under it, except the kernel-wide ones below. */
  root: string;
}

/** hostPaths that are the kernel's, not the node's disk: the real ones are mounted. */
const KERNEL_PATHS = ['/var/run/netns', '/run/netns', '/proc/sys/net'];

export interface PodSpecContext {
  node: NodeHost;
  podName: string;
  namespace: string;
  /** Rendered ConfigMaps and Secrets by name (data: file -> content). */
  configMaps: Map<string, Record<string, string>>;
  secrets: Map<string, Record<string, string>>;
  /** Per pod instance: emptyDirs and projected files live here. */
  podDir: string;
}

/** `podman run` arguments (before the image) for `container` of the DaemonSet pod `spec`. */
export function podmanArgs(spec: Obj, container: Obj, ctx: PodSpecContext): string[] {
  const args: string[] = [];
  if (spec.hostNetwork) args.push('--network', `ns:/run/netns/${ctx.node.netns}`);
  if (spec.hostPID) args.push('--pid', 'host');
  const sc = (container.securityContext ?? {}) as Obj;
  if (sc.privileged) args.push('--privileged');
  const caps = (sc.capabilities ?? {}) as { add?: string[]; drop?: string[] };
  for (const c of caps.drop ?? []) args.push('--cap-drop', c);
  for (const c of caps.add ?? []) args.push('--cap-add', c);
  if (sc.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
  if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  if (sc.runAsUser !== undefined) args.push('--user', String(sc.runAsUser));
  if (container.workingDir) args.push('--workdir', String(container.workingDir));
  for (const e of (container.env ?? []) as Obj[]) {
    const from = (e.valueFrom as Obj | undefined)?.fieldRef as Obj | undefined;
    const field = from?.fieldPath;
    const value =
      field === 'spec.nodeName'
        ? ctx.node.name
        : field === 'metadata.name'
          ? ctx.podName
          : field === 'metadata.namespace'
            ? ctx.namespace
            : e.value;
    args.push('--env', `${String(e.name)}=${String(value ?? '')}`);
  }
  const volumes = new Map(((spec.volumes ?? []) as Obj[]).map((v) => [String(v.name), v]));
  for (const m of (container.volumeMounts ?? []) as Obj[]) {
    const v = volumes.get(String(m.name));
    if (!v) throw new Error(`volume ${String(m.name)} not in the pod spec`);
    const src = volumeSource(v, ctx);
    const opts = [m.readOnly ? 'ro' : 'rw'];
    if (m.mountPropagation === 'HostToContainer') opts.push('rslave');
    args.push('--volume', `${src}:${String(m.mountPath)}:${opts.join(',')}`);
  }
  return args;
}

function volumeSource(v: Obj, ctx: PodSpecContext): string {
  const name = String(v.name);
  if (v.hostPath) {
    const p = String((v.hostPath as Obj).path);
    if (KERNEL_PATHS.includes(p)) return p;
    const dir = join(ctx.node.root, p);
    mkdirSync(dir, { recursive: true }); // DirectoryOrCreate
    return dir;
  }
  const dir = join(ctx.podDir, 'volumes', name);
  mkdirSync(dir, { recursive: true });
  const files = v.configMap
    ? ctx.configMaps.get(String((v.configMap as Obj).name))
    : v.secret
      ? ctx.secrets.get(String((v.secret as Obj).secretName))
      : v.emptyDir
        ? {}
        : undefined;
  if (!files) throw new Error(`volume ${name}: unsupported source ${JSON.stringify(v)}`);
  for (const [f, content] of Object.entries(files)) writeFileSync(join(dir, f), content, { mode: v.secret ? 0o400 : 0o644 });
  return dir;
}
