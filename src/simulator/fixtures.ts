/**
 * Start-up content. `demo` is what `npm start` and hand testing browse: a few folders with
 * documents and images, a multi-GiB synthetic video, names with accents, names already stored in
 * rclone's full-width encoding (＂＇＄＜＞＼｀／ and ␠ for outer spaces), and a duplicate file name.
 * `names` (fixture-names.ts) holds the names that break WebDAV servers.
 */
import { deflateSync } from 'node:zlib';
import { MemoryContent, SyntheticContent, type ContentSource } from './content.js';
import { contentTypeOf, type SimContext } from './context.js';
import { loadNamesFixture } from './fixture-names.js';
import type { FixtureName } from './options.js';

/** Whirlpool of `SyntheticContent.of(4 * 2 ** 30 + 123_457, 7)`: node scripts/synthetic-whirlpool.mjs 4295090753 7 */
export const FILM_WHIRLPOOL =
  'd2bf85a016e55a6cdb8b33624c6fdaf6c7e3463577c9d1be0f828a0a176e041195f53a72579cea8bdebbf4964e07fa93748b54a67f4b2ec1d0cafca1021b6273';
/** Whirlpool of `SyntheticContent.of(48 * 2 ** 20, 11)`: node scripts/synthetic-whirlpool.mjs 50331648 11 */
export const TRAILER_WHIRLPOOL =
  '7be47a47bb09a68508037a5ae9c325d6792e96b6e54f9a383a11d32fd8973eff7315a1e0ef5076057c7540c9e854e0d79e782ca720d9a74f69ac606ad053a54f';

export interface FixtureFile {
  name: string;
  content: ContentSource;
  /** Minutes before start-up, so dates differ and are in the past. */
  ageMinutes: number;
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A real, valid PNG (solid colour gradient) so image viewers show something. */
export function tinyPng(width: number, height: number, hue: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0;
    for (let x = 0; x < width; x++) {
      raw[row + 1 + x * 3] = (hue + x * 4) & 255;
      raw[row + 2 + x * 3] = (y * 4) & 255;
      raw[row + 3 + x * 3] = (255 - hue) & 255;
    }
  }
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const text = (s: string): Promise<MemoryContent> => MemoryContent.of(Buffer.from(s, 'utf8'));

export async function loadFixture(ctx: SimContext, name: FixtureName): Promise<void> {
  if (name === 'empty') return;
  if (name === 'names') return loadNamesFixture(ctx);
  const now = ctx.clock.now();
  const { store } = ctx;
  const at = (minutes: number): number => now - minutes * 60_000;
  const folder = (parent: number, n: string, age: number): number => store.addFolder(parent, n, at(age)).id;
  const file = async (folderId: number, n: string, content: Promise<ContentSource> | ContentSource, age: number): Promise<string> => {
    const c = await content;
    const t = at(age);
    return store.addFile({ name: n, folderId, content: c, contentType: contentTypeOf(n), now: t, visibleAt: t }).url;
  };

  const docs = folder(0, 'Documents', 60 * 24 * 30);
  const images = folder(0, 'Images', 60 * 24 * 20);
  const videos = folder(0, 'Vidéos', 60 * 24 * 10);
  const music = folder(0, 'Rock ＆ Roll ＜live＞', 60 * 24 * 5);
  const empty = folder(0, 'Dossier vide', 60 * 24 * 3);
  const archives = folder(docs, 'Archives 2023', 60 * 24 * 25);
  folder(images, '␠Vacances d’été␠', 60 * 24 * 15);

  await file(0, 'LISEZMOI.txt', text('Bienvenue sur le simulateur 1fichier de fichier-dav.\nWelcome to the fichier-dav 1fichier simulator.\n'), 60 * 24 * 40);
  await file(docs, 'Résumé.txt', text('Un résumé avec des accents : é è à ç ô.\n'), 60 * 24 * 29);
  await file(docs, 'notes.md', text('# Notes\n\n- first\n- second\n'), 60 * 24 * 28);
  // Two files with the same name in one folder: duplicates are allowed upstream.
  await file(docs, 'rapport.txt', text('Version 1 du rapport.\n'), 60 * 24 * 27);
  await file(docs, 'rapport.txt', text('Version 2 du rapport, plus longue.\n'), 60 * 24 * 2);
  await file(docs, 'Devis ＂final＂ ＄100 ＼ ｀x｀ ＇ok＇ a／b.txt', text('Full-width look-alikes stored as rclone encodes them.\n'), 60 * 24 * 26);
  await file(docs, '␠espace autour␠.txt', text('Leading and trailing spaces encoded as U+2420.\n'), 60 * 24 * 26);
  await file(archives, 'budget-2023.csv', text('mois;montant\njanvier;1200\nfévrier;1150\n'), 60 * 24 * 24);
  await file(images, 'photo-bleue.png', MemoryContent.of(tinyPng(64, 48, 40)), 60 * 24 * 19);
  await file(images, 'photo-rouge.png', MemoryContent.of(tinyPng(32, 32, 200)), 60 * 24 * 18);
  await file(images, 'Château de Chambord.png', MemoryContent.of(tinyPng(48, 32, 120)), 60 * 24 * 17);
  // Their real Whirlpool, computed once with scripts/synthetic-whirlpool.mjs (hashing 4 GiB at each
  // start would take a minute), so a verified `download` of them works as on 1fichier.
  await file(videos, 'Film de démonstration (2024).mkv', SyntheticContent.of(4 * 2 ** 30 + 123_457, 7, FILM_WHIRLPOOL), 60 * 24 * 9);
  await file(videos, 'bande-annonce.mp4', SyntheticContent.of(48 * 2 ** 20, 11, TRAILER_WHIRLPOOL), 60 * 24 * 8);
  await file(music, 'morceau ＜1＞.mp3', SyntheticContent.of(5 * 2 ** 20 + 17, 3), 60 * 24 * 4);
  void empty;
}
