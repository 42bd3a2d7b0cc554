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

export interface NewFrame {
  id: bigint;
  symbol: string;
  dso: string;
}
export interface NewStack {
  id: bigint;
  parentId: bigint | null;
  frameId: bigint;
  depth: number;
}

/**
 * Interns call chains as a prefix tree of (parent stack, frame), like the Firefox
 * profiler's stack table. Remembers what it has handed out so each frame and stack is
 * emitted once per writer; memory grows with distinct stacks, not with input size.
 */
export class StackInterner {
  private readonly frames = new Map<string, bigint>();
  private readonly stacks = new Map<string, bigint>();
  readonly pendingFrames: NewFrame[] = [];
  readonly pendingStacks: NewStack[] = [];

  /** Frames leaf first (perf order); returns the leaf stack id, null for an empty chain. */
  intern(frames: readonly RawFrame[]): bigint | null {
    let parent: bigint | null = null;
    for (let i = frames.length - 1, depth = 0; i >= 0; i--, depth++) {
      const f = frames[i] as RawFrame;
      const frameId = this.frameId(f.symbol, f.dso);
      const key = `${parent ?? ''}|${frameId}`;
      let id = this.stacks.get(key);
      if (id === undefined) {
        id = contentId('stack', parent === null ? '' : parent.toString(), frameId.toString());
        this.stacks.set(key, id);
        this.pendingStacks.push({ id, parentId: parent, frameId, depth });
      }
      parent = id;
    }
    return parent;
  }

  private frameId(symbol: string, dso: string): bigint {
    const key = `${symbol}\0${dso}`;
    let id = this.frames.get(key);
    if (id === undefined) {
      id = contentId('frame', symbol, dso);
      this.frames.set(key, id);
      this.pendingFrames.push({ id, symbol, dso });
    }
    return id;
  }

  get pendingCount(): number {
    return this.pendingFrames.length + this.pendingStacks.length;
  }

  drain(): { frames: NewFrame[]; stacks: NewStack[] } {
    return { frames: this.pendingFrames.splice(0), stacks: this.pendingStacks.splice(0) };
  }
}
