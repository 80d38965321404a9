/**
 * Which files get a `.strm` (videos) and which small files are copied beside them (subtitles,
 * .nfo metadata, artwork), following the names Jellyfin, Emby and Kodi look for next to a video.
 */
const VIDEO_EXTENSIONS = new Set([
  '3gp', 'asf', 'avi', 'divx', 'f4v', 'flv', 'iso', 'm2t', 'm2ts', 'm4v', 'mk3d', 'mkv', 'mov', 'mp4', 'mpeg', 'mpg', 'mts', 'ogm', 'ogv', 'rm', 'rmvb',
  'ts', 'vob', 'webm', 'wmv', 'wtv', 'xvid',
]);
const SUBTITLE_EXTENSIONS = new Set(['srt', 'ass', 'ssa', 'vtt', 'sub', 'idx', 'sup', 'smi', 'sami', 'ttml', 'dfxp', 'pgs']);
const ARTWORK = /^(?:.*-)?(?:poster|folder|cover|fanart|backdrop|background|banner|logo|clearlogo|clearart|landscape|thumb|disc|discart)\d*\.(?:jpe?g|png|webp)$/i;

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** A video, by extension or by MIME type (`video/*`). */
export function isVideo(name: string, contentType?: string): boolean {
  return VIDEO_EXTENSIONS.has(extensionOf(name)) || (contentType?.toLowerCase().startsWith('video/') ?? false);
}

/** A subtitle, an .nfo or an artwork image: copied as is beside the `.strm` files. */
export function isSidecar(name: string): boolean {
  const extension = extensionOf(name);
  return SUBTITLE_EXTENSIONS.has(extension) || extension === 'nfo' || ARTWORK.test(name);
}

/** `Film (2024).mkv` → `Film (2024).strm` (the name players and scanners show). */
export function strmNameOf(videoName: string): string {
  const dot = videoName.lastIndexOf('.');
  return `${dot > 0 ? videoName.slice(0, dot) : videoName}.strm`;
}
