/**
 * A 5-member etcd cluster on loopback with the same shape as our benchmark (mutual TLS on
 * peer and client traffic, etcd's default fsync), for a side-by-side figure. Only used when
 * the `etcd` binary is installed (`apt-get install etcd-server`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { ensureCertificate, ensureCertificateAuthority } from '../../base/pki.js';

export function etcdInstalled(): boolean {
  return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface EtcdCluster {
  /** Writes one key through the leader's JSON gateway; resolves once committed. */
  put(key: string, value: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startEtcdCluster(
  dir: string,
  size: number,
  basePort: number,
): Promise<EtcdCluster> {
  const pkiDir = join(dir, 'pki');
  const ca = await ensureCertificateAuthority(pkiDir);
  const tlsFile = (name: string) => ({
    cert: join(pkiDir, `${name}.pem`),
    key: join(pkiDir, `${name}-key.pem`),
  });
  const clientCert = await ensureCertificate(pkiDir, 'etcd-client', {
    ca,
    usages: 'client',
    days: 30,
  });
  const peerUrl = (i: number) => `https://127.0.0.1:${basePort + i}`;
  const clientUrl = (i: number) => `https://127.0.0.1:${basePort + 100 + i}`;
  const initial = Array.from({ length: size }, (_, k) => `m${k + 1}=${peerUrl(k + 1)}`).join(',');
  const procs: ChildProcess[] = [];
  for (let i = 1; i <= size; i++) {
    await ensureCertificate(pkiDir, `etcd-${i}`, {
      ca,
      usages: 'both',
      ipAddresses: ['127.0.0.1'],
      days: 30,
    });
    const f = tlsFile(`etcd-${i}`);
    const data = join(dir, `etcd-${i}`);
    mkdirSync(data, { recursive: true });
    const log = createWriteStream(join(dir, `etcd-${i}.log`));
    const p = spawn(
      'etcd',
      [
        `--name=m${i}`,
        `--data-dir=${data}`,
        `--listen-peer-urls=${peerUrl(i)}`,
        `--initial-advertise-peer-urls=${peerUrl(i)}`,
        `--listen-client-urls=${clientUrl(i)}`,
        `--advertise-client-urls=${clientUrl(i)}`,
        `--initial-cluster=${initial}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=agenda-bench',
        `--cert-file=${f.cert}`,
        `--key-file=${f.key}`,
        `--trusted-ca-file=${join(pkiDir, 'ca.pem')}`,
        '--client-cert-auth',
        `--peer-cert-file=${f.cert}`,
        `--peer-key-file=${f.key}`,
        `--peer-trusted-ca-file=${join(pkiDir, 'ca.pem')}`,
        '--peer-client-cert-auth',
        '--logger=zap',
        '--log-level=error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    p.stdout?.pipe(log);
    p.stderr?.pipe(log);
    procs.push(p);
  }
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 256,
    ca: ca.certPem,
    cert: clientCert.certPem,
    key: clientCert.keyPem,
  });
  const post = (url: string, path: string, body: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = request(
        `${url}${path}`,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200) reject(new Error(`etcd ${res.statusCode}: ${text}`));
            else resolve(JSON.parse(text));
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  // Find the leader: writes go there directly, as our clients do.
  let leaderUrl: string | null = null;
  const deadline = Date.now() + 30_000;
  while (!leaderUrl && Date.now() < deadline) {
    for (let i = 1; i <= size && !leaderUrl; i++) {
      try {
        const s = (await post(clientUrl(i), '/v3/maintenance/status', {})) as {
          leader?: string;
          header?: { member_id?: string };
        };
        if (s.leader && s.leader === s.header?.member_id) leaderUrl = clientUrl(i);
      } catch {
        // Not up yet.
      }
    }
    if (!leaderUrl) await new Promise((r) => setTimeout(r, 200));
  }
  if (!leaderUrl) throw new Error(`etcd did not elect a leader (logs in ${dir})`);
  const url = leaderUrl;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    put: async (key, value) => {
      await post(url, '/v3/kv/put', { key: b64(key), value: b64(value) });
    },
    stop: async () => {
      agent.destroy();
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((r) => {
              if (p.exitCode !== null) return r();
              p.once('exit', () => r());
              p.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
