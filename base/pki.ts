/**
 * A cluster's certificate authority: one ECDSA P-256 CA per system (the lab's, `npm start`'s,
 * a test's), and the certificates it issues to Raft members, daemons and clients for mutual
 * TLS. On the ground floor because the lab, the Raft and server tests and the CLI's fake
 * gateway all issue certificates from it.
 *
 * Everything is PEM on disk under one directory: `ca.pem` and `ca-key.pem`, then
 * `<name>.pem` and `<name>-key.pem` per certificate. Private keys are written with mode 0600,
 * and every file is written to a temporary name first and renamed, so a crash never leaves
 * a half-written file; `ca.pem` is written last and marks a complete authority.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { certificateRole, ROLE_URI_PREFIX, type ClusterRole } from './cluster-role.js';

// The roles and reading them, for those who issue certificates too (base/cluster-role.ts).
export {
  CLUSTER_ROLES,
  ROLE_URI_PREFIX,
  certificateRole,
  describeRole,
  isClusterRole,
  type ClusterRole,
} from './cluster-role.js';

type CryptoKey = webcrypto.CryptoKey;

/** Passed to every @peculiar/x509 call, rather than installed as its global provider. */
const crypto = webcrypto;
const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CA_VALIDITY_DAYS = 3650;
const DEFAULT_CERTIFICATE_DAYS = 365;
/** Lab hosts' clocks may disagree a little; a certificate is valid a bit before it is issued. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const CA_CERT_FILE = 'ca.pem';
const CA_KEY_FILE = 'ca-key.pem';
/** Certificate names become file names: no separators, no dot files, nothing to escape. */
const CERTIFICATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type PkiErrorCode = 'invalid_certificate_name' | 'invalid_authority';

/** A refused request to the lab CA; `code` says which kind. */
export class PkiError extends Error {
  constructor(
    readonly code: PkiErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PkiError';
  }
}

/** A CA able to sign certificates. */
export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

/** `server` for TLS servers, `client` for TLS clients, `both` for Raft members (they are both). */
export type CertificateUsage = 'server' | 'client' | 'both';

export interface IssueCertificateOptions {
  /** The subject common name; also the file name under {@link ensureCertificate}. */
  readonly name: string;
  /** Names a client may dial a server by; checked by Node's TLS client. */
  readonly dnsNames?: readonly string[];
  /** IP addresses a client may dial a server at; checked by Node's TLS client. */
  readonly ipAddresses?: readonly string[];
  readonly usages: CertificateUsage;
  /** Validity from now; 365 by default. */
  readonly days?: number;
  /** What the holder may do in the cluster; none for certificates outside it (Raft tests). */
  readonly role?: ClusterRole;
}

/** A certificate and its private key (PKCS#8), both PEM. */
export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Creates a new CA in memory: ECDSA P-256, valid ten years, unique subject name. */
export async function createCertificateAuthority(): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      // A random suffix tells two labs' CAs apart in logs and in TLS alerts.
      name: `CN=Agenda lab CA ${randomBytes(4).toString('hex')}, O=Agenda`,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
      keys,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return {
    certPem: certificate.toString('pem'),
    keyPem: await exportPrivateKey(keys.privateKey),
    certificate,
    privateKey: keys.privateKey,
  };
}

/**
 * Loads the CA stored under `dir`, or creates and stores one on first use. The same
 * directory yields the same CA on every later call, in any process.
 *
 * @throws PkiError `invalid_authority` when the stored key does not match the certificate.
 */
export async function ensureCertificateAuthority(dir: string): Promise<CertificateAuthority> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certPath = path.join(dir, CA_CERT_FILE);
  const keyPath = path.join(dir, CA_KEY_FILE);
  const certPem = await readIfExists(certPath);
  if (certPem !== null) {
    return loadCertificateAuthority(certPem, await readFile(keyPath, 'utf8'));
  }
  const ca = await createCertificateAuthority();
  await writeAtomically(keyPath, ca.keyPem, 0o600);
  await writeAtomically(certPath, ca.certPem, 0o644);
  return ca;
}

