import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ObmenError } from './errors.ts';

/**
 * Secrets at rest (system passwords, OAuth tokens): AES-256-GCM with a key from the
 * environment, so the database file never holds a secret in clear. The stored form is
 * `v1:<iv>:<tag>:<ciphertext>` in base64url; the version prefix leaves room for key rotation.
 *
 * OBMEN_SECRET_KEY is 32 bytes as 64 hex characters or base64; any other non-empty value is
 * stretched with SHA-256 so a passphrase also works.
 */
const PREFIX = 'v1';

export interface SecretBox {
  encrypt(plain: string): string;
  decrypt(stored: string): string;
}

export function keyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer {
  const raw = env.OBMEN_SECRET_KEY;
  if (!raw) {
    throw new ObmenError(
      'config',
      'OBMEN_SECRET_KEY is not set: secrets are encrypted at rest with it. Generate one with ' +
        "`node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\"` and keep it outside the database",
    );
  }
  if (/^[0-9a-f]{64}$/i.test(raw)) return Buffer.from(raw, 'hex');
  const decoded = Buffer.from(raw, 'base64');
  if (decoded.length === 32 && /^[A-Za-z0-9+/_-]+=*$/.test(raw)) return decoded;
  return createHash('sha256').update(raw, 'utf8').digest();
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new ObmenError('config', 'the secret key must be 32 bytes (AES-256)');
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [PREFIX, iv.toString('base64url'), tag.toString('base64url'), body.toString('base64url')].join(
        ':',
      );
    },
    decrypt(stored) {
      const [version, iv, tag, body] = stored.split(':');
      if (version !== PREFIX || !iv || !tag || body === undefined) {
        throw new ObmenError('config', 'a stored secret is not in the v1 encrypted form; set it again');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
          'utf8',
        );
      } catch {
        throw new ObmenError(
          'config',
          'a stored secret cannot be decrypted: OBMEN_SECRET_KEY differs from the key it was saved with',
        );
      }
    },
  };
}

/**
 * The key for this installation: OBMEN_SECRET_KEY when set; otherwise, for the embedded set-up
 * only, a random key kept in `<dataDir>/secret.key` (mode 0600), created on first start — the
 * database alone never reveals a secret, and production sets the variable instead.
 */
export function loadInstallationKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  if (env.OBMEN_SECRET_KEY) return keyFromEnv(env);
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return keyFromEnv({ OBMEN_SECRET_KEY: readFileSync(file, 'utf8').trim() });
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  // Several processes may start together on a fresh data directory (`obmen worker` ×N): the key is
  // written whole to a private file and then hard-linked into place, which either succeeds or
  // fails with EEXIST — so no process ever reads a half-written key, and the loser uses the
  // winner's key instead of making its own.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(draft, file);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return keyFromEnv({ OBMEN_SECRET_KEY: readFileSync(file, 'utf8').trim() });
  } finally {
    rmSync(draft, { force: true });
  }
}
