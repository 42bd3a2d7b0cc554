import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, type Relation } from 'typeorm';
import type { RejectedLine, SourceFileState } from '@threadreel/model';
import type { CaptureEntity } from './capture.entity.js';

@Entity('source_files')
export class SourceFileEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'capture_id', type: 'uuid' })
  captureId!: string;

  @ManyToOne('CaptureEntity', (c: CaptureEntity) => c.sourceFiles, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'capture_id' })
  capture?: Relation<CaptureEntity>;

  /** Position of the file in its capture; event rows carry it to say which file they came from. */
  @Column('smallint')
  ordinal!: number;

  @Column('text')
  name!: string;

  @Column({ type: 'char', length: 64 })
  sha256!: string;

  /** int8 → string. */
  @Column({ name: 'size_bytes', type: 'bigint' })
  sizeBytes!: string;

  @Column('text', { nullable: true })
  format!: string | null;

  @Column({ name: 'detected_format', type: 'text', nullable: true })
  detectedFormat!: string | null;

  @Column({ name: 'detect_confidence', type: 'real', nullable: true })
  detectConfidence!: number | null;

  @Column({ name: 'detect_reason', type: 'text', nullable: true })
  detectReason!: string | null;

  @Column('text', { nullable: true })
  clock!: string | null;

  /** Set by the correlate job: ns added to the file's times (int8 → string); null when not on the axis. */
  @Column({ name: 'clock_offset_ns', type: 'bigint', nullable: true })
  clockOffsetNs!: string | null;

  @Column({ name: 'clock_method', type: 'text', nullable: true })
  clockMethod!: string | null;

  /** A JSON object (typed loosely: TypeORM's partial-update types reject `unknown` values). */
  @Column({ name: 'clock_evidence', type: 'jsonb', nullable: true })
  clockEvidence!: object | null;

  @Column('text')
  state!: SourceFileState;

  @Column('bigint')
  lines!: string;

  @Column('bigint')
  events!: string;

  @Column({ name: 'rejected_count', type: 'bigint' })
  rejectedCount!: string;

  @Column('jsonb')
  rejected!: RejectedLine[];

  @Column('jsonb')
  headers!: Record<string, string>;

  @Column({ name: 'first_event', type: 'text', nullable: true })
  firstEvent!: string | null;

  /** First sampling (non-tracepoint) event: what a flame graph shows by default. */
  @Column({ name: 'first_sample_event', type: 'text', nullable: true })
  firstSampleEvent!: string | null;

  @Column({ name: 'parse_ms', type: 'integer', nullable: true })
  parseMs!: number | null;

  @Column('integer')
  attempts!: number;

  @Column({ name: 'parsed_by', type: 'text', nullable: true })
  parsedBy!: string | null;

  /** Why a file was only stored (no parser for its format yet), or other remarks. */
  @Column('text', { nullable: true })
  note!: string | null;

  @Column('text', { nullable: true })
  error!: string | null;
}
