/**
 * The `names` fixture: an account holding the names that break WebDAV servers, each stored the
 * way 1fichier would hold it. Some were typed in 1fichier's web UI (kept as typed, look-alikes
 * such as `／` included), some were written by rclone's fichier backend (raw characters mapped to
 * full-width or control-picture look-alikes, `‛` quoting, `‛XX` for invalid bytes), some are in
 * Unicode NFD as macOS writes them. The names-clients conformance tests and hand testing
 * (`fichier-dav simulate --fixture names`) browse it.
 *
 * Every file's content is `namesFixtureContent(index)`: its first line names the file's index in
 * NAMES_FIXTURE_FILES, so a client that downloads a file can tell which one it got, byte for byte.
 */
import { MemoryContent } from './content.js';
import { contentTypeOf, type SimContext } from './context.js';

export interface NamesFixtureFile {
  /** Folder path of stored folder names below the root ('' = the root). */
  folder: string;
  /** The name as stored upstream. */
  stored: string;
}

/** Stored folders as '/'-separated paths of stored names, each parent before its children. */
export const NAMES_FIXTURE_FOLDERS: readonly string[] = [
  'Noms',
  'Noms/Dossier ％ # ? ; + 🎬 a／b',
  'Noms/Vide\u0301os NFD',
  'Noms/．',
  'Noms/．．',
  'Noms/␠espaces␠',
  'Noms/ＦＵＬＬ　ｗｉｄｔｈ',
];

const LONG = 'L'.repeat(240) + ' 250.txt'; // 248 characters: the web UI's limit is 250

export const NAMES_FIXTURE_FILES: readonly NamesFixtureFile[] = [
  // Typed in the web UI: look-alikes are ordinary characters there.
  { folder: 'Noms', stored: 'Devis ＂final＂ ＄100 ＼ ｀x｀ ＇ok＇ a／b.txt' },
  { folder: 'Noms', stored: 'a／b.txt' },
  { folder: 'Noms', stored: '100 % sûr.txt' },
  { folder: 'Noms', stored: 'percent %2F not a slash.txt' },
  { folder: 'Noms', stored: 'percent %25 twice.txt' },
  { folder: 'Noms', stored: '#hash at start.txt' },
  { folder: 'Noms', stored: 'question?mark.txt' },
  { folder: 'Noms', stored: 'semi;colon;.txt' },
  { folder: 'Noms', stored: 'plus+plus c++.txt' },
  { folder: 'Noms', stored: 'ampersand & ＜lt＞ ＂q＂ &amp;.txt' },
  { folder: 'Noms', stored: 'emoji 🎬🍿 👩‍👩‍👧.txt' },
  { folder: 'Noms', stored: 'photo [abcde].jpg' },
  { folder: 'Noms', stored: '.hidden' },
  { folder: 'Noms', stored: 'trailing dot.' },
  { folder: 'Noms', stored: 'tilde~ (parens) !bang* =eq @at ,comma.txt' },
  { folder: 'Noms', stored: LONG },
  { folder: 'Noms', stored: 'ＦＵＬＬ ｗｉｄｔｈ ＡＢＣ１２３　ideographic space.txt' },
  // NFC and NFD spellings of one name: two different files upstream, each reachable exactly.
  { folder: 'Noms', stored: 'Caf\u00e9 NFC.txt' },
  { folder: 'Noms', stored: 'Cafe\u0301 NFD.txt' },
  // Written by rclone's fichier backend (its default encoding).
  { folder: 'Noms', stored: 'a‛／b.txt' }, // rclone's encoding of a real `／`: lists as `a／b.txt` too
  { folder: 'Noms', stored: '␠leading and trailing␠' },
  { folder: 'Noms', stored: 'tab␉and␊newline.txt' },
  { folder: 'Noms', stored: 'nul␀and del␡.txt' },
  { folder: 'Noms', stored: 'invalid byte ‛FF.txt' },
  { folder: 'Noms', stored: 'lone surrogate ‛ED‛A0‛80.txt' },
  { folder: 'Noms', stored: 'quote ‛‛ rune.txt' },
  { folder: 'Noms', stored: '．' },
  { folder: 'Noms', stored: '．．' },
  { folder: 'Noms/Dossier ％ # ? ; + 🎬 a／b', stored: 'inside ％ # ?.txt' },
  { folder: 'Noms/Vide\u0301os NFD', stored: 'Re\u0301sume\u0301.txt' },
  { folder: 'Noms/．', stored: 'in dot folder.txt' },
  { folder: 'Noms/．．', stored: 'in dot dot folder.txt' },
  { folder: 'Noms/␠espaces␠', stored: '␠x␠' },
  { folder: 'Noms/ＦＵＬＬ　ｗｉｄｔｈ', stored: '／' },
];

/** The bytes of NAMES_FIXTURE_FILES[index]. */
export function namesFixtureContent(index: number): Buffer {
  const file = NAMES_FIXTURE_FILES[index];
  return Buffer.from(`names fixture file ${index}\nstored as: ${file.stored}\n${'0123456789'.repeat(index + 1)}\n`, 'utf8');
}

export async function loadNamesFixture(ctx: SimContext): Promise<void> {
  const now = ctx.clock.now();
  const ids = new Map<string, number>([['', 0]]);
  NAMES_FIXTURE_FOLDERS.forEach((path, index) => {
    const slash = path.lastIndexOf('/');
    const parent = ids.get(slash === -1 ? '' : path.slice(0, slash))!;
    ids.set(path, ctx.store.addFolder(parent, path.slice(slash + 1), now - (100 - index) * 60_000).id);
  });
  for (const [index, file] of NAMES_FIXTURE_FILES.entries()) {
    const at = now - (50 - index) * 60_000;
    const content = await MemoryContent.of(namesFixtureContent(index));
    ctx.store.addFile({ name: file.stored, folderId: ids.get(file.folder)!, content, contentType: contentTypeOf(file.stored), now: at, visibleAt: at });
  }
}
