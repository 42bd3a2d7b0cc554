import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import type { QueueDriver } from '@threadreel/jobs';
import { QUEUE_DRIVER } from '../common/tokens.js';

@ApiTags('health')
@Controller('api/health')
export class HealthController {
  constructor(
    private readonly ds: DataSource,
    @Inject(QUEUE_DRIVER) private readonly queue: QueueDriver,
  ) {}

  @Get()
  async health(): Promise<{ status: 'ok'; database: 'ok'; queue: string }> {
    await this.ds.query('SELECT 1');
    return { status: 'ok', database: 'ok', queue: this.queue.kind };
  }
}
