/**
 * Client-side encryption of backups with age (the age-encryption library, format
 * age-encryption.org/v1), so that 1fichier only ever stores ciphertext.
 *
 * Keys never come from the command line (where `ps` and shell history would show them):
 * - a passphrase from the file named by `--passphrase-file` or from FICHIER_DAV_BACKUP_PASSPHRASE;
 * - recipients (`age1…` public keys, one a line, `#` comments) from `--recipients-file`, to
 *   encrypt on a machine that cannot decrypt;
 * - identities (`AGE-SECRET-KEY-1…`, as `age-keygen` writes them) from `--identity-file`, to restore.
 *
 * Both directions stream: age encrypts in 64 KiB chunks, each authenticated, so a tampered or
 * truncated archive fails to decrypt instead of restoring altered bytes.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter } from 'age-encryption';
import { KeyError } from './errors.js';

/** The environment variable that may hold the passphrase (never a flag). */
export const PASSPHRASE_ENV = 'FICHIER_DAV_BACKUP_PASSPHRASE';

export type EncryptionKey = { kind: 'passphrase'; passphrase: string } | { kind: 'recipients'; recipients: string[] };

export interface DecryptionKey {
  passphrases: string[];
  identities: string[];
}

export interface KeyFiles {
  passphraseFile?: string;
  recipientsFile?: string;
  identityFile?: string;
}


async function readKeyFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new KeyError(`cannot read the ${what} file ${path} (${code})`);
  }
}

/** Non-empty, non-comment lines. */
function keyLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

async function passphraseFrom(files: KeyFiles, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (files.passphraseFile) {
    // Only the trailing newline an editor adds is dropped: spaces may be part of a passphrase.
    const value = (await readKeyFile(files.passphraseFile, 'passphrase')).replace(/\r?\n$/, '');
    if (value === '') throw new KeyError(`the passphrase file ${files.passphraseFile} is empty`);
    return value;
  }
  const value = env[PASSPHRASE_ENV];
  return value ? value : undefined;
}

/**
 * The key to encrypt with: recipients when `recipientsFile` is set, else the passphrase (file,
 * then environment). Throws KeyError when none is given or a file is unusable; messages name the
 * file, never its content.
 */
export async function loadEncryptionKey(files: KeyFiles, env: NodeJS.ProcessEnv = process.env): Promise<EncryptionKey> {
  if (files.recipientsFile) {
    const recipients = keyLines(await readKeyFile(files.recipientsFile, 'recipients'));
    if (recipients.length === 0) throw new KeyError(`the recipients file ${files.recipientsFile} holds no recipient (one age1… public key per line)`);
    const bad = recipients.findIndex((line) => !line.startsWith('age1'));
    if (bad >= 0) throw new KeyError(`line ${bad + 1} of the recipients file ${files.recipientsFile} is not an age public key (age1…)`);
    return { kind: 'recipients', recipients };
  }
  const passphrase = await passphraseFrom(files, env);
  if (passphrase === undefined) {
    throw new KeyError(`--encrypt needs a key: --recipients-file FILE (age1… public keys), --passphrase-file FILE, or ${PASSPHRASE_ENV} in the environment`);
  }
  return { kind: 'passphrase', passphrase };
}

/** The keys to decrypt with: identities from `identityFile` and/or the passphrase. Throws KeyError when none. */
export async function loadDecryptionKey(files: KeyFiles, env: NodeJS.ProcessEnv = process.env): Promise<DecryptionKey> {
  const identities = files.identityFile ? keyLines(await readKeyFile(files.identityFile, 'identity')) : [];
  if (files.identityFile && identities.length === 0) throw new KeyError(`the identity file ${files.identityFile} holds no identity (AGE-SECRET-KEY-1…)`);
  const bad = identities.findIndex((line) => !line.startsWith('AGE-SECRET-KEY-'));
  if (bad >= 0) throw new KeyError(`line ${bad + 1} of the identity file ${files.identityFile} is not an age identity (AGE-SECRET-KEY-1…)`);
  const passphrase = await passphraseFrom(files, env);
  if (identities.length === 0 && passphrase === undefined) {
    throw new KeyError(`this backup is encrypted: give its key with --identity-file FILE, --passphrase-file FILE, or ${PASSPHRASE_ENV} in the environment`);
  }
  return { identities, passphrases: passphrase === undefined ? [] : [passphrase] };
}

/** Encrypts a byte stream; the result streams as the source is read. */
export async function encryptStream(source: Readable, key: EncryptionKey): Promise<Readable> {
  const encrypter = new Encrypter();
  if (key.kind === 'passphrase') encrypter.setPassphrase(key.passphrase);
  else for (const recipient of key.recipients) encrypter.addRecipient(recipient);
  const web = Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>;
  const encrypted = await encrypter.encrypt(web);
  return Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>);
}

/**
 * Decrypts a byte stream. The header is checked before this resolves: a key that does not open
 * the file rejects here with KeyError; a damaged body errors the returned stream.
 */
export async function decryptStream(source: Readable, key: DecryptionKey): Promise<Readable> {
  const decrypter = new Decrypter();
  for (const passphrase of key.passphrases) decrypter.addPassphrase(passphrase);
  for (const identity of key.identities) decrypter.addIdentity(identity);
  const web = Readable.toWeb(source) as unknown as ReadableStream<Uint8Array>;
  let decrypted: ReadableStream<Uint8Array>;
  try {
    decrypted = await decrypter.decrypt(web);
  } catch (error) {
    source.destroy();
    const reason = error instanceof Error ? error.message : String(error);
    throw new KeyError(`cannot decrypt the backup: the key given does not open it, or it is not an age file (${reason})`);
  }
  return Readable.fromWeb(decrypted as unknown as WebReadableStream<Uint8Array>);
}
