// The pod DB: SQLite through better-sqlite3, WAL journal.
//
// Durability choice: synchronous=NORMAL by default. In WAL mode a commit has written its frames to the
// WAL file with write(2) before it returns, so it survives SIGKILL / a crash of this process (the kernel
// holds the pages); only an OS crash or power loss can drop the last commits. `synchronous: 'FULL'`
// fsyncs the WAL on every commit for power-loss safety, at ~ms per commit.

import Database from 'better-sqlite3';
import type { EniRecord, IpRecord, IpState, PodMode, PodRecord, PoolSnapshot, PoolStore, StoreOp } from '../../pool/store.js';
import { migrations, schemaVersion } from './migrations.js';

export interface SqlitePoolStoreOptions {
  /** File path, or ':memory:' for tests. */
  path: string;
  synchronous?: 'NORMAL' | 'FULL';
  /** ms to wait for a lock held by another connection (the CLI / introspection may read). */
  busyTimeoutMs?: number;
  readonly?: boolean;
  /**
   * WAL checkpoints run from a timer (PASSIVE, unref'd) instead of SQLite's automatic one, which would
   * otherwise land inside an allocation's commit now and then (ms of page copying + fsync). Default 2000 ms;
   * 0 keeps SQLite's automatic checkpointing.
   */
  checkpointIntervalMs?: number;
}

export class StoreError extends Error {
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'StoreError';
  }
}

interface EniRow {
  eni_id: string;
  mac: string;
  vswitch_id: string;
  vswitch_cidr: string;
  gateway: string;
  is_primary: number;
  created_by_us: number;
  state: EniRecord['state'];
  created_at: number;
  primary_ip: string | null;
  vswitch_ipv6_cidr: string | null;
  ipv6_gateway: string | null;
}
interface IpRow {
  ip: string;
  eni_id: string;
  state: IpState;
  pod_key: string | null;
  since: number;
  reserved_for: string | null;
  until: number | null;
  missing_in_cloud: number;
  ipv6: string | null;
}
interface PodRow {
  pod_key: string;
  container_id: string;
  if_name: string;
  network_name: string;
  namespace: string;
  name: string;
  netns: string;
  ip: string;
  eni_id: string;
  eni_mac: string;
  primary_eni: number;
  vswitch_id: string;
  vswitch_cidr: string;
  gateway: string;
  mode: PodMode;
  stateful: number;
  allocated_at: number;
  ipv6: string | null;
  vswitch_ipv6_cidr: string | null;
  ipv6_gateway: string | null;
  updated_at: number;
}

/** Brings the schema to the latest version (each migration in its own transaction). */
export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > schemaVersion) throw new StoreError(`pod DB schema ${current} is newer than this daemon (${schemaVersion})`);
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return db.pragma('user_version', { simple: true }) as number;
}

export class SqlitePoolStore implements PoolStore {
  readonly db: Database.Database;
  private readonly stmts;
  private readonly applyTx: (ops: StoreOp[]) => void;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private writesSinceCheckpoint = 0;

