/**
 * Which files media servers probe head AND tail (MP4 `moov` at the end, Matroska cues, ID3v1...).
 */
import { contentTypeOf } from '../entries.js';

const CONTAINER_EXTENSIONS = /\.(mkv|mk3d|mka|mp4|m4v|m4a|mov|avi|wmv|asf|webm|ts|m2ts|mts|flv|ogg|ogv|mp3|flac|wav|iso)$/i;

export function isMediaFile(name: string, contentType: string | undefined): boolean {
  if (CONTAINER_EXTENSIONS.test(name)) return true;
  const type = contentTypeOf(name, contentType);
  return type.startsWith('video/') || type.startsWith('audio/');
}
