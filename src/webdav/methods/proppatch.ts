/**
 * PROPPATCH (RFC 4918 §9.2). Every <set>/<remove> block is processed in document order and the
 * whole update is atomic (Drive.patchProperties). Live properties are protected: each gets 403
 * (cannot-modify-protected-property) and every other property 424 Failed Dependency, with no change
 * made. Properties of any other namespace — including Windows' Win32* properties of
 * `urn:schemas-microsoft-com:` — are dead properties stored as the client sent them.
 */
import { DriveError, type PropertyPatch } from '../../drive/types.js';
import { HttpError, statusForDriveError } from '../errors.js';
import type { MethodHandler } from '../handler.js';
import { writeTargets } from '../preconditions.js';
import { isLiveProperty } from '../props/live.js';
import { MultistatusWriter, type PropStat } from '../xml/multistatus.js';
import { serializeInner } from '../xml/serialize.js';
import { elementChildren, isDav, type XmlElement } from '../xml/tree.js';
import { propertyElement } from '../xml/write.js';

interface Instruction {
  ns: string;
  local: string;
  patch: PropertyPatch;
}

export function parsePropertyUpdate(root: XmlElement | undefined): Instruction[] {
  if (!root || !isDav(root, 'propertyupdate')) throw new HttpError(400, 'PROPPATCH body must be a DAV:propertyupdate element');
  const instructions: Instruction[] = [];
  for (const block of elementChildren(root)) {
    const op = isDav(block, 'set') ? 'set' : isDav(block, 'remove') ? 'remove' : undefined;
    if (!op) continue; // unknown elements are ignored (RFC 4918 §17)
    const props = elementChildren(block).filter((c) => isDav(c, 'prop'));
    if (props.length === 0) throw new HttpError(400, `DAV:${op} without DAV:prop`);
    for (const prop of props) {
      for (const el of elementChildren(prop)) {
        const patch: PropertyPatch =
          op === 'set'
            ? { op, property: { namespace: el.ns, name: el.local, xml: serializeInner(el) } }
            : { op, namespace: el.ns, name: el.local };
        instructions.push({ ns: el.ns, local: el.local, patch });
      }
    }
  }
  if (instructions.length === 0) throw new HttpError(400, 'PROPPATCH without any property');
  return instructions;
}

export const proppatch: MethodHandler = async (ctx) => {
  const instructions = parsePropertyUpdate(await ctx.readXml());
  const entry = await ctx.drive.stat(ctx.path, ctx.signal);
  await ctx.checkPreconditions(writeTargets(ctx.path, false, false));

  const statusOf = new Map<Instruction, number>();
  const protectedOnes = instructions.filter((i) => isLiveProperty(i.ns, i.local));
  if (protectedOnes.length > 0) {
    for (const i of instructions) statusOf.set(i, protectedOnes.includes(i) ? 403 : 424);
  } else {
    try {
      await ctx.drive.patchProperties(ctx.path, instructions.map((i) => i.patch));
      for (const i of instructions) statusOf.set(i, 200);
    } catch (error) {
      if (!(error instanceof DriveError)) throw error;
      const status = statusForDriveError(error.code, 'PROPPATCH');
      for (const i of instructions) statusOf.set(i, status);
    }
  }

  // One propstat per status, each property listed once (the last instruction for a name wins).
  const byStatus = new Map<number, Map<string, string>>();
  for (const i of instructions) {
    const status = statusOf.get(i) as number;
    const group = byStatus.get(status) ?? new Map<string, string>();
    group.set(`${i.ns}\n${i.local}`, propertyElement(i.ns, i.local));
    byStatus.set(status, group);
  }
  const propstats: PropStat[] = [...byStatus].map(([status, props]) => ({
    status,
    propsXml: [...props.values()].join(''),
    errorXml: status === 403 ? '<D:cannot-modify-protected-property/>' : undefined,
  }));
  const writer = new MultistatusWriter(ctx.res);
  await writer.propstatResponse(ctx.href(ctx.path, entry.kind === 'folder'), propstats);
  await writer.end();
};