/** Parses a stored CA and checks that its key is the certificate's. */
export async function loadCertificateAuthority(
  certPem: string,
  keyPem: string,
): Promise<CertificateAuthority> {
  let certificate: x509.X509Certificate;
  let privateKey: CryptoKey;
  try {
    certificate = new x509.X509Certificate(certPem);
    privateKey = await webcrypto.subtle.importKey(
      'pkcs8',
      x509.PemConverter.decodeFirst(keyPem),
      KEY_ALGORITHM,
      true,
      ['sign'],
    );
  } catch (error) {
    throw new PkiError('invalid_authority', 'the stored CA cannot be parsed', { cause: error });
  }
  const probe = randomBytes(32);
  const signature = await webcrypto.subtle.sign(SIGNING_ALGORITHM, privateKey, probe);
  const publicKey = await webcrypto.subtle.importKey(
    'spki',
    certificate.publicKey.rawData,
    KEY_ALGORITHM,
    false,
    ['verify'],
  );
  if (!(await webcrypto.subtle.verify(SIGNING_ALGORITHM, publicKey, signature, probe))) {
    throw new PkiError('invalid_authority', 'the stored CA key does not match its certificate');
  }
  return { certPem, keyPem, certificate, privateKey };
}

/** Issues a certificate for TLS server and/or client authentication, with a fresh P-256 key. */
export async function issueCertificate(
  ca: CertificateAuthority,
  options: IssueCertificateOptions,
): Promise<IssuedCertificate> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const extendedUsages: x509.ExtendedKeyUsage[] = [];
  if (options.usages !== 'client') {
    extendedUsages.push(x509.ExtendedKeyUsage.serverAuth);
  }
  if (options.usages !== 'server') {
    extendedUsages.push(x509.ExtendedKeyUsage.clientAuth);
  }
  const alternativeNames = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(options.role === undefined
      ? []
      : [{ type: 'url' as const, value: `${ROLE_URI_PREFIX}${options.role}` }]),
  ];
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject: `CN=${escapeDistinguishedNameValue(options.name)}`,
      issuer: ca.certificate.subject,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + (options.days ?? DEFAULT_CERTIFICATE_DAYS) * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: ca.privateKey,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(extendedUsages, false),
        ...(alternativeNames.length > 0
          ? [new x509.SubjectAlternativeNameExtension(alternativeNames, false)]
          : []),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: certificate.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

export interface EnsureCertificateOptions extends Omit<IssueCertificateOptions, 'name'> {
  readonly ca: CertificateAuthority;
}

/**
 * Returns the certificate stored as `<name>.pem`/`<name>-key.pem` under `dir`, issuing and
 * storing it first if there is none — or if the stored one is not valid now or was not
 * signed by `options.ca` (a lab whose CA was recreated), or does not carry the role `options`
 * asks for (one issued before roles were). A valid stored certificate with the right role is
 * reused as is, even if `options` asks for other names.
 *
 * @throws PkiError `invalid_certificate_name` for a name that is not a plain file name.
 */
export async function ensureCertificate(
  dir: string,
  name: string,
  options: EnsureCertificateOptions,
): Promise<IssuedCertificate> {
  if (!CERTIFICATE_NAME.test(name) || name === 'ca') {
    throw new PkiError(
      'invalid_certificate_name',
      `certificate name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-' and not "ca"`,
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certPath = path.join(dir, `${name}.pem`);
  const keyPath = path.join(dir, `${name}-key.pem`);
  const certPem = await readIfExists(certPath);
  const keyPem = await readIfExists(keyPath);
  if (
    certPem !== null &&
    keyPem !== null &&
    (await isValidNow(certPem, options.ca)) &&
    certificateRole(certPem) === (options.role ?? null)
  ) {
    return { certPem, keyPem };
  }
  const { ca, ...issueOptions } = options;
  const issued = await issueCertificate(ca, { ...issueOptions, name });
  await writeAtomically(keyPath, issued.keyPem, 0o600);
  await writeAtomically(certPath, issued.certPem, 0o644);
  return issued;
}

async function isValidNow(certPem: string, ca: CertificateAuthority): Promise<boolean> {
  try {
    const certificate = new x509.X509Certificate(certPem);
    return await certificate.verify(
      { publicKey: ca.certificate.publicKey, date: new Date() },
      crypto,
    );
  } catch {
    // An unparsable file is as good as no file: it is replaced.
    return false;
  }
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

/** A positive 127-bit serial: random, as RFC 5280 recommends, and never read as negative. */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** Escapes the characters RFC 4514 reserves in an attribute value. */
function escapeDistinguishedNameValue(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (character) => `\\${character}`);
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (isMissingFile(error)) {
      return null;
    }
    throw error;
  }
}

function isMissingFile(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

async function writeAtomically(file: string, contents: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, contents, { mode, flag: 'wx' });
  await rename(temporary, file);
}
