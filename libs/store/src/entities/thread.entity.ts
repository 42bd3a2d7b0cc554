import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One OS thread of a capture (surrogate id: OS tids are reused). */
@Entity('threads')
export class ThreadEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'capture_id', type: 'uuid' })
  captureId!: string;

  @Column('integer', { nullable: true })
  pid!: number | null;

  @Column('integer')
  tid!: number;

  @Column('text', { array: true })
  names!: string[];

  @Column({ name: 'sample_count', type: 'bigint' })
  sampleCount!: string;

  @Column({ name: 'first_ns', type: 'bigint', nullable: true })
  firstNs!: string | null;

  @Column({ name: 'last_ns', type: 'bigint', nullable: true })
  lastNs!: string | null;
}