  constructor(opts: SqlitePoolStoreOptions) {
    try {
      this.db = new Database(opts.path, { readonly: opts.readonly ?? false });
    } catch (err) {
      throw new StoreError(`open pod DB ${opts.path}: ${(err as Error).message}`, { cause: err });
    }
    this.db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    if (!opts.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous ?? 'NORMAL'}`);
      this.db.pragma('foreign_keys = ON');
      migrate(this.db);
      const every = opts.checkpointIntervalMs ?? 2000;
      if (every > 0) {
        this.db.pragma('wal_autocheckpoint = 0');
        this.db.pragma('journal_size_limit = 8388608');
        this.checkpointTimer = setInterval(() => this.checkpoint(), every);
        this.checkpointTimer.unref();
      }
    }
    const db = this.db;
    this.stmts = {
      putEni: db.prepare(
        `INSERT INTO enis (eni_id, mac, vswitch_id, vswitch_cidr, gateway, is_primary, created_by_us, state, created_at, primary_ip,
           vswitch_ipv6_cidr, ipv6_gateway)
         VALUES (@eni_id, @mac, @vswitch_id, @vswitch_cidr, @gateway, @is_primary, @created_by_us, @state, @created_at, @primary_ip,
           @vswitch_ipv6_cidr, @ipv6_gateway)
         ON CONFLICT(eni_id) DO UPDATE SET mac=excluded.mac, vswitch_id=excluded.vswitch_id, vswitch_cidr=excluded.vswitch_cidr,
           gateway=excluded.gateway, is_primary=excluded.is_primary, created_by_us=excluded.created_by_us, state=excluded.state,
           primary_ip=COALESCE(excluded.primary_ip, enis.primary_ip),
           vswitch_ipv6_cidr=COALESCE(excluded.vswitch_ipv6_cidr, enis.vswitch_ipv6_cidr),
           ipv6_gateway=COALESCE(excluded.ipv6_gateway, enis.ipv6_gateway)`,
      ),
      deleteEniIps: db.prepare('DELETE FROM ips WHERE eni_id = ?'),
      deleteEni: db.prepare('DELETE FROM enis WHERE eni_id = ?'),
      putIp: db.prepare(
        `INSERT INTO ips (ip, eni_id, state, pod_key, since, reserved_for, until, missing_in_cloud, ipv6)
         VALUES (@ip, @eni_id, @state, @pod_key, @since, @reserved_for, @until, @missing_in_cloud, @ipv6)
         ON CONFLICT(ip) DO UPDATE SET eni_id=excluded.eni_id, state=excluded.state, pod_key=excluded.pod_key, since=excluded.since,
           reserved_for=excluded.reserved_for, until=excluded.until, missing_in_cloud=excluded.missing_in_cloud, ipv6=excluded.ipv6`,
      ),
      deleteIp: db.prepare('DELETE FROM ips WHERE ip = ?'),
      putPod: db.prepare(
        `INSERT INTO pods (pod_key, container_id, if_name, network_name, namespace, name, netns, ip, eni_id, eni_mac, primary_eni,
           vswitch_id, vswitch_cidr, gateway, mode, stateful, allocated_at, updated_at, ipv6, vswitch_ipv6_cidr, ipv6_gateway)
         VALUES (@pod_key, @container_id, @if_name, @network_name, @namespace, @name, @netns, @ip, @eni_id, @eni_mac, @primary_eni,
           @vswitch_id, @vswitch_cidr, @gateway, @mode, @stateful, @allocated_at, @updated_at, @ipv6, @vswitch_ipv6_cidr, @ipv6_gateway)
         ON CONFLICT(pod_key) DO UPDATE SET netns=excluded.netns, ip=excluded.ip, eni_id=excluded.eni_id, eni_mac=excluded.eni_mac,
           primary_eni=excluded.primary_eni, vswitch_id=excluded.vswitch_id, vswitch_cidr=excluded.vswitch_cidr, gateway=excluded.gateway,
           mode=excluded.mode, stateful=excluded.stateful, updated_at=excluded.updated_at, ipv6=excluded.ipv6,
           vswitch_ipv6_cidr=excluded.vswitch_ipv6_cidr, ipv6_gateway=excluded.ipv6_gateway`,
      ),
      deletePod: db.prepare('DELETE FROM pods WHERE pod_key = ?'),
      allEnis: db.prepare('SELECT * FROM enis ORDER BY eni_id'),
      allIps: db.prepare('SELECT * FROM ips ORDER BY ip'),
      allPods: db.prepare('SELECT * FROM pods ORDER BY pod_key'),
    };
    this.applyTx = this.db.transaction((ops: StoreOp[]) => {
      for (const o of ops) this.applyOne(o);
    });
  }

  load(): PoolSnapshot {
    const read = this.db.transaction(() => ({
      enis: (this.stmts.allEnis.all() as EniRow[]).map(eniFromRow),
      ips: (this.stmts.allIps.all() as IpRow[]).map(ipFromRow),
      pods: (this.stmts.allPods.all() as PodRow[]).map(podFromRow),
    }));
    return read();
  }

  apply(ops: StoreOp[]): void {
    if (ops.length === 0) return;
    try {
      this.applyTx(ops);
      this.writesSinceCheckpoint++;
    } catch (err) {
      throw new StoreError(`pod DB write failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Schema version in the file (for introspection). */
  version(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Copies the WAL back into the DB file when there were writes (PASSIVE: never waits for readers). */
  checkpoint(): void {
    if (!this.db.open || this.writesSinceCheckpoint === 0) return;
    this.writesSinceCheckpoint = 0;
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A busy DB just means the next round does it.
    }
  }

  close(): void {
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.checkpointTimer = undefined;
    if (this.db.open) this.db.close();
  }

  /** Runs inside applyTx's transaction. */
  private applyOne(o: StoreOp): void {
    switch (o.op) {
      case 'putEni': {
        const e = o.eni;
        this.stmts.putEni.run({
          eni_id: e.eniId,
          mac: e.mac,
          vswitch_id: e.vSwitchId,
          vswitch_cidr: e.vSwitchCidr,
          gateway: e.gateway,
          is_primary: e.primary ? 1 : 0,
          created_by_us: e.createdByUs ? 1 : 0,
          state: e.state,
          created_at: e.createdAt,
          primary_ip: e.primaryIp ?? null,
          vswitch_ipv6_cidr: e.vSwitchIpv6Cidr ?? null,
          ipv6_gateway: e.ipv6Gateway ?? null,
        });
        break;
      }
      case 'deleteEni':
        this.stmts.deleteEniIps.run(o.eniId);
        this.stmts.deleteEni.run(o.eniId);
        break;
      case 'putIp': {
        const r = o.ip;
        this.stmts.putIp.run({
          ip: r.ip,
          eni_id: r.eniId,
          state: r.state,
          pod_key: r.podKey ?? null,
          since: r.since,
          reserved_for: r.reservedFor ?? null,
          until: r.until ?? null,
          missing_in_cloud: r.missingInCloud ? 1 : 0,
          ipv6: r.ipv6 ?? null,
        });
        break;
      }
      case 'deleteIp':
        this.stmts.deleteIp.run(o.ip);
        break;
      case 'putPod': {
        const p = o.pod;
        this.stmts.putPod.run({
          pod_key: p.podKey,
          container_id: p.containerId,
          if_name: p.ifName,
          network_name: p.networkName,
          namespace: p.namespace,
          name: p.name,
          netns: p.netns,
          ip: p.ip,
          eni_id: p.eniId,
          eni_mac: p.eniMac,
          primary_eni: p.primaryEni ? 1 : 0,
          vswitch_id: p.vSwitchId,
          vswitch_cidr: p.vSwitchCidr,
          gateway: p.gateway,
          mode: p.mode,
          stateful: p.stateful ? 1 : 0,
          allocated_at: p.allocatedAt,
          updated_at: Date.now(),
          ipv6: p.ipv6 ?? null,
          vswitch_ipv6_cidr: p.vSwitchIpv6Cidr ?? null,
          ipv6_gateway: p.ipv6Gateway ?? null,
        });
        break;
      }
      case 'deletePod':
        this.stmts.deletePod.run(o.podKey);
        break;
    }
  }
}

function eniFromRow(r: EniRow): EniRecord {
  return {
    eniId: r.eni_id,
    mac: r.mac,
    vSwitchId: r.vswitch_id,
    vSwitchCidr: r.vswitch_cidr,
    gateway: r.gateway,
    primary: r.is_primary === 1,
    createdByUs: r.created_by_us === 1,
    state: r.state,
    createdAt: r.created_at,
    ...(r.primary_ip !== null ? { primaryIp: r.primary_ip } : {}),
    ...(r.vswitch_ipv6_cidr !== null ? { vSwitchIpv6Cidr: r.vswitch_ipv6_cidr } : {}),
    ...(r.ipv6_gateway !== null ? { ipv6Gateway: r.ipv6_gateway } : {}),
  };
}

function ipFromRow(r: IpRow): IpRecord {
  const rec: IpRecord = { ip: r.ip, eniId: r.eni_id, state: r.state, since: r.since };
  if (r.pod_key !== null) rec.podKey = r.pod_key;
  if (r.reserved_for !== null) rec.reservedFor = r.reserved_for;
  if (r.until !== null) rec.until = r.until;
  if (r.missing_in_cloud) rec.missingInCloud = true;
  if (r.ipv6 !== null) rec.ipv6 = r.ipv6;
  return rec;
}

function podFromRow(r: PodRow): PodRecord {
  return {
    podKey: r.pod_key,
    containerId: r.container_id,
    ifName: r.if_name,
    networkName: r.network_name,
    namespace: r.namespace,
    name: r.name,
    netns: r.netns,
    ip: r.ip,
    eniId: r.eni_id,
    eniMac: r.eni_mac,
    primaryEni: r.primary_eni === 1,
    vSwitchId: r.vswitch_id,
    vSwitchCidr: r.vswitch_cidr,
    gateway: r.gateway,
    mode: r.mode,
    stateful: r.stateful === 1,
    allocatedAt: r.allocated_at,
    ...(r.ipv6 !== null ? { ipv6: r.ipv6 } : {}),
    ...(r.vswitch_ipv6_cidr !== null ? { vSwitchIpv6Cidr: r.vswitch_ipv6_cidr } : {}),
    ...(r.ipv6_gateway !== null ? { ipv6Gateway: r.ipv6_gateway } : {}),
  };
}

/** Opens (creating and migrating) the pod DB at `path`. */
export function openPoolStore(path: string, opts: Omit<SqlitePoolStoreOptions, 'path'> = {}): SqlitePoolStore {
  return new SqlitePoolStore({ ...opts, path });
}
