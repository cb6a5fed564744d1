// Init container: prepares the daemon's config and installs the CNI plugin on the node.
// Run with the daemon image's node from the chart's scripts ConfigMap. Every file on the host is written
// to a temp file in the same directory and renamed over the target, so the container runtime never
// reads a half-written plugin or conflist, and a plugin binary in use is replaced, not truncated.
// The conflist goes last: its appearance tells the runtime the network is set up.
// In VPCIP mode the daemon needs this node's pod CIDR (pod_cidr), which one ConfigMap cannot hold
// for every node: unless eni_conf sets it, it is read from the Node object (spec.podCIDRs).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const env = (name, def) => (process.env[name] === undefined ? def : process.env[name]);
const cfg = {
  eniConfSrc: env('ENI_CONF_SRC', '/etc/eni-config/eni_conf'),
  eniConfDst: env('ENI_CONF_DST', '/etc/eni/eni_conf'),
  // Secret with keys access_key / access_secret; '' or a missing directory: none.
  secretDir: env('SECRET_DIR', ''),
  conflistSrc: env('CONFLIST_SRC', '/etc/eni-config/10-terway.conflist'),
  conflistDst: env('CONFLIST_DST', '/host/etc/cni/net.d/10-terway.conflist'),
  pluginSrc: env('PLUGIN_SRC', '/opt/eni-ipam/cni/terway'),
  pluginDst: env('PLUGIN_DST', '/host/opt/cni/bin/terway'),
  // For the Node lookup (VPCIP): this node's name, the API server and the pod's service account.
  nodeName: env('NODE_NAME', ''),
  apiServer: env('KUBE_API_URL', ''),
  serviceAccountDir: env('SERVICE_ACCOUNT_DIR', '/var/run/secrets/kubernetes.io/serviceaccount'),
};

function log(msg) {
  process.stdout.write(`install-cni: ${msg}\n`);
}

/** Writes data to file atomically (temp file in the same directory, fsync, rename, fsync dir). */
function writeAtomic(file, data, mode) {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, mode); // the umask may have cut the mode open() got
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  const dfd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

function readJsonObject(file) {
  const text = fs.readFileSync(file, 'utf8');
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${e.message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file} is not a JSON object`);
  return v;
}

function readSecretKey(dir, key) {
  const file = path.join(dir, key);
  if (!fs.existsSync(file)) return undefined;
  // Secrets made with `kubectl create secret --from-file` often end in a newline.
  const v = fs.readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
  return v === '' ? undefined : v;
}

function apiServerUrl() {
  if (cfg.apiServer !== '') return cfg.apiServer.replace(/\/+$/, '');
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT || '443';
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: cannot reach the API server');
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** GET a path on the API server with the pod's service-account token; resolves the parsed JSON. */
function apiGet(urlPath) {
  const base = new URL(apiServerUrl());
  const token = fs.readFileSync(path.join(cfg.serviceAccountDir, 'token'), 'utf8').trim();
  const caFile = path.join(cfg.serviceAccountDir, 'ca.crt');
  const lib = base.protocol === 'https:' ? require('node:https') : require('node:http');
  const opts = {
    method: 'GET',
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
    timeout: 10000,
    ...(base.protocol === 'https:' && fs.existsSync(caFile) ? { ca: fs.readFileSync(caFile) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = lib.request(new URL(urlPath, base), opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${urlPath}: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          reject(new Error(`GET ${urlPath}: bad JSON: ${e.message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** This node's IPv4 pod CIDR from the Node object (spec.podCIDRs, else spec.podCIDR). */
async function nodePodCidr() {
  if (cfg.nodeName === '') throw new Error("NODE_NAME is not set: cannot look up the node's pod CIDR");
  const node = await apiGet(`/api/v1/nodes/${encodeURIComponent(cfg.nodeName)}`);
  const spec = (node && node.spec) || {};
  const cidrs = Array.isArray(spec.podCIDRs) && spec.podCIDRs.length > 0 ? spec.podCIDRs : spec.podCIDR ? [spec.podCIDR] : [];
  const v4 = cidrs.find((c) => typeof c === 'string' && !c.includes(':'));
  if (!v4) {
    throw new Error(
      `node ${cfg.nodeName} has no IPv4 pod CIDR (spec.podCIDRs: ${JSON.stringify(cidrs)}); VPCIP needs ` +
        'kube-controller-manager --allocate-node-cidrs, or eniConf.pod_cidr on a one-node cluster',
    );
  }
  return v4;
}

async function renderEniConf() {
  const conf = readJsonObject(cfg.eniConfSrc);
  if (conf.daemon_mode === 'VPCIP' && !conf.pod_cidr) {
    conf.pod_cidr = await nodePodCidr();
    log(`pod_cidr ${conf.pod_cidr} from node ${cfg.nodeName}`);
  }
  let merged = false;
  if (cfg.secretDir !== '' && fs.existsSync(cfg.secretDir)) {
    const ak = readSecretKey(cfg.secretDir, 'access_key');
    const sk = readSecretKey(cfg.secretDir, 'access_secret');
    if ((ak === undefined) !== (sk === undefined)) {
      throw new Error(`secret at ${cfg.secretDir} must hold both access_key and access_secret (or neither)`);
    }
    if (ak !== undefined) {
      conf.access_key = ak;
      conf.access_secret = sk;
      merged = true;
    }
  }
  writeAtomic(cfg.eniConfDst, `${JSON.stringify(conf, null, 2)}\n`, 0o600);
  log(`wrote ${cfg.eniConfDst}${merged ? ' (with access key from the secret)' : ''}`);
}

// The plugin is one self-contained executable (no Node.js, nothing beside it on the host).
function installPlugin() {
  writeAtomic(cfg.pluginDst, fs.readFileSync(cfg.pluginSrc), 0o755);
  log(`installed plugin ${cfg.pluginSrc} -> ${cfg.pluginDst}`);
}

function installConflist() {
  const list = readJsonObject(cfg.conflistSrc);
  if (!Array.isArray(list.plugins) || list.plugins.length === 0) throw new Error(`${cfg.conflistSrc} has no plugins`);
  writeAtomic(cfg.conflistDst, `${JSON.stringify(list, null, 2)}\n`, 0o644);
  log(`wrote ${cfg.conflistDst}`);
}

async function main() {
  await renderEniConf();
  installPlugin();
  installConflist();
}

main().catch((e) => {
  process.stderr.write(`install-cni: ${e.message}\n`);
  process.exit(1);
});
