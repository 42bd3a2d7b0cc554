import type { DataSource } from 'typeorm';

export interface StackFrameRow {
  symbol: string;
  dso: string;
}

/** One node of the interned stack tree: its frame and its parent (toward the root). */
export interface StackNode extends StackFrameRow {
  parent: string | null;
}

/** The stack-tree nodes on the paths from the given stacks to their roots (one recursive query). */
export async function readStackNodes(
  ds: DataSource,
  captureId: string,
  stackIds: readonly string[],
): Promise<Map<string, StackNode>> {
  const nodes = new Map<string, StackNode>();
  const ids = [...new Set(stackIds)];
  if (!ids.length) return nodes;
  const rows = await ds.query<{ id: string; parent: string | null; symbol: string; dso: string }[]>(
    `WITH RECURSIVE chain AS (
       SELECT id, parent_id, frame_id FROM stacks WHERE capture_id = $1 AND id = ANY($2::bigint[])
       UNION
       SELECT s.id, s.parent_id, s.frame_id FROM stacks s JOIN chain c ON s.id = c.parent_id WHERE s.capture_id = $1
     )
     SELECT c.id::text AS id, c.parent_id::text AS parent, f.symbol, f.dso
     FROM chain c JOIN frames f ON f.capture_id = $1 AND f.id = c.frame_id`,
    [captureId, ids],
  );
  for (const r of rows) nodes.set(r.id, { parent: r.parent, symbol: r.symbol, dso: r.dso });
  return nodes;
}

/** Frames of interned stacks, leaf first. */
export async function readStackFrames(
  ds: DataSource,
  captureId: string,
  stackIds: readonly string[],
): Promise<Map<string, StackFrameRow[]>> {
  const nodes = await readStackNodes(ds, captureId, stackIds);
  const out = new Map<string, StackFrameRow[]>();
  for (const id of new Set(stackIds)) {
    const frames: StackFrameRow[] = [];
    let at: string | null = id;
    for (let guard = 0; at !== null && guard < 4096; guard++) {
      const n = nodes.get(at);
      if (!n) break;
      frames.push({ symbol: n.symbol, dso: n.dso });
      at = n.parent;
    }
    out.set(id, frames);
  }
  return out;
}
