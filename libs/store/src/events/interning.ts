import { createHash } from 'node:crypto';
import type { RawFrame } from '@threadreel/model';

/** 63-bit id from content: parallel writers of one capture agree on ids without coordination. */
export function contentId(...parts: string[]): bigint {
  const h = createHash('sha1');
  for (const p of parts) {
    h.update(p);
    h.update('\0');
  }
  return h.digest().readBigInt64BE(0) & 0x7fff_ffff_ffff_ffffn;
}

/** Ids are decimal text: they are written to COPY rows and query parameters as they are. */
export interface NewFrame {
  id: string;
  symbol: string;
  dso: string;
}
export interface NewStack {
  id: string;
  parentId: string | null;
  frameId: string;
  depth: number;
}

const EMPTY = -1;

/**
 * (parent node, frame) → node over typed arrays with open addressing: a lookup hashes two
 * integers, with no key string and no allocation.
 */
class NodeTable {
  private parents = new Int32Array(1 << 12);
  private frames = new Int32Array(1 << 12);
  private nodes = new Int32Array(1 << 12).fill(EMPTY);
  private size = 0;

  /** The node of (parent, frame), else EMPTY. */
  get(parent: number, frame: number): number {
    const mask = this.nodes.length - 1;
    for (let i = slot(parent, frame, mask); ; i = (i + 1) & mask) {
      const n = this.nodes[i] as number;
      if (n === EMPTY || (this.parents[i] === parent && this.frames[i] === frame)) return n;
    }
  }

  /** Adds a pair that {@link get} did not find. */
  add(parent: number, frame: number, node: number): void {
    if (++this.size * 2 > this.nodes.length) this.grow();
    this.place(parent, frame, node);
  }

  private place(parent: number, frame: number, node: number): void {
    const mask = this.nodes.length - 1;
    let i = slot(parent, frame, mask);
    while (this.nodes[i] !== EMPTY) i = (i + 1) & mask;
    this.parents[i] = parent;
    this.frames[i] = frame;
    this.nodes[i] = node;
  }

  private grow(): void {
    const { parents, frames, nodes } = this;
    this.parents = new Int32Array(nodes.length * 2);
    this.frames = new Int32Array(nodes.length * 2);
    this.nodes = new Int32Array(nodes.length * 2).fill(EMPTY);
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i] as number;
      if (n !== EMPTY) this.place(parents[i] as number, frames[i] as number, n);
    }
  }
}

/** A flat copy of `s`: a key kept for the writer's life must not keep a parser's input chunk alive. */
function detach(s: string): string {
  return (' ' + s).slice(1);
}

function slot(parent: number, frame: number, mask: number): number {
  let h = (Math.imul(parent + 1, 0x9e3779b1) + frame) | 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & mask;
}

const FRAME_OBJECTS_MAX = 100_000;

/** Nodes (and frames) one writer may hold: ids are int32 in its tables. */
const MAX_NODES = 0x7fff_fff0;

/**
 * Interns call chains as a prefix tree of (parent stack, frame), like the Firefox
 * profiler's stack table. Inside a writer frames and nodes are small integers (frame from
 * symbol and dso, node from parent node and frame); each one's stored id is derived from
 * its content once, when it is first seen (SHA-1 of symbol and dso for a frame, of parent id
 * and frame id for a node), so every writer of a capture — parallel jobs, byte ranges of one
 * file — gives the same stack the same id. Each frame and stack is emitted once per writer;
 * memory grows with distinct stacks, not with input size.
 */
export class StackInterner {
  /**
   * Frame objects already seen: parsers hand out one object per distinct stack line (perf's
   * frame cache), so most frames are one identity lookup. Bounded, as parsers may not share.
   */
  private readonly frameByObject = new Map<RawFrame, number>();
  /** symbol → dso → frame. */
  private readonly frameOf = new Map<string, Map<string, number>>();
  private readonly frameIds: string[] = [];
  private readonly nodes = new NodeTable();
  private readonly nodeIds: string[] = [];
  pendingFrames: NewFrame[] = [];
  pendingStacks: NewStack[] = [];

  /** Frames leaf first (perf order); returns the leaf stack's node, -1 for an empty chain. */
  intern(frames: readonly RawFrame[]): number {
    let parent = EMPTY;
    for (let i = frames.length - 1, depth = 0; i >= 0; i--, depth++) {
      const f = frames[i] as RawFrame;
      let frame = this.frameByObject.get(f);
      if (frame === undefined) {
        frame = this.frame(f.symbol, f.dso);
        if (this.frameByObject.size >= FRAME_OBJECTS_MAX) this.frameByObject.clear();
        this.frameByObject.set(f, frame);
      }
      let node = this.nodes.get(parent, frame);
      if (node === EMPTY) node = this.addNode(parent, frame, depth);
      parent = node;
    }
    return parent;
  }

  /** The stored id (decimal) of an interned node, null for -1 (no stack). */
  idOf(node: number): string | null {
    return node === EMPTY ? null : (this.nodeIds[node] as string);
  }

  private addNode(parent: number, frame: number, depth: number): number {
    const node = this.nodeIds.length;
    if (node >= MAX_NODES) throw new Error('more distinct stacks than one writer can intern');
    const parentId = parent === EMPTY ? null : (this.nodeIds[parent] as string);
    const frameId = this.frameIds[frame] as string;
    const id = contentId('stack', parentId ?? '', frameId).toString();
    this.nodeIds.push(id);
    this.nodes.add(parent, frame, node);
    this.pendingStacks.push({ id, parentId, frameId, depth });
    return node;
  }

  private frame(symbol: string, dso: string): number {
    let byDso = this.frameOf.get(symbol);
    if (byDso === undefined) {
      byDso = new Map();
      this.frameOf.set(detach(symbol), byDso);
    }
    let frame = byDso.get(dso);
    if (frame === undefined) {
      frame = this.frameIds.length;
      if (frame >= MAX_NODES) throw new Error('more distinct frames than one writer can intern');
      const id = contentId('frame', symbol, dso).toString();
      this.frameIds.push(id);
      byDso.set(detach(dso), frame);
      this.pendingFrames.push({ id, symbol, dso });
    }
    return frame;
  }

  get pendingCount(): number {
    return this.pendingFrames.length + this.pendingStacks.length;
  }

  drain(): { frames: NewFrame[]; stacks: NewStack[] } {
    const out = { frames: this.pendingFrames, stacks: this.pendingStacks };
    this.pendingFrames = [];
    this.pendingStacks = [];
    return out;
  }
}
