// Real X.509 certificates with chosen validity dates, made with node's crypto alone: the kubelet's
// client and server certificates of a sandbox node, and expired or expiring ones for the tests
// (openssl 3.0 cannot back-date an end date without a whole CA setup). A small DER encoder builds
// the TBSCertificate, which is signed with an ECDSA P-256 key; the PEM holds the certificate then
// the key, as the kubelet's *-current.pem files do.
import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface CertificateSpec {
  /** Subject and issuer (self-signed) as [attribute OID name, value]: e.g. [['O', 'system:nodes'], ['CN', 'system:node:x']]. */
  subject: Array<['CN' | 'O', string]>;
  notBefore: Date;
  notAfter: Date;
  /** 8 bytes; random when not given. */
  serial?: Buffer;
}

const OID = {
  CN: '2.5.4.3',
  O: '2.5.4.10',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
};

export function makeCertificatePem(spec: CertificateSpec, key: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey): string {
  const publicDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const name = seq(...spec.subject.map(([attr, value]) => set(seq(oid(OID[attr]), utf8(value)))));
  const algorithm = seq(oid(OID.ecdsaWithSHA256));
  // Positive, and minimal in DER: a first byte of 0 would be padding, which OpenSSL refuses (a
  // serial of 0x00 0x1f... made one certificate in about 256 unreadable).
  const serial = Buffer.from(spec.serial ?? randomBytes(8));
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const tbs = seq(
    tag(0xa0, int(Buffer.from([2]))),
    int(serial),
    algorithm,
    name,
    seq(time(spec.notBefore), time(spec.notAfter)),
    name,
    publicDer,
  );
  const signature = sign('sha256', tbs, key);
  const cert = seq(tbs, algorithm, bitString(signature));
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return `${pemBlock('CERTIFICATE', cert)}${keyPem}`;
}

function pemBlock(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tag(t: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([t]), length(body.length), body]);
}

const seq = (...c: Buffer[]) => tag(0x30, ...c);
const set = (...c: Buffer[]) => tag(0x31, ...c);
const utf8 = (s: string) => tag(0x0c, Buffer.from(s, 'utf8'));
const bitString = (b: Buffer) => tag(0x03, Buffer.from([0]), b);

function int(bytes: Buffer): Buffer {
  return tag(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [a * 40 + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tag(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 asks. */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
  return date.getUTCFullYear() < 2050 ? tag(0x17, Buffer.from(iso.slice(2))) : tag(0x18, Buffer.from(iso));
}
