import {
  Column,
  CreateDateColumn,
  Entity,
  OneToMany,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  type Relation,
} from 'typeorm';
import type { CaptureState, DegradedPart } from '@threadreel/model';
import type { SourceFileEntity } from './source-file.entity.js';

@Entity('captures')
export class CaptureEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  name!: string;

  /** sha256 over the sorted sha256s of the capture's files: the same bytes again → the same capture. */
  @Column({ name: 'content_key', type: 'char', length: 64 })
  contentKey!: string;

  @Column('text')
  state!: CaptureState;

  @Column('jsonb', { nullable: true })
  manifest!: unknown;

  @Column('text', { nullable: true })
  error!: string | null;

  /** What went wrong in a `degraded` (or `failed`) capture: file, source, thread, stage and why. */
  @Column('jsonb', { name: 'degraded_parts', default: () => "'[]'" })
  degradedParts!: DegradedPart[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @OneToMany('SourceFileEntity', (f: SourceFileEntity) => f.capture)
  sourceFiles?: Relation<SourceFileEntity>[];
}
