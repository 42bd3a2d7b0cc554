import type { SourceFileEntity } from '@threadreel/store';

/** A source file row as the capture store returns it: a parsed strace file unless overridden. */
export const file = (over: Partial<SourceFileEntity>): SourceFileEntity =>
  ({
    name: 'f',
    format: 'strace',
    state: 'parsed',
    lines: '10',
    events: '10',
    rejectedCount: '0',
    rejected: [],
    error: null,
    ...over,
  }) as SourceFileEntity;
