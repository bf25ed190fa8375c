// Test certificates, made at test time with the openssl CLI into a fresh temporary directory: once per process,
// removed at exit, never fetched and never committed. EC P-256 keys, which openssl makes in milliseconds.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** A certificate and its key, as PEM text and as files (for openssl and python3 peers). */
export interface CertPair {
  /** The certificate, PEM. */
  cert: string;
  /** Its private key, PEM. */
  key: string;
  /** The certificate's file. */
  certPath: string;
  /** The key's file. */
  keyPath: string;
  /** The certificate as DER bytes, what a TLS peer sends on the wire. */
  der: Uint8Array;
}

/** Every certificate the TLS tests use. */
export interface TestCerts {
  /** The temporary directory holding the files; removed when the process exits. */
  dir: string;
  /** The test CA, which signs everything below but `selfSigned`. */
  ca: CertPair;
  /** Another CA, trusted by nobody's server: a client that trusts only it sees an unknown CA. */
  otherCa: CertPair;
  /** The server certificate: DNS localhost, IP 127.0.0.1 and ::1, signed by `ca`. */
  server: CertPair;
  /** A client certificate (CN "doorway test client"), signed by `ca`. */
  client: CertPair;
  /** A server certificate for localhost, 127.0.0.1 and ::1 that expired in 2020, signed by `ca`. */
  expired: CertPair;
  /** A server certificate for `other.example` only, signed by `ca`. */
  otherName: CertPair;
  /** A self-signed server certificate for localhost, 127.0.0.1 and ::1. */
  selfSigned: CertPair;
}

const SERVER_NAMES = "DNS:localhost,IP:127.0.0.1,IP:::1";

// A config of its own, so that no system openssl.cnf adds or changes extensions.
const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${SERVER_NAMES}
authorityKeyIdentifier = keyid
[other_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
[self_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyCertSign
extendedKeyUsage = serverAuth
subjectAltName = ${SERVER_NAMES}
subjectKeyIdentifier = hash
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
`;

let cached: TestCerts | undefined;

/** Makes the test certificates on first call (in well under a second); later calls return the same ones. */
export function testCerts(): TestCerts {
  cached ??= makeCerts();
  return cached;
}

/** The DER bytes of the first certificate in PEM text. */
export function pemToDer(pem: string): Uint8Array {
  const match = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new Error("no certificate in the PEM text");
  return Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "doorway-certs-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.on("exit", remove);
  // `deno test` ends without Node's exit event, but with the web's unload.
  if ("Deno" in globalThis) globalThis.addEventListener("unload", remove);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  writeFileSync(join(dir, "openssl.cnf"), CONFIG);
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");

  const newKey = (name: string) => {
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
  };
  const pair = (name: string): CertPair => {
    const certPath = join(dir, `${name}.crt`);
    const keyPath = join(dir, `${name}.key`);
    const cert = readFileSync(certPath, "utf8");
    return { cert, key: readFileSync(keyPath, "utf8"), certPath, keyPath, der: pemToDer(cert) };
  };
  const selfSign = (name: string, subject: string, extensions: string) => {
    newKey(name);
    openssl(
      "req",
      ...["-x509", "-new", "-config", "openssl.cnf", "-key", `${name}.key`, "-subj", subject],
      ...["-extensions", extensions, "-days", "3650", "-sha256", "-out", `${name}.crt`],
    );
  };
  const request = (name: string, subject: string) => {
    newKey(name);
    openssl("req", "-new", "-config", "openssl.cnf", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`);
  };
  const sign = (name: string, subject: string, extensions: string, ca = "ca") => {
    request(name, subject);
    openssl(
      "x509",
      ...["-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial"],
      ...["-extfile", "openssl.cnf", "-extensions", extensions, "-days", "3650", "-sha256", "-out", `${name}.crt`],
    );
  };

  selfSign("ca", "/CN=doorway test CA", "ca_ext");
  selfSign("other_ca", "/CN=doorway other CA", "ca_ext");
  sign("server", "/CN=localhost", "server_ext");
  sign("client", "/CN=doorway test client", "client_ext");
  sign("other_name", "/CN=other.example", "other_ext");
  selfSign("self_signed", "/CN=localhost", "self_ext");
  // openssl 3.0's x509 cannot set dates in the past (-not_before came in 3.4); its ca command can.
  request("expired", "/CN=localhost");
  openssl(
    "ca",
    ...["-batch", "-config", "openssl.cnf", "-in", "expired.csr", "-cert", "ca.crt", "-keyfile", "ca.key"],
    ...["-extfile", "openssl.cnf", "-extensions", "server_ext", "-notext", "-md", "sha256"],
    ...["-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-out", "expired.crt"],
  );

  return {
    dir,
    ca: pair("ca"),
    otherCa: pair("other_ca"),
    server: pair("server"),
    client: pair("client"),
    expired: pair("expired"),
    otherName: pair("other_name"),
    selfSigned: pair("self_signed"),
  };
}
